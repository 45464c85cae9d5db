/* p2p.h: the documented Peer Graphing API (PeerGraph*), on peergraph.
 *
 * Types, structures, enumerations and HRESULTs have the documented names,
 * field order and values. Only the functions this build implements are
 * declared (see docs/compat.md for the list and the mapping onto the core).
 * Valid C11 and C++.
 */
#ifndef PEERGRAPH_COMPAT_P2P_H
#define PEERGRAPH_COMPAT_P2P_H

#include "peergraph_wintypes.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ handles */

typedef PVOID HGRAPH, *PHGRAPH;
typedef PVOID HGROUP, *PHGROUP;
typedef void *HPEEREVENT, *PHPEEREVENT;
typedef void *HPEERENUM, *PHPEERENUM;

/* ------------------------------------------------------------------ versions */

#define PEER_GRAPH_VERSION MAKEWORD(1, 0)
#define PEER_GROUP_VERSION MAKEWORD(1, 1)
#define PEER_COLLAB_VERSION MAKEWORD(1, 0)
#define PNRP_VERSION MAKEWORD(2, 0)

/* ------------------------------------------------------------------ enumerations */

typedef enum peer_graph_event_type_tag {
  PEER_GRAPH_EVENT_STATUS_CHANGED = 1,
  PEER_GRAPH_EVENT_PROPERTY_CHANGED = 2,
  PEER_GRAPH_EVENT_RECORD_CHANGED = 3,
  PEER_GRAPH_EVENT_DIRECT_CONNECTION = 4,
  PEER_GRAPH_EVENT_NEIGHBOR_CONNECTION = 5,
  PEER_GRAPH_EVENT_INCOMING_DATA = 6,
  PEER_GRAPH_EVENT_CONNECTION_REQUIRED = 7,
  PEER_GRAPH_EVENT_NODE_CHANGED = 8,
  PEER_GRAPH_EVENT_SYNCHRONIZED = 9
} PEER_GRAPH_EVENT_TYPE;

typedef enum peer_group_event_type_tag {
  PEER_GROUP_EVENT_STATUS_CHANGED = 1,
  PEER_GROUP_EVENT_PROPERTY_CHANGED = 2,
  PEER_GROUP_EVENT_RECORD_CHANGED = 3,
  PEER_GROUP_EVENT_DIRECT_CONNECTION = 4,
  PEER_GROUP_EVENT_NEIGHBOR_CONNECTION = 5,
  PEER_GROUP_EVENT_INCOMING_DATA = 6,
  PEER_GROUP_EVENT_MEMBER_CHANGED = 8,
  PEER_GROUP_EVENT_CONNECTION_FAILED = 10,
  PEER_GROUP_EVENT_AUTHENTICATION_FAILED = 11
} PEER_GROUP_EVENT_TYPE;

typedef enum peer_connection_status_tag {
  PEER_CONNECTED = 1,
  PEER_DISCONNECTED = 2,
  PEER_CONNECTION_FAILED = 3
} PEER_CONNECTION_STATUS;

typedef enum peer_connection_flags_tag {
  PEER_CONNECTION_NEIGHBOR = 0x0001,
  PEER_CONNECTION_DIRECT = 0x0002
} PEER_CONNECTION_FLAGS;

typedef enum peer_node_change_type_tag {
  PEER_NODE_CHANGE_CONNECTED = 1,
  PEER_NODE_CHANGE_DISCONNECTED = 2,
  PEER_NODE_CHANGE_UPDATED = 3
} PEER_NODE_CHANGE_TYPE;

typedef enum peer_graph_status_flags_tag {
  PEER_GRAPH_STATUS_LISTENING = 0x0001,
  PEER_GRAPH_STATUS_HAS_CONNECTIONS = 0x0002,
  PEER_GRAPH_STATUS_SYNCHRONIZED = 0x0004
} PEER_GRAPH_STATUS_FLAGS;

typedef enum peer_graph_property_flags_tag {
  PEER_GRAPH_PROPERTY_HEARTBEATS = 0x0001,
  PEER_GRAPH_PROPERTY_DEFER_EXPIRATION = 0x0002
} PEER_GRAPH_PROPERTY_FLAGS;

