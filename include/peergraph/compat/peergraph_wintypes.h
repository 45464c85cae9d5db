/* peergraph_wintypes.h: the Windows base types that <p2p.h> and ported code use.
 *
 * Sizes follow Windows (LLP64): DWORD, ULONG, LONG and HRESULT are 32-bit,
 * ULONGLONG 64-bit. Strings are the platform's wchar_t (32-bit on Linux) so
 * that L"..." literals work; SOCKADDR_IN6 is the platform's sockaddr_in6.
 * Valid C11 and C++. Skipped entirely on Windows, where <windows.h> has them.
 */
#ifndef PEERGRAPH_COMPAT_PEERGRAPH_WINTYPES_H
#define PEERGRAPH_COMPAT_PEERGRAPH_WINTYPES_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>
#include <wchar.h>

#ifdef __cplusplus
extern "C" {
#endif

/* PEERGRAPH_COMPAT_API marks the functions libpeergraph_compat exports: the
 * documented PeerGraph* functions in <p2p.h> and the Win32 event calls below.
 * The library is built with every other symbol hidden and with
 * PEERGRAPH_COMPAT_BUILD defined; for an application the macro is empty. */
#if defined(PEERGRAPH_COMPAT_BUILD) && defined(__GNUC__)
#define PEERGRAPH_COMPAT_API __attribute__((visibility("default")))
#else
#define PEERGRAPH_COMPAT_API
#endif

typedef uint8_t BYTE;
typedef BYTE* PBYTE;
typedef uint16_t WORD;
typedef uint32_t DWORD;
typedef uint32_t ULONG;
typedef int32_t LONG;
typedef uint64_t ULONGLONG;
typedef int BOOL;
typedef void VOID;
typedef void* PVOID;
typedef void* LPVOID;
typedef PVOID HANDLE;
typedef LONG HRESULT;
typedef wchar_t WCHAR;
typedef WCHAR* PWSTR;
typedef const WCHAR* PCWSTR;
typedef WCHAR* LPWSTR;
typedef const WCHAR* LPCWSTR;
typedef const char* LPCSTR;

typedef struct _GUID {
  uint32_t Data1;
  uint16_t Data2;
  uint16_t Data3;
  uint8_t Data4[8];
} GUID;

typedef struct _FILETIME {
  DWORD dwLowDateTime;
  DWORD dwHighDateTime;
} FILETIME, *PFILETIME;

typedef struct sockaddr_in6 SOCKADDR_IN6;
typedef struct sockaddr_in6* PSOCKADDR_IN6;

typedef struct _SECURITY_ATTRIBUTES {
  DWORD nLength;
  LPVOID lpSecurityDescriptor;
  BOOL bInheritHandle;
} SECURITY_ATTRIBUTES, *PSECURITY_ATTRIBUTES, *LPSECURITY_ATTRIBUTES;

#ifndef TRUE
#define TRUE 1
#endif
#ifndef FALSE
#define FALSE 0
#endif

#define MAKEWORD(low, high) ((WORD)(((BYTE)((low)&0xff)) | ((WORD)((BYTE)((high)&0xff))) << 8))
#define LOBYTE(w) ((BYTE)((w)&0xff))
#define HIBYTE(w) ((BYTE)(((w) >> 8) & 0xff))

#define SUCCEEDED(hr) (((HRESULT)(hr)) >= 0)
#define FAILED(hr) (((HRESULT)(hr)) < 0)
#define MAKE_HRESULT(sev, fac, code) ((HRESULT)(((uint32_t)(sev) << 31) | ((uint32_t)(fac) << 16) | ((uint32_t)(code))))

#define S_OK ((HRESULT)0x00000000)
#define S_FALSE ((HRESULT)0x00000001)
#define E_UNEXPECTED ((HRESULT)0x8000FFFF)
#define E_NOTIMPL ((HRESULT)0x80004001)
#define E_NOINTERFACE ((HRESULT)0x80004002)
#define E_POINTER ((HRESULT)0x80004003)
#define E_ABORT ((HRESULT)0x80004004)
#define E_FAIL ((HRESULT)0x80004005)
#define E_ACCESSDENIED ((HRESULT)0x80070005)
#define E_HANDLE ((HRESULT)0x80070006)
#define E_OUTOFMEMORY ((HRESULT)0x8007000E)
#define E_INVALIDARG ((HRESULT)0x80070057)

#define INFINITE 0xFFFFFFFFu
#define WAIT_OBJECT_0 0x00000000u
#define WAIT_TIMEOUT 0x00000102u
#define WAIT_FAILED 0xFFFFFFFFu

/* Win32 events, backed by a Linux eventfd. */
PEERGRAPH_COMPAT_API HANDLE CreateEventW(LPSECURITY_ATTRIBUTES lpEventAttributes, BOOL bManualReset, BOOL bInitialState,
                                         LPCWSTR lpName);
PEERGRAPH_COMPAT_API HANDLE CreateEventA(LPSECURITY_ATTRIBUTES lpEventAttributes, BOOL bManualReset, BOOL bInitialState,
                                         LPCSTR lpName);
#define CreateEvent CreateEventW
PEERGRAPH_COMPAT_API BOOL SetEvent(HANDLE hEvent);
PEERGRAPH_COMPAT_API BOOL ResetEvent(HANDLE hEvent);
PEERGRAPH_COMPAT_API DWORD WaitForSingleObject(HANDLE hHandle, DWORD dwMilliseconds);
PEERGRAPH_COMPAT_API BOOL CloseHandle(HANDLE hObject);

/* peergraph extension, not in Windows: the event's file descriptor, readable
 * while the event is signalled, for poll()/epoll/select or an event loop.
 * After it polls readable, take an auto-reset event with
 * WaitForSingleObject(h, 0). -1 for a handle that is not an event. */
PEERGRAPH_COMPAT_API int PeerCompatEventFd(HANDLE hEvent);

#ifdef __cplusplus
}
#endif

#endif /* PEERGRAPH_COMPAT_PEERGRAPH_WINTYPES_H */
