// wqscope: see inside libcmwq pools, catch them when they stall.
#include "explain.h"
#include "explain_command.h"
#include "export.h"
#include "import/import_log.h"
#include "import/import_trace.h"
#include "inspect.h"
#include "invoking_user.h"
#include "record.h"
#include "recording.h"
#if WQSCOPE_CAPTURE
#include "metrics.h"
#include "tracer.h"
#endif

#include <CLI/CLI.hpp>
#include <cmwq/events.h>
#include <duration.h>
#include <fmt/format.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <grp.h>
#include <unistd.h>

namespace {

struct OptionError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr std::int64_t kMaxInterval = 1'000'000'000'000'000;  // 1e6 s

std::int64_t parse_threshold(const std::string& s) { return cmwq::cli::parse_duration(s, "--thresh"); }

#if WQSCOPE_CAPTURE
/// A power of two of bytes, like 256K or 32M, that holds a few of the largest batches.
std::uint32_t parse_ring_buffer(const std::string& s) {
  std::size_t used = 0;
  unsigned long long v = 0;
  try {
    v = std::stoull(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  std::string unit = s.substr(used);
  if (unit.ends_with("iB")) unit.resize(unit.size() - 2);
  int shift = unit.empty() ? 0 : unit == "K" || unit == "k" ? 10 : unit == "M" ? 20 : unit == "G" ? 30 : -1;
  if (!used || shift < 0 || s[0] == '-' || v > (1ull << 40))
    throw OptionError(fmt::format("--ring-buffer '{}' is not a size like 256K, 4M or 32M", s));
  v <<= shift;
  constexpr auto kMin = wqscope::kRingBufferMin, kMax = wqscope::kRingBufferMax;
  if (v < kMin)
    throw OptionError(fmt::format("--ring-buffer {} is too small: the minimum is {}K (a probe hit takes up to {} "
                                  "KiB there, and it must hold a few)",
                                  s, kMin >> 10, wqscope::kRingRecordBytes >> 10));
  if (v > kMax || (v & (v - 1)))
    throw OptionError(fmt::format("--ring-buffer {} is not a power of two from {}K to {}G, e.g. 256K, 4M or 32M "
                                  "(the default)",
                                  s, kMin >> 10, kMax >> 30));
  return static_cast<std::uint32_t>(v);
}


/// --group NAME: the group that may read the recording.
gid_t parse_group(const std::string& name) {
  errno = 0;
  if (const group* g = ::getgrnam(name.c_str())) return g->gr_gid;
  throw OptionError(fmt::format("--group '{}': {} (`getent group` lists the groups; `groupadd` creates one)", name,
                                errno ? std::strerror(errno) : "no such group"));
}

#endif

/// What the first bytes of `path` say it is: an event stream (a HELLO record), a kernel trace
/// (trace.dat, or text of the workqueue tracepoints) or a kernel log.
std::string detect_format(const std::string& path) {
  std::array<char, 16 * 1024> head{};
  FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) return "kernel-log";  // the importer says why it cannot read it
  std::size_t n = std::fread(head.data(), 1, head.size(), f);
  std::fclose(f);
  if (wqscope::is_event_stream(std::as_bytes(std::span(head.data(), n)))) return "events";
  if (wqscope::is_kernel_trace(std::string_view(head.data(), n))) return "trace";
  return "kernel-log";
}

int export_trace(const std::string& db, const std::string& json) {
  wqscope::RecordingReader reader(db);
  auto s = wqscope::export_perfetto(reader, json);
  fmt::print(stderr, "wqscope: {} records of {} -> {}: {} trace events ({} work items), {} bytes; open it in "
                     "ui.perfetto.dev (Open trace file) or chrome://tracing\n",
             s.records, db, json, s.trace_events, s.items, s.bytes);
  if (reader.run().dropped_events || reader.run().lost_events)
    fmt::print(stderr, "wqscope: warning: {} events were dropped and {} lost while recording: the trace is incomplete\n",
               reader.run().dropped_events, reader.run().lost_events);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"wqscope: see inside workqueue pools and catch them when they stall.\n\n"
               "Examples:\n"
               "  sudo wqscope record -o trace.db -- cmwq-demo stall --seconds 10\n"
               "  sudo wqscope record -p 1234 -o trace.db\n"
               "  sudo wqscope record --group wqscope -o trace.db -p 1234   # readable by group wqscope\n"
               "  sudo wqscope watch --thresh 5s --json -p 1234\n"
               "  sudo wqscope watch --metrics 9464 -p 1234    # Prometheus metrics at http://127.0.0.1:9464/metrics\n"
               "  wqscope show trace.db --at 12.5s        # the busy dump at 12.5 s into the recording\n"
               "  wqscope stats trace.db --interval 1     # wq_monitor's table every second\n"
               "  wqscope stats --top trace.db            # the functions queued, run and burning CPU the most\n"
               "  sudo wqscope watch --kernel --thresh 10s  # the kernel's own workqueues\n"
               "  sudo wqscope stats --kernel              # wq_monitor.py's table: the kernel's own counters\n"
               "  wqscope replay --thresh 5s trace.db     # watch's alerts, from the recording\n"
               "  wqscope import console.log -o report.db  # kernel lockup reports (dmesg, journalctl, serial, mail)\n"
               "  wqscope import trace.dat -o trace.db     # a trace of the workqueue tracepoints (also ftrace, perf text)\n"
               "  wqscope explain report.db --at @842410023000  # who waits on whom in a stuck pool\n"
               "  wqscope repair trace.db                  # the tables of a recording whose collector was killed\n"
               "  sqlite3 trace.db 'SELECT func, count(*) FROM work_items GROUP BY func'\n\n"
               "Durations (--thresh, --interval, --exec-timeout): 30s, 500ms, 250us, 2m, or a bare number of\n"
               "seconds (1.5). Instants (--at): a duration from the start of the recording, or @NS on the\n"
               "target's CLOCK_MONOTONIC. (docs/collector.md: Durations and instants)\n"};
  app.require_subcommand(1);
  wqscope::Target target;
  std::string output, ring_buffer = "32M", group;
  auto add_target = [&](CLI::App* sub) {
    sub->add_option("-p,--pid", target.pid, "trace this running process")->check(CLI::PositiveNumber);
    sub->add_flag("--kernel", target.kernel, "trace the running kernel's own workqueues instead (docs/kernel-mode.md: "
                                             "what is exact and what is inferred)");
    sub->add_option("command", target.command, "after --: the command to start and trace from its first event (with "
                                               "--kernel: to run while tracing; the session ends with it)");
    sub->add_flag("--stop-at-eof", target.stop_at_eof,
                  "stop as Ctrl-C does when stdin ends (how wqscope-gui stops the collector it starts through "
                  "pkexec or sudo); a command started gets /dev/null as its stdin");
    sub->add_flag("--raw-kernel-pointers", target.raw_kernel_pointers,
                  "with --kernel: keep work_struct and function addresses as they are, not hashed with the "
                  "recording's own key; only for a recording root alone reads (root itself, no sudo, no --group)");
    sub->add_option("--ring-buffer", ring_buffer,
                    "the BPF ring buffer, a power of two from 256K to 1G (default 32M): how far the target may run "
                    "ahead of wqscope before events are dropped");
  };
  auto add_lossless = [&](CLI::App* sub) {
    sub->add_flag("--lossless", target.lossless,
                  "the target waits (at most 100 ms a batch) rather than lose events when wqscope falls behind: "
                  "it is slowed down instead (docs/lossless.md)");
  };
  auto add_group = [&](CLI::App* sub) {
    return sub->add_option("--group", group,
                           "create the recording (and its -wal and -shm) mode 0640 owned by this group, for its "
                           "members to read without root; default: mode 0600, root's only");
  };
  auto* record = app.add_subcommand("record", "record a process that uses libcmwq into a SQLite file");
  add_target(record);
  add_lossless(record);
  record->add_option("-o,--output", output, "the recording to create (never overwritten)")->required();
  add_group(record);
  std::string thresh = "30s";
  record->add_option("--thresh", thresh, "note stalls this long in the lockups table, e.g. 30s, 500ms (default 30s)");
  wqscope::WatchOptions wopt;
  auto* watch = app.add_subcommand("watch", "alert when a pool of a process stops making progress");
  add_target(watch);
  add_lossless(watch);
  watch->add_option("--thresh", thresh, "report a pool stuck this long, e.g. 30s, 500ms (default 30s)");
  watch->add_flag("--json", wopt.json, "print alerts as JSON lines");
  auto add_storm = [](CLI::App* sub, std::uint64_t& storm) {
    sub->add_option("--storm", storm, fmt::format("kernel workqueues: report a function queued more than N times in a "
                                                  "second, a queue storm (default {}; 0: never)",
                                                  wqscope::kQueueStorm));
  };
  add_storm(watch, wopt.storm);
  bool explain_alerts = false;
  watch->add_flag("--explain", explain_alerts, "after each lockup's dump, why its pools make no progress (explain)");
  watch->add_option("--exec", wopt.exec, "run this program (no shell) for each alert, the alert as JSON on stdin");
  std::string exec_timeout = "10s";
  watch->add_option("--exec-timeout", exec_timeout, "kill a hook still running after this long (default 10s)");
  watch->add_option("-o,--output", wopt.output, "also record into this new SQLite file");
  auto* watch_group = add_group(watch);
  std::string metrics;
  auto* metrics_opt = watch->add_option("--metrics", metrics,
                    "serve Prometheus metrics at PORT or ADDR:PORT (IPv4), e.g. 9464 or 0.0.0.0:9464; a bare PORT "
                    "binds 127.0.0.1, the default for security: nothing is exposed to the network unless asked");
  std::string db, at;
  auto add_db = [&](CLI::App* sub) { sub->add_option("db", db, "the recording")->required(); };
  auto* show = app.add_subcommand("show", "the state at an instant of a recording, as the kernel's busy dump prints it");
  add_db(show);
  show->add_option("--at", at, "seconds from the start (12.5, 12.5s, 800ms) or @NS (CLOCK_MONOTONIC); default: the end");
  show->add_option("--thresh", thresh, "list the pools stuck this long at that instant (default 30s)");
  auto* stats = app.add_subcommand("stats", "wq_monitor's table per workqueue over a recording, or of the running "
                                          "kernel (--kernel)");
  stats->add_option("db", db, "the recording");
  bool stats_kernel = false;
  stats->add_flag("--kernel", stats_kernel, "the running kernel's workqueues, live (needs root)");
  std::string interval;
  auto* interval_opt = stats->add_option("--interval", interval, "print the table every this long, e.g. 1, 500ms "
                                                                 "(--kernel: default 1s)");
  int top = 0;
  stats->add_flag("--top{10}", top, "the functions that dominate instead: by queue rate, run count and CPU time, with "
                                    "who queued them and the kworkers that ran them (--top=N: N of each, default 10)")
      ->check(CLI::PositiveNumber);
  bool stats_json = false;
  stats->add_flag("--json", stats_json, "--kernel: wq_monitor.py's --json lines (one object per workqueue and "
                                        "reading) instead of the table");
  int count = 0;
  stats->add_option("--count", count, "--kernel: stop after this many tables (default: at Ctrl-C)")
      ->check(CLI::PositiveNumber);
  wqscope::ReplayOptions ropt;
  auto* replay = app.add_subcommand("replay", "run watch's watchdog over a recording: the same alerts");
  add_db(replay);
  replay->add_option("--thresh", thresh, "report a pool stuck this long (default 30s)");
  replay->add_option("--speed", ropt.speed, "replay at this many times the recorded speed (default: as fast as possible)")
      ->check(CLI::Range(0.001, 1e6));
  replay->add_flag("--json", ropt.out.json, "print alerts as JSON lines");
  add_storm(replay, ropt.storm);
  replay->add_flag("--explain", explain_alerts, "after each lockup's dump, why its pools make no progress (explain)");
  auto* import = app.add_subcommand("import", "make a recording from a kernel trace of the workqueue tracepoints "
                                            "(trace.dat, ftrace, trace-cmd report, perf script), a kernel log with "
                                            "workqueue lockup reports, or a file of cmwq event records (cmwq-sim "
                                            "--events)");
  std::string events, format = "auto";
  import->add_option("events", events, "the trace, kernel log (dmesg, journalctl -k, a console or a mail) or event "
                                      "stream")
      ->required();
  import->add_option("--format", format, "auto (default: detected), trace, kernel-log or events")
      ->check(CLI::IsMember({"auto", "trace", "kernel-log", "events"}));
  import->add_option("-o,--output", output, "the recording to create (never overwritten)")->required();
  import->add_option("--thresh", thresh, "note stalls this long in the alerts table (default 30s)");
  std::uint64_t import_storm = wqscope::kQueueStorm;
  add_storm(import, import_storm);
  auto* explain = app.add_subcommand("explain", "why the stuck pools of a recording or an imported kernel report make "
                                              "no progress: causes and wait-for chains");
  add_db(explain);
  explain->add_option("--at", at, "seconds from the start (12.5, 800ms) or @NS; default: the end");
  auto* explain_thresh = explain->add_option("--thresh", thresh, "pools stuck this long (default 30s; 1s for kernel "
                                                                 "reports, which name their stuck pools)");
  bool explain_json = false;
  explain->add_flag("--json", explain_json, "one JSON object");
  std::string export_json;
  auto* export_cmd = app.add_subcommand("export", "write a recording as a Chrome/Perfetto trace (JSON) for "
                                                  "ui.perfetto.dev or chrome://tracing");
  add_db(export_cmd);
  export_cmd->add_option("--perfetto", export_json, "the trace to create (never overwritten), e.g. out.json")
      ->required();
  export_cmd->footer("Example:\n  wqscope export trace.db --perfetto trace.json  # ui.perfetto.dev: Open trace file");
  std::string repair_db;
  auto* repair = app.add_subcommand("repair", "complete the tables of a recording whose collector was killed (any "
                                              "reader that may write it does this too)");
  repair->add_option("db", repair_db, "the recording")->required();
  CLI11_PARSE(app, argc, argv);
  // The explainer with the watchdog's threshold (set below, once checked): the pools the alert is about.
  auto explainer = [](const std::int64_t& thresh_ns) -> wqscope::AlertOutput::Explain {
    return [&thresh_ns](const wqscope::Model& model, std::int64_t now) {
      return wqscope::explain_text(wqscope::explain(model, now, thresh_ns));
    };
  };
  if (explain_alerts) {
    ropt.out.explain = explainer(ropt.thresh_ns);
    wopt.explain = explainer(wopt.thresh_ns);
  }
  CLI::App* sub = app.get_subcommands().front();
  try {
    if (show->parsed()) return wqscope::show(db, at.empty() ? std::nullopt : std::optional(at), parse_threshold(thresh));
    if (stats->parsed()) {
      if (stats_kernel == !db.empty()) throw OptionError("give either a recording or --kernel");
      std::optional<double> every;
      if (interval_opt->count())
        every = static_cast<double>(cmwq::cli::parse_duration(interval, "--interval", {.max_ns = kMaxInterval})) / 1e9;
      if (stats_json && (!stats_kernel || top)) throw OptionError("--json goes with --kernel, without --top");
      if (!stats_kernel) return wqscope::stats(db, every, top);
#if WQSCOPE_CAPTURE
      target.kernel = true;
      return wqscope::live_stats(target, every.value_or(1.0), count, top, stats_json);
#endif
    }
    if (import->parsed()) {
      if (format == "auto") format = detect_format(events);
      if (format == "trace") return wqscope::import_kernel_trace(events, output, parse_threshold(thresh), import_storm);
      if (format == "kernel-log") return wqscope::import_kernel_log(events, output);
      return wqscope::import_events(events, output, parse_threshold(thresh));
    }
    if (explain->parsed())
      return wqscope::explain_recording(db, at.empty() ? std::nullopt : std::optional(at),
                                        explain_thresh->count() ? std::optional(parse_threshold(thresh)) : std::nullopt,
                                        explain_json);
    if (export_cmd->parsed()) return export_trace(db, export_json);
    if (repair->parsed()) {
      bool done = wqscope::Recording::complete(repair_db);
      fmt::print(stderr, "wqscope repair: {}: {}\n", repair_db,
                 done ? "its tables are complete now" : "nothing to do: it ended and its tables are complete");
      return 0;
    }
    if (replay->parsed()) {
      ropt.thresh_ns = parse_threshold(thresh);
      return wqscope::replay(db, ropt);
    }
#if !WQSCOPE_CAPTURE
    (void)metrics_opt, (void)watch_group;
    throw std::runtime_error("this wqscope was built without the capture side (no kernel BTF at build time, or "
                             "-DWQSCOPE_BPF=OFF): it reads recordings (show, stats, replay, import, export); record, "
                             "watch and stats --kernel need a build with BPF");
#else
    if (target.kernel && target.pid) throw OptionError("--kernel traces the kernel, not a process: drop -p");
    if (!target.kernel && (target.pid != 0) == !target.command.empty()) {
      fmt::print(stderr, "wqscope {}: give either -p PID or -- COMMAND (or --kernel), not {}\n", sub->get_name(),
                 target.pid ? "both" : "neither");
      return 2;
    }
    if (target.raw_kernel_pointers && !target.kernel) throw OptionError("--raw-kernel-pointers goes with --kernel");
    if (target.lossless && target.kernel)
      throw OptionError("--lossless applies to a process's pool: the kernel does not wait for wqscope");
    if (target.raw_kernel_pointers && (::geteuid() != 0 || wqscope::invoking_user() || !group.empty()))
      throw OptionError("--raw-kernel-pointers: raw kernel addresses go only into a recording root alone reads: run "
                        "as root itself (not through sudo or pkexec, whose user gets the file), without --group");
    target.ring_buffer_bytes = parse_ring_buffer(ring_buffer);
    std::optional<gid_t> gid;
    if (!group.empty()) gid = parse_group(group);
    if (record->parsed()) return wqscope::record(target, output, parse_threshold(thresh), gid);
    if (watch_group->count() && wopt.output.empty())
      throw OptionError("--group applies to the recording: give -o FILE too");
    wopt.group = gid;
    wopt.thresh_ns = parse_threshold(thresh);
    wopt.exec_timeout_ns = cmwq::cli::parse_duration(exec_timeout, "--exec-timeout");
    if (metrics_opt->count()) wopt.metrics = wqscope::metrics_address(metrics);
    if (!wopt.exec.empty() && ::access(wopt.exec.c_str(), X_OK) != 0) {
      fmt::print(stderr, "wqscope watch: --exec {}: not an executable file (give its full path)\n", wopt.exec);
      return 2;
    }
    return wqscope::watch(target, wopt);
#endif
  } catch (const OptionError& e) {  // bad values: what is accepted, exit 2
    fmt::print(stderr, "wqscope {}: {}\n", sub->get_name(), e.what());
    return 2;
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "wqscope {}: {}\n", sub->get_name(), e.what());
    return 2;
#if WQSCOPE_CAPTURE
  } catch (const wqscope::MetricsUsageError& e) {
    fmt::print(stderr, "wqscope {}: {}\n", sub->get_name(), e.what());
    return 2;
#endif
  } catch (const std::runtime_error& e) {  // what failed and what to do: tracer, recording, export, metrics
    fmt::print(stderr, "wqscope {}: {}\n", sub->get_name(), e.what());
    return 1;
  }
  return 0;
}