typedef enum peer_graph_scope_tag {
  PEER_GRAPH_SCOPE_ANY = 0,
  PEER_GRAPH_SCOPE_GLOBAL = 1,
  PEER_GRAPH_SCOPE_SITELOCAL = 2,
  PEER_GRAPH_SCOPE_LINKLOCAL = 3,
  PEER_GRAPH_SCOPE_LOOPBACK = 4
} PEER_GRAPH_SCOPE;

typedef enum peer_record_change_type_tag {
  PEER_RECORD_ADDED = 1,
  PEER_RECORD_UPDATED = 2,
  PEER_RECORD_DELETED = 3,
  PEER_RECORD_EXPIRED = 4
} PEER_RECORD_CHANGE_TYPE;

typedef enum peer_record_flags_tag {
  PEER_RECORD_FLAG_AUTOREFRESH = 0x0001,
  PEER_RECORD_FLAG_DELETED = 0x0002
} PEER_RECORD_FLAGS;

typedef enum peer_group_status_tag {
  PEER_GROUP_STATUS_LISTENING = 0x0001,
  PEER_GROUP_STATUS_HAS_CONNECTIONS = 0x0002
} PEER_GROUP_STATUS;

typedef enum peer_group_property_flags_tag {
  PEER_MEMBER_DATA_OPTIONAL = 0x0001,
  PEER_DISABLE_PRESENCE = 0x0002,
  PEER_DEFER_EXPIRATION = 0x0004
} PEER_GROUP_PROPERTY_FLAGS;

typedef enum peer_group_authentication_scheme_tag {
  PEER_GROUP_GMC_AUTHENTICATION = 0x00000001,
  PEER_GROUP_PASSWORD_AUTHENTICATION = 0x00000002
} PEER_GROUP_AUTHENTICATION_SCHEME;

typedef enum peer_member_flags_tag { PEER_MEMBER_PRESENT = 0x0001 } PEER_MEMBER_FLAGS;

typedef enum peer_member_change_type_tag {
  PEER_MEMBER_CONNECTED = 1,
  PEER_MEMBER_DISCONNECTED = 2,
  PEER_MEMBER_UPDATED = 3,
  PEER_MEMBER_JOINED = 4,
  PEER_MEMBER_LEFT = 5
} PEER_MEMBER_CHANGE_TYPE;

typedef enum peer_group_issue_credential_flags_tag {
  PEER_GROUP_STORE_CREDENTIALS = 0x0001
} PEER_GROUP_ISSUE_CREDENTIAL_FLAGS;

/* ------------------------------------------------------------------ structures */

typedef struct peer_version_data_tag {
  WORD wVersion;
  WORD wHighestVersion;
} PEER_VERSION_DATA, *PPEER_VERSION_DATA;

typedef struct peer_data_tag {
  ULONG cbData;
  PBYTE pbData;
} PEER_DATA, *PPEER_DATA;
typedef const PEER_DATA* PCPEER_DATA;

typedef struct peer_address_tag {
  DWORD dwSize;
  SOCKADDR_IN6 sin6;
} PEER_ADDRESS, *PPEER_ADDRESS;
typedef const PEER_ADDRESS* PCPEER_ADDRESS;

typedef struct peer_node_info_tag {
  DWORD dwSize;
  ULONGLONG ullNodeId;
  PWSTR pwzPeerId;
  ULONG cAddresses;
  PPEER_ADDRESS pAddresses;
  PWSTR pwzAttributes;
} PEER_NODE_INFO, *PPEER_NODE_INFO;

typedef struct peer_connection_info_tag {
  DWORD dwSize;
  DWORD dwFlags;
  ULONGLONG ullConnectionId;
  ULONGLONG ullNodeId;
  PWSTR pwzPeerId;
  PEER_ADDRESS address;
} PEER_CONNECTION_INFO;

typedef struct peer_graph_properties_tag {
  DWORD dwSize;
  DWORD dwFlags;
  DWORD dwScope;
  DWORD dwMaxRecordSize;
  PWSTR pwzGraphId;
  PWSTR pwzCreatorId;
  PWSTR pwzFriendlyName;
  PWSTR pwzComment;
  ULONG ulPresenceLifetime;
  ULONG cPresenceMax;
} PEER_GRAPH_PROPERTIES, *PPEER_GRAPH_PROPERTIES;

