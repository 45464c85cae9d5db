// peergraph-bench: peergraph's micro-benchmarks, each measured next to a
// plain Asio baseline and ZeroMQ in the same run (docs/benchmarks.md).
//
//   peergraph-bench [--quick] [--json FILE] [--reps N] [--seconds S]
//                   [--scenario NAME] [--system NAME] [--size N]
//
// Each scenario runs on an io_context of its own, on this thread; every
// figure is the median of --reps repetitions (default 5). --quick runs one
// short repetition of everything (a smoke test).
//
// Output: a table on stdout; with --json FILE, one JSON object per line and
// figure: {"scenario", "system", "size", "metric", "value"}.
#include "common.hpp"

#include <array>
#include <utility>

namespace bench {
namespace {

struct scenario {
  const char* name;
  awaitable<void> (*run)(context&);
};

// The scenarios, in the order they run.
constexpr std::array<scenario, 9> scenarios{{
    {"stream", run_stream},
    {"pingpong", run_pingpong},
    {"connect", run_connect},
    {"open_direct", run_open_direct},
    {"events", run_events},
    {"multicore", run_multicore},
    {"idle_memory", run_idle_memory},
    {"presence", run_presence},
    {"scale", run_scale},
}};

// The baselines; every other system is a way of using peergraph, with a row
// of its own in the table.
bool is_baseline(const std::string& s) { return s == asio_system || s == asio_bytes_system || s == zeromq_system; }

void run_scenario(const scenario& s, const config& cfg, std::vector<figure>& out) {
  const auto t0 = clock_type::now();
  std::exception_ptr failure;
  bool finished = false;
  {
    asio::io_context io(1);
    context ctx{io, cfg, out};
    asio::co_spawn(io, s.run(ctx), [&](std::exception_ptr e) {
      failure = e;
      finished = true;
    });
    while (!finished && io.run_one() > 0) {
    }
    if (failure) {
      try {
        std::rethrow_exception(failure);
      } catch (const std::exception& e) {
        fail(fmt::format("{}: {}", s.name, e.what()).c_str());
      }
    }
    if (!finished) fail(fmt::format("{}: the scenario did not finish", s.name).c_str());
    // Let closing connections finish before the next scenario.
    io.run_for(std::chrono::seconds(3));
    if (!io.stopped()) fmt::print(stderr, "peergraph-bench: {}: work left on the io_context after 3 s\n", s.name);
  }
  fmt::print(stderr, "peergraph-bench: {} done in {:.1f} s\n", s.name, seconds_since(t0));
}

// ------------------------------------------------------------------ output

const figure* find(const std::vector<figure>& all, const std::string& scenario, const std::string& system,
                   std::size_t size, const std::string& metric) {
  for (const auto& f : all)
    if (f.scenario == scenario && f.system == system && f.size == size && f.metric == metric) return &f;
  return nullptr;
}

std::string format_value(const std::string& metric, double v) {
  if (metric == "msgs_per_s" || metric == "events_per_s") {
    if (v >= 1e6) return fmt::format("{:.2f} M/s", v / 1e6);
    return fmt::format("{:.1f} k/s", v / 1e3);
  }
  if (metric == "bytes_per_s") return fmt::format("{:.1f} MiB/s", v / static_cast<double>(MiB));
  if (metric == "bytes_per_conn" || metric == "heap_bytes_per_node" || metric == "rss_bytes_per_node")
    return fmt::format("{:.0f} B", v);
  if (metric == "converge_s" || metric == "build_s") return fmt::format("{:.3f} s", v);
  if (metric == "flood_msgs_per_link" || metric == "scaling") return fmt::format("{:.2f}", v);
  return fmt::format("{:.1f} us", v);
}

std::string ratio(const figure* a, const figure* b) {
  return a && b && b->value > 0 ? fmt::format("{:.2f}", a->value / b->value) : "-";
}

void print_table(const std::vector<figure>& all) {
  // Rows: (scenario, size, metric, peergraph variant) in the order measured.
  struct row {
    std::string scenario, system, metric;
    std::size_t size;
  };
  std::vector<row> rows;
  for (const auto& f : all) {
    if (is_baseline(f.system) && f.system != asio_system && f.system != zeromq_system) {
      // A baseline with no peergraph counterpart (the unframed byte stream) gets a row of its own.
      const bool seen = std::any_of(rows.begin(), rows.end(), [&](const row& r) {
        return r.scenario == f.scenario && r.system == f.system && r.metric == f.metric && r.size == f.size;
      });
      if (!seen) rows.push_back({f.scenario, f.system, f.metric, f.size});
      continue;
    }
    const std::string system = is_baseline(f.system) ? std::string(peergraph_system) : f.system;
    const bool seen = std::any_of(rows.begin(), rows.end(), [&](const row& r) {
      return r.scenario == f.scenario && r.system == system && r.metric == f.metric && r.size == f.size;
    });
    if (!seen) rows.push_back({f.scenario, system, f.metric, f.size});
  }
  fmt::print("{:<24} {:>7} {:<15} {:>13} {:>13} {:>13} {:>8} {:>8}\n", "scenario", "size", "metric", "peergraph",
             "asio", "zeromq", "pg/asio", "pg/zmq");
  fmt::print("{}\n", std::string(108, '-'));
  for (const auto& r : rows) {
    const bool baseline_row = is_baseline(r.system);
    const auto* p = baseline_row ? nullptr : find(all, r.scenario, r.system, r.size, r.metric);
    const auto* a = find(all, r.scenario, baseline_row ? r.system : asio_system, r.size, r.metric);
    const auto* z = baseline_row ? nullptr : find(all, r.scenario, zeromq_system, r.size, r.metric);
    const auto label = r.system == peergraph_system ? r.scenario : r.scenario + " (" + r.system + ")";
    const auto size = !r.size                                               ? std::string("-")
                      : (r.scenario == "presence" || r.scenario == "scale") ? fmt::format("{} n", r.size)
                      : r.scenario == "multicore"                           ? fmt::format("{} thr", r.size)
                                                                            : size_name(r.size);
    const auto show = [&r](const figure* f) { return f ? format_value(r.metric, f->value) : std::string("-"); };
    fmt::print("{:<24} {:>7} {:<15} {:>13} {:>13} {:>13} {:>8} {:>8}\n", label, size, r.metric, show(p), show(a),
               show(z), ratio(p, a), ratio(p, z));
  }
  fmt::print(
      "ratios: peergraph / baseline (rates: higher is better; times and memory: lower is better)\n"
      "idle_memory: bytes per connection end (a link has two)\n");
}

bool write_json(const std::string& path, const std::vector<figure>& all) {
  std::FILE* f = std::fopen(path.c_str(), "w");
  if (!f) return false;
  for (const auto& x : all)
    fmt::print(f, "{{\"scenario\":\"{}\",\"system\":\"{}\",\"size\":{},\"metric\":\"{}\",\"value\":{}}}\n", x.scenario,
               x.system, x.size, x.metric, x.value);
  return std::fclose(f) == 0;
}

void usage(std::FILE* to) {
  fmt::print(to,
             "usage: peergraph-bench [--quick] [--json FILE] [--reps N] [--seconds S]\n"
             "  --quick      one short repetition of everything (smoke test)\n"
             "  --json FILE  also write one JSON object per figure and line to FILE\n"
             "  --reps N     repetitions per figure, the median is reported (default 5)\n"
             "  --seconds S  length of one stream or events repetition (default 0.5)\n"
             "  --scenario NAME   only this scenario:");
  for (const auto& s : scenarios) fmt::print(to, " {}", s.name);
  fmt::print(
      to,
      "\n"
      "  --system NAME     only this system: peergraph, peergraph-try, peergraph-owned,\n"
      "                    asio, asio-bytes, zeromq\n"
      "  --size N          only this message size in bytes (stream, pingpong) or node count (presence, scale)\n"
      "  --count N         stream: exactly N messages per repetition, no calibration (for instruction counts)\n");
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  using namespace bench;
  config cfg;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    const bool has_value = i + 1 < argc;
    if (arg == "--quick") {
      cfg.quick = true;
    } else if (arg == "--json" && has_value) {
      cfg.json = argv[++i];
    } else if (arg == "--reps" && has_value) {
      cfg.reps = std::max(1, std::atoi(argv[++i]));
    } else if (arg == "--seconds" && has_value) {
      cfg.seconds = std::max(0.01, std::atof(argv[++i]));
    } else if (arg == "--scenario" && has_value) {
      cfg.scenario = argv[++i];
    } else if (arg == "--system" && has_value) {
      cfg.system = argv[++i];
    } else if (arg == "--count" && has_value) {
      cfg.count = std::strtoull(argv[++i], nullptr, 10);
    } else if (arg == "--size" && has_value) {
      cfg.size = static_cast<std::size_t>(std::strtoull(argv[++i], nullptr, 10));
    } else if (arg == "--help" || arg == "-h") {
      usage(stdout);
      return 0;
    } else {
      usage(stderr);
      return 2;
    }
  }
  if (!cfg.scenario.empty() &&
      std::none_of(scenarios.begin(), scenarios.end(), [&cfg](const scenario& s) { return cfg.scenario == s.name; })) {
    fmt::print(stderr, "peergraph-bench: no scenario '{}'\n", cfg.scenario);
    return 2;
  }

  std::vector<figure> results;
  for (const auto& s : scenarios)
    if (cfg.scenario.empty() || cfg.scenario == s.name) run_scenario(s, cfg, results);

  print_table(results);
  if (!cfg.json.empty() && !write_json(cfg.json, results)) {
    fmt::print(stderr, "peergraph-bench: cannot write {}\n", cfg.json);
    return 1;
  }
  return 0;
}