typedef struct peer_graph_event_registration_tag {
  PEER_GRAPH_EVENT_TYPE eventType;
  GUID* pType;
} PEER_GRAPH_EVENT_REGISTRATION, *PPEER_GRAPH_EVENT_REGISTRATION;

typedef struct peer_event_incoming_data_tag {
  DWORD dwSize;
  ULONGLONG ullConnectionId;
  GUID type;
  PEER_DATA data;
} PEER_EVENT_INCOMING_DATA, *PPEER_EVENT_INCOMING_DATA;

typedef struct peer_event_record_change_data_tag {
  DWORD dwSize;
  PEER_RECORD_CHANGE_TYPE changeType;
  GUID recordId;
  GUID recordType;
} PEER_EVENT_RECORD_CHANGE_DATA, *PPEER_EVENT_RECORD_CHANGE_DATA;

typedef struct peer_event_connection_change_data_tag {
  DWORD dwSize;
  PEER_CONNECTION_STATUS status;
  ULONGLONG ullConnectionId;
  ULONGLONG ullNodeId;
  ULONGLONG ullNextConnectionId;
  HRESULT hrConnectionFailedReason;
} PEER_EVENT_CONNECTION_CHANGE_DATA, *PPEER_EVENT_CONNECTION_CHANGE_DATA;

typedef struct peer_event_node_change_data_tag {
  DWORD dwSize;
  PEER_NODE_CHANGE_TYPE changeType;
  ULONGLONG ullNodeId;
  PWSTR pwzPeerId;
} PEER_EVENT_NODE_CHANGE_DATA, *PPEER_EVENT_NODE_CHANGE_DATA;

typedef struct peer_event_synchronized_data_tag {
  DWORD dwSize;
  GUID recordType;
} PEER_EVENT_SYNCHRONIZED_DATA, *PPEER_EVENT_SYNCHRONIZED_DATA;

typedef struct peer_graph_event_data_tag {
  PEER_GRAPH_EVENT_TYPE eventType;
  union {
    PEER_GRAPH_STATUS_FLAGS dwStatus;
    PEER_EVENT_INCOMING_DATA incomingData;
    PEER_EVENT_RECORD_CHANGE_DATA recordChangeData;
    PEER_EVENT_CONNECTION_CHANGE_DATA connectionChangeData;
    PEER_EVENT_NODE_CHANGE_DATA nodeChangeData;
    PEER_EVENT_SYNCHRONIZED_DATA synchronizedData;
  };
} PEER_GRAPH_EVENT_DATA, *PPEER_GRAPH_EVENT_DATA;

typedef struct peer_record_tag {
  DWORD dwSize;
  GUID type;
  GUID id;
  DWORD dwVersion;
  DWORD dwFlags;
  PWSTR pwzCreatorId;
  PWSTR pwzModifiedById;
  PWSTR pwzAttributes;
  FILETIME ftCreation;
  FILETIME ftExpiration;
  FILETIME ftLastModified;
  PEER_DATA securityData;
  PEER_DATA data;
} PEER_RECORD, *PPEER_RECORD;

typedef HRESULT (*PFNPEER_VALIDATE_RECORD)(HGRAPH hGraph, PVOID pvContext, PPEER_RECORD pRecord,
                                           PEER_RECORD_CHANGE_TYPE changeType);
typedef HRESULT (*PFNPEER_SECURE_RECORD)(HGRAPH hGraph, PVOID pvContext, PPEER_RECORD pRecord,
                                         PEER_RECORD_CHANGE_TYPE changeType, PPEER_DATA* ppSecurityData);
typedef HRESULT (*PFNPEER_FREE_SECURITY_DATA)(HGRAPH hGraph, PVOID pvContext, PPEER_DATA pSecurityData);
typedef HRESULT (*PFNPEER_ON_PASSWORD_AUTH_FAILED)(HGRAPH hGraph, PVOID pvContext);

typedef struct peer_security_interface_tag {
  DWORD dwSize;
  PWSTR pwzSspFilename;
  PWSTR pwzPackageName;
  ULONG cbSecurityInfo;
  PBYTE pbSecurityInfo;
  PVOID pvContext;
  PFNPEER_VALIDATE_RECORD pfnValidateRecord;
  PFNPEER_SECURE_RECORD pfnSecureRecord;
  PFNPEER_FREE_SECURITY_DATA pfnFreeSecurityData;
  PFNPEER_ON_PASSWORD_AUTH_FAILED pfnAuthFailed;
} PEER_SECURITY_INTERFACE, *PPEER_SECURITY_INTERFACE;

/* Grouping structures (the Grouping functions are not implemented). */
typedef GUID PEER_ROLE_ID;

typedef struct peer_group_event_registration_tag {
  PEER_GROUP_EVENT_TYPE eventType;
  GUID* pType;
} PEER_GROUP_EVENT_REGISTRATION, *PPEER_GROUP_EVENT_REGISTRATION;

typedef struct peer_event_member_change_data_tag {
  DWORD dwSize;
  PEER_MEMBER_CHANGE_TYPE changeType;
  PWSTR pwzIdentity;
} PEER_EVENT_MEMBER_CHANGE_DATA, *PPEER_EVENT_MEMBER_CHANGE_DATA;

typedef struct peer_group_event_data_tag {
  PEER_GROUP_EVENT_TYPE eventType;
  union {
    PEER_GROUP_STATUS dwStatus;
    PEER_EVENT_INCOMING_DATA incomingData;
    PEER_EVENT_RECORD_CHANGE_DATA recordChangeData;
    PEER_EVENT_CONNECTION_CHANGE_DATA connectionChangeData;
    PEER_EVENT_MEMBER_CHANGE_DATA memberChangeData;
    HRESULT hrConnectionFailedReason;
  };
} PEER_GROUP_EVENT_DATA, *PPEER_GROUP_EVENT_DATA;

typedef struct peer_group_properties_tag {
  DWORD dwSize;
  DWORD dwFlags;
  PWSTR pwzCloud;
  PWSTR pwzClassifier;
  PWSTR pwzGroupPeerName;
  PWSTR pwzCreatorPeerName;
  PWSTR pwzFriendlyName;
  PWSTR pwzComment;
  ULONG ulMemberDataLifetime;
  ULONG ulPresenceLifetime;
  DWORD dwAuthenticationSchemes;
  PWSTR pwzGroupPassword;
  PEER_ROLE_ID groupPasswordRole;
} PEER_GROUP_PROPERTIES, *PPEER_GROUP_PROPERTIES;

/* ------------------------------------------------------------------ HRESULTs */

#define FACILITY_P2P 99

#define PEER_E_IPV6_NOT_INSTALLED ((HRESULT)0x80630001)
#define PEER_E_NOT_INITIALIZED ((HRESULT)0x80630002)
#define PEER_E_CANNOT_START_SERVICE ((HRESULT)0x80630003)
#define PEER_E_NOT_LICENSED ((HRESULT)0x80630004)
#define PEER_E_INVALID_GRAPH ((HRESULT)0x80630010)
#define PEER_E_DBNAME_CHANGED ((HRESULT)0x80630011)
#define PEER_E_DUPLICATE_GRAPH ((HRESULT)0x80630012)
#define PEER_E_GRAPH_NOT_READY ((HRESULT)0x80630013)
#define PEER_E_GRAPH_SHUTTING_DOWN ((HRESULT)0x80630014)
#define PEER_E_GRAPH_IN_USE ((HRESULT)0x80630015)
#define PEER_E_INVALID_DATABASE ((HRESULT)0x80630016)
#define PEER_E_TOO_MANY_ATTRIBUTES ((HRESULT)0x80630017)
#define PEER_E_CONNECTION_NOT_FOUND ((HRESULT)0x80630103)
#define PEER_E_CONNECT_SELF ((HRESULT)0x80630106)
#define PEER_E_ALREADY_LISTENING ((HRESULT)0x80630107)
#define PEER_E_NODE_NOT_FOUND ((HRESULT)0x80630108)
#define PEER_E_CONNECTION_FAILED ((HRESULT)0x80630109)
#define PEER_E_CONNECTION_NOT_AUTHENTICATED ((HRESULT)0x8063010A)
#define PEER_E_CONNECTION_REFUSED ((HRESULT)0x8063010B)
#define PEER_E_CLASSIFIER_TOO_LONG ((HRESULT)0x80630201)
#define PEER_E_TOO_MANY_IDENTITIES ((HRESULT)0x80630202)
#define PEER_E_NO_KEY_ACCESS ((HRESULT)0x80630203)
#define PEER_E_GROUPS_EXIST ((HRESULT)0x80630204)
#define PEER_E_RECORD_NOT_FOUND ((HRESULT)0x80630301)
#define PEER_E_DATABASE_ACCESSDENIED ((HRESULT)0x80630302)
#define PEER_E_DBINITIALIZATION_FAILED ((HRESULT)0x80630303)
#define PEER_E_MAX_RECORD_SIZE_EXCEEDED ((HRESULT)0x80630304)
#define PEER_E_DATABASE_ALREADY_PRESENT ((HRESULT)0x80630305)
#define PEER_E_DATABASE_NOT_PRESENT ((HRESULT)0x80630306)
#define PEER_E_IDENTITY_NOT_FOUND ((HRESULT)0x80630401)
#define PEER_E_EVENT_HANDLE_NOT_FOUND ((HRESULT)0x80630501)
#define PEER_E_INVALID_SEARCH ((HRESULT)0x80630601)
#define PEER_E_INVALID_ATTRIBUTES ((HRESULT)0x80630602)
#define PEER_E_INVITATION_NOT_TRUSTED ((HRESULT)0x80630701)
#define PEER_E_CHAIN_TOO_LONG ((HRESULT)0x80630703)
#define PEER_E_INVALID_TIME_PERIOD ((HRESULT)0x80630705)
#define PEER_E_CIRCULAR_CHAIN_DETECTED ((HRESULT)0x80630706)
#define PEER_E_CERT_STORE_CORRUPTED ((HRESULT)0x80630801)
#define PEER_E_NO_CLOUD ((HRESULT)0x80631001)
#define PEER_E_CLOUD_NAME_AMBIGUOUS ((HRESULT)0x80631005)
#define PEER_E_INVALID_RECORD ((HRESULT)0x80632010)
#define PEER_E_NOT_AUTHORIZED ((HRESULT)0x80632020)
#define PEER_E_PASSWORD_DOES_NOT_MEET_POLICY ((HRESULT)0x80632021)
#define PEER_E_DEFERRED_VALIDATION ((HRESULT)0x80632030)
#define PEER_E_INVALID_GROUP_PROPERTIES ((HRESULT)0x80632040)
#define PEER_E_INVALID_PEER_NAME ((HRESULT)0x80632050)
#define PEER_E_INVALID_CLASSIFIER ((HRESULT)0x80632060)
#define PEER_E_INVALID_FRIENDLY_NAME ((HRESULT)0x80632070)
#define PEER_E_INVALID_ROLE_PROPERTY ((HRESULT)0x80632071)
#define PEER_E_INVALID_CLASSIFIER_PROPERTY ((HRESULT)0x80632072)
#define PEER_E_INVALID_RECORD_EXPIRATION ((HRESULT)0x80632080)
#define PEER_E_INVALID_CREDENTIAL_INFO ((HRESULT)0x80632081)
#define PEER_E_INVALID_CREDENTIAL ((HRESULT)0x80632082)
#define PEER_E_INVALID_RECORD_SIZE ((HRESULT)0x80632083)
#define PEER_E_UNSUPPORTED_VERSION ((HRESULT)0x80632090)
#define PEER_E_GROUP_NOT_READY ((HRESULT)0x80632091)
#define PEER_E_GROUP_IN_USE ((HRESULT)0x80632092)
#define PEER_E_INVALID_GROUP ((HRESULT)0x80632093)
#define PEER_E_NO_MEMBERS_FOUND ((HRESULT)0x80632094)
#define PEER_E_NO_MEMBER_CONNECTIONS ((HRESULT)0x80632095)
#define PEER_E_UNABLE_TO_LISTEN ((HRESULT)0x80632096)
#define PEER_E_IDENTITY_DELETED ((HRESULT)0x806320A0)
#define PEER_E_SERVICE_NOT_AVAILABLE ((HRESULT)0x806320A1)
#define PEER_E_CANNOT_CONVERT_PEER_NAME ((HRESULT)0x80634001)
#define PEER_E_INVALID_PEER_HOST_NAME ((HRESULT)0x80634002)
#define PEER_E_NO_MORE ((HRESULT)0x80634003)
#define PEER_E_PNRP_DUPLICATE_PEER_NAME ((HRESULT)0x80634005)
#define PEER_E_CONTACT_NOT_FOUND ((HRESULT)0x80636001)
#define PEER_E_INVITE_CANCELLED ((HRESULT)0x80637000)
#define PEER_E_INVITE_RESPONSE_NOT_AVAILABLE ((HRESULT)0x80637001)
#define PEER_E_NOT_SIGNED_IN ((HRESULT)0x80637003)
#define PEER_E_PRIVACY_DECLINED ((HRESULT)0x80637004)
#define PEER_E_TIMEOUT ((HRESULT)0x80637005)
#define PEER_E_INVALID_ADDRESS ((HRESULT)0x80637007)
#define PEER_E_FW_EXCEPTION_DISABLED ((HRESULT)0x80637008)
#define PEER_E_FW_BLOCKED_BY_POLICY ((HRESULT)0x80637009)
#define PEER_E_FW_BLOCKED_BY_SHIELDS_UP ((HRESULT)0x8063700A)
#define PEER_E_FW_DECLINED ((HRESULT)0x8063700B)

#define PEER_E_NOT_FOUND ((HRESULT)0x80070490)
#define PEER_E_DISK_FULL ((HRESULT)0x80070070)
#define PEER_E_ALREADY_EXISTS ((HRESULT)0x800700B7)
#define PEER_E_CLOUD_NOT_FOUND ((HRESULT)0x80072CED)
#define PEER_E_CLOUD_DISABLED ((HRESULT)0x80072CEE)
#define PEER_E_INVALID_IDENTITY ((HRESULT)0x80072CEF)
#define PEER_E_TOO_MUCH_LOAD ((HRESULT)0x80072CF0)
#define PEER_E_CLOUD_IS_SEARCH_ONLY ((HRESULT)0x80072CF1)
#define PEER_E_CLIENT_INVALID_COMPARTMENT_ID ((HRESULT)0x80072CF2)
#define PEER_E_DUPLICATE_PEER_NAME ((HRESULT)0x80072CF4)
#define PEER_E_CLOUD_IS_DEAD ((HRESULT)0x80072CF5)

/* Codes of the oldest SDK, removed later; kept so that old code compiles. */
#define PEER_E_LINK_PERSISTENT ((HRESULT)0x80630100)
#define PEER_E_ALREADY_CONNECTED ((HRESULT)0x80630101)
#define PEER_E_TOO_MANY_LINKS ((HRESULT)0x80630102)
#define PEER_E_NOT_LISTENING ((HRESULT)0x80630104)
#define PEER_E_PRESENCE_DISABLED ((HRESULT)0x80630105)
#define PEER_E_CERTIFICATE_NOT_TRUSTED ((HRESULT)0x80630702)
#define PEER_E_UNDEFINED_RECORD_TYPE ((HRESULT)0x80632011)

#define PEER_S_GRAPH_DATA_CREATED ((HRESULT)0x00630001)
#define PEER_S_NO_EVENT_DATA ((HRESULT)0x00630002)
#define PEER_S_NO_CONNECTIVITY ((HRESULT)0x00630005)
#define PEER_S_ALREADY_A_MEMBER ((HRESULT)0x00630006)
#define PEER_S_ALREADY_CONNECTED ((HRESULT)0x00632000)
#define PEER_S_SUBSCRIPTION_EXISTS ((HRESULT)0x00636000)

/* ------------------------------------------------------------------ functions */

/* Every function below is exported by libpeergraph_compat (PEERGRAPH_COMPAT_API,
 * see peergraph_wintypes.h). */

PEERGRAPH_COMPAT_API HRESULT PeerGraphStartup(WORD wVersionRequested, PPEER_VERSION_DATA pVersionData);
PEERGRAPH_COMPAT_API HRESULT PeerGraphShutdown(void);

PEERGRAPH_COMPAT_API HRESULT PeerGraphCreate(PPEER_GRAPH_PROPERTIES pGraphProperties, PCWSTR pwzDatabaseName,
                                             PPEER_SECURITY_INTERFACE pSecurityInterface, HGRAPH* phGraph);
PEERGRAPH_COMPAT_API HRESULT PeerGraphOpen(PCWSTR pwzGraphId, PCWSTR pwzPeerId, PCWSTR pwzDatabaseName,
                                           PPEER_SECURITY_INTERFACE pSecurityInterface, ULONG cRecordTypeSyncPrecedence,
                                           const GUID* pRecordTypeSyncPrecedence, HGRAPH* phGraph);
PEERGRAPH_COMPAT_API HRESULT PeerGraphListen(HGRAPH hGraph, DWORD dwScope, DWORD dwScopeId, WORD wPort);
PEERGRAPH_COMPAT_API HRESULT PeerGraphConnect(HGRAPH hGraph, PCWSTR pwzPeerId, PPEER_ADDRESS pAddress,
                                              ULONGLONG* pullConnectionId);
PEERGRAPH_COMPAT_API HRESULT PeerGraphClose(HGRAPH hGraph);
PEERGRAPH_COMPAT_API HRESULT PeerGraphDelete(PCWSTR pwzGraphId, PCWSTR pwzPeerId, PCWSTR pwzDatabaseName);

PEERGRAPH_COMPAT_API HRESULT PeerGraphGetStatus(HGRAPH hGraph, DWORD* pdwStatus);
PEERGRAPH_COMPAT_API HRESULT PeerGraphGetProperties(HGRAPH hGraph, PPEER_GRAPH_PROPERTIES* ppGraphProperties);
PEERGRAPH_COMPAT_API HRESULT PeerGraphSetProperties(HGRAPH hGraph, PPEER_GRAPH_PROPERTIES pGraphProperties);

PEERGRAPH_COMPAT_API HRESULT PeerGraphRegisterEvent(HGRAPH hGraph, HANDLE hEvent, ULONG cEventRegistrations,
                                                    PEER_GRAPH_EVENT_REGISTRATION* pEventRegistrations,
                                                    HPEEREVENT* phPeerEvent);
PEERGRAPH_COMPAT_API HRESULT PeerGraphUnregisterEvent(HPEEREVENT hPeerEvent);
PEERGRAPH_COMPAT_API HRESULT PeerGraphGetEventData(HPEEREVENT hPeerEvent, PPEER_GRAPH_EVENT_DATA* ppEventData);

PEERGRAPH_COMPAT_API HRESULT PeerGraphOpenDirectConnection(HGRAPH hGraph, PCWSTR pwzPeerId, PPEER_ADDRESS pAddress,
                                                           ULONGLONG* pullConnectionId);
PEERGRAPH_COMPAT_API HRESULT PeerGraphSendData(HGRAPH hGraph, ULONGLONG ullConnectionId, const GUID* pType,
                                               ULONG cbData, PVOID pvData);
PEERGRAPH_COMPAT_API HRESULT PeerGraphCloseDirectConnection(HGRAPH hGraph, ULONGLONG ullConnectionId);
PEERGRAPH_COMPAT_API HRESULT PeerGraphEnumConnections(HGRAPH hGraph, DWORD dwFlags, HPEERENUM* phPeerEnum);

PEERGRAPH_COMPAT_API HRESULT PeerGraphEnumNodes(HGRAPH hGraph, PCWSTR pwzPeerId, HPEERENUM* phPeerEnum);
PEERGRAPH_COMPAT_API HRESULT PeerGraphGetNodeInfo(HGRAPH hGraph, ULONGLONG ullNodeId, PPEER_NODE_INFO* ppNodeInfo);
PEERGRAPH_COMPAT_API HRESULT PeerGraphSetNodeAttributes(HGRAPH hGraph, PCWSTR pwzAttributes);
PEERGRAPH_COMPAT_API HRESULT PeerGraphSetPresence(HGRAPH hGraph, BOOL fPresent);

PEERGRAPH_COMPAT_API HRESULT PeerGraphGetItemCount(HPEERENUM hPeerEnum, ULONG* pCount);
PEERGRAPH_COMPAT_API HRESULT PeerGraphGetNextItem(HPEERENUM hPeerEnum, ULONG* pCount, PVOID** pppvItems);
PEERGRAPH_COMPAT_API HRESULT PeerGraphEndEnumeration(HPEERENUM hPeerEnum);

PEERGRAPH_COMPAT_API VOID PeerGraphFreeData(PVOID pvData);

#ifdef __cplusplus
}
#endif

#endif /* PEERGRAPH_COMPAT_P2P_H */
