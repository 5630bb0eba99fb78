#include "record.h"

#include "top.h"

#include "alerts.h"
#include "ingest.h"
#include "kernel_counters.h"
#include "kernel_tracer.h"
#include "metrics.h"
#include "recording.h"
#include "session.h"
#include "untrusted.h"

#include <cmwq/report.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <functional>

namespace wqscope {

namespace {

void report_end(const std::string& reason, const Ingest& ingest, const Session& session) {
  const cmwq_bpf_stats st = session.stats();
  const IngestCounts& c = ingest.counts();
  fmt::print(stderr, "wqscope: {}; {} events, {} dropped by the ring buffer, {} missing in sequence\n", reason,
             ingest.trace().records(), st.dropped_events, ingest.trace().lost());
  if (st.dropped_events)
    fmt::print(stderr, "wqscope: warning: events were lost: the reader fell behind the target; what was recorded is "
                       "valid but incomplete (a larger --ring-buffer, default 32M, gives the reader more room; --lossless makes "
                       "the target wait for it)\n");
  // What is missing beyond the ring buffer's drops never reached the probe: the target's own queue.
  if (ingest.trace().lost() > st.dropped_events)
    fmt::print(stderr, "wqscope: warning: {} events were dropped inside the target, in its pool's hand-over queue: its "
                       "delivering thread fell behind its producers; what was recorded is valid but incomplete "
                       "(--lossless makes the producers wait for it)\n",
               ingest.trace().lost() - st.dropped_events);
  if (st.read_errors || st.oversized)
    fmt::print(stderr, "wqscope: warning: of those dropped, {} batch(es) could not be read from the target's memory at "
                       "the probe and {} were larger than a batch may be: not the ring buffer's room\n",
               st.read_errors, st.oversized);
  if (c.malformed_batches || c.out_of_sequence || c.from_the_future)
    fmt::print(stderr, "wqscope: warning: the target sent {} batch(es) that did not decode, {} record(s) out of "
                       "sequence and {} stamped in the future: counted and skipped\n",
               c.malformed_batches, c.out_of_sequence, c.from_the_future);
  if (std::string note = session.left_out(); !note.empty()) fmt::print(stderr, "wqscope: note: {}\n", note);
  if (st.sched_dropped)
    fmt::print(stderr, "wqscope: warning: {} of the kernel's off/on-CPU records were dropped (their ring buffer was "
                       "full): off-CPU times and hidden-block alerts are incomplete\n",
               st.sched_dropped);
}

/// The anomalies table: what was counted instead of stored.
void store_counts(Recording& rec, const Ingest& ingest, const cmwq_bpf_stats& st) {
  const IngestCounts& c = ingest.counts();
  rec.count("malformed_batches", c.malformed_batches, "batches cut short by a record that did not decode");
  rec.count("out_of_sequence", c.out_of_sequence, "records whose seq went back, or that only the collector writes");
  rec.count("gaps", c.gaps, "GAP records written (records missing there)");
  rec.count("from_the_future", c.from_the_future, "records stamped more than 10 s after the collector's clock");
  rec.count("ring_buffer_dropped_events", st.dropped_events, "events the BPF ring buffer had no room for");
  rec.count("oversized_batches", st.oversized, "probe hits larger than a batch may be");
  rec.count("read_errors", st.read_errors, "batches the BPF side could not read from the target");
  rec.count("sched_dropped", st.sched_dropped, "off/on-CPU records the kernel's ring buffer had no room for");
}

/// Hands the session's batches and off/on-CPU records to `ingest`. Kernel mode's own off/on-CPU
/// records (its translation's, not a process's) are applied.
void attach_ingest(Session& session, Ingest& ingest, const Target& target) {
  if (target.kernel) ingest.trust_task_states();
  const auto pid = static_cast<std::uint32_t>(session.pid());
  ingest.ring_dropped_from([&session] { return session.stats().dropped_events; });
  session.attach([&ingest, pid](std::uint64_t stream, std::span<const std::byte> bytes,
                                std::uint64_t) { ingest.batch(pid, stream, bytes); },
                 [&ingest](const cmwq_ev_state& e) { ingest.sched(e); });
}

/// wq_monitor.py's --json object of one workqueue; cpu_time in microseconds, as the kernel counts
/// it; null: not known.
std::string monitor_json(const cmwq::report::Monitor& m, double timestamp, std::int64_t begin_ns,
                         std::int64_t end_ns) {
  auto known = [](bool k, std::uint64_t n) { return k ? nlohmann::ordered_json(n) : nlohmann::ordered_json(nullptr); };
  nlohmann::ordered_json j = {  // in wq_monitor.py's order
      {"timestamp", timestamp},
      {"read_ns", {begin_ns, end_ns}},
      {"name", m.name},
      {"flags", m.flags},
      {"unbound", (m.flags & cmwq::WQ_UNBOUND) != 0},
      {"mem_reclaim", (m.flags & cmwq::WQ_MEM_RECLAIM) != 0},
      {"started", m.started},
      {"completed", m.completed},
      {"cpu_time", m.cpu_time_ns / 1000},
      {"cpu_intensive", known(m.internals_known, m.cpu_intensive)},
      {"cm_wakeup", known(m.cm_known, m.cm_wakeup)},
      {"repatriated", known(m.cm_known, m.repatriated)},
      {"mayday", known(m.internals_known, m.mayday)},
      {"rescued", known(m.internals_known, m.rescued)}};
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

/// wq_monitor.py's --json lines of one reading: its wall-clock seconds (`timestamp`, as wq_monitor.py),
/// and the CLOCK_MONOTONIC ns around it (`read_ns`); with each workqueue's WQ_* `flags`.
void print_json(const std::vector<cmwq::report::Monitor>& wqs, std::int64_t begin_ns, std::int64_t end_ns) {
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  for (const cmwq::report::Monitor& m : wqs) fmt::print("{}\n", monitor_json(m, now, begin_ns, end_ns));
}

/// stats --kernel from the kernel's own counters: wq_monitor.py's table of every workqueue, at once
/// and then every `interval_s`.
int counter_stats(Session& session, std::unique_ptr<KernelCounters> source, double interval_s, int count, bool json) {
  KernelCounters& counters = *source;
  session.attach(std::move(source));
  fmt::print(stderr, "wqscope: wq_monitor of the kernel's workqueues, from its own counters (each pool_workqueue's "
                     "stats[], since its workqueue was created), every {} s (Ctrl-C to stop)\n",
             interval_s);
  const std::int64_t start = mono_ns(), step = static_cast<std::int64_t>(interval_s * 1e9);
  std::int64_t next = start;
  int printed = 0;
  bool warned = false;
  std::string reason = session.run([&](std::int64_t now) {
    if (now >= next) {
      KernelCounts k = counters.read();
      if (json) {
        print_json(k.wqs, k.begin_ns, k.end_ns);
      } else {
        fmt::print("wq_monitor at {:.3f}s:\n", static_cast<double>(k.begin_ns - start) / 1e9);
        for (const std::string& row : cmwq::report::wq_monitor_table(k.wqs)) fmt::print("{}\n", row);
        fmt::print("\n");
      }
      std::fflush(stdout);
      if (k.truncated && !std::exchange(warned, true))
        fmt::print(stderr, "wqscope: warning: {} workqueues were left out: the reader has room for {}\n", k.truncated,
                   CMWQ_KSTATS_MAX_WQS);
      next += step;
      if (count && ++printed >= count) session.stop();
    }
    return static_cast<int>(std::clamp<std::int64_t>((next - mono_ns()) / 1'000'000 + 1, 1, 50));
  });
  fmt::print(stderr, "wqscope: {}\n", reason);
  return 0;
}

}  // namespace

int record(const Target& target, const std::string& output, std::int64_t thresh_ns, std::optional<gid_t> group) {
  WatchOptions opt;
  opt.thresh_ns = thresh_ns;
  opt.output = output;
  opt.group = group;
  opt.quiet = true;
  return watch(target, opt);
}

int watch(const Target& target, const WatchOptions& opt) {
  Session session(target);
  // After the session forked the command: it must not inherit the web server's threads or signal dispositions.
  // Before the recording: a port in use leaves no file behind.
  std::unique_ptr<Metrics> metrics;
  if (!opt.metrics.empty()) metrics = std::make_unique<Metrics>(opt.metrics);
  std::unique_ptr<Recording> rec;
  if (!opt.output.empty())
    rec = Recording::create(opt.output, {session.description(), session.pid(), mono_ns()}, opt.group);
  AlertPrinter printer({opt.json, opt.exec, opt.exec_timeout_ns, opt.explain}, session.pid());
  Ingest ingest(rec.get(), opt.thresh_ns, Ingest::Clock::live,
                [&](int, const std::vector<Alert>& raised, const Model& model) {
                  if (metrics)
                    for (const Alert& a : raised) metrics->on_alert(a);
                  if (!opt.quiet) printer.print(raised, model);
                });
  ingest.watch_queue_storms(opt.storm);
  if (target.kernel) ingest.kernel_hog_thresh(kernel_cpu_intensive_thresh_ns());
  attach_ingest(session, ingest, target);
  if (opt.quiet)
    fmt::print(stderr, "wqscope: recording {} into {} (Ctrl-C to stop)\n", printable(session.description()),
               opt.output);
  else
    fmt::print(stderr, "wqscope: watching {} for pools stuck {} ms or longer (Ctrl-C to stop)\n",
               printable(session.description()), opt.thresh_ns / 1'000'000);
  if (metrics) fmt::print(stderr, "wqscope: Prometheus metrics at http://{}/metrics\n", opt.metrics);
  std::uint64_t sched_dropped = 0;
  std::string reason;
  try {
    reason = session.run([&](std::int64_t now) {
      cmwq_bpf_stats st = session.stats();
      ingest.sched_lost(st.sched_dropped - std::exchange(sched_dropped, st.sched_dropped));
      // Gauges first: whoever reads an alert and then scrapes sees the state it was about.
      if (metrics) metrics->update(ingest.trace().primary(), st, now);
      ingest.tick(now, session.behind());
      if (rec) {
        rec->lost_so_far(st.dropped_events, ingest.trace().lost());
        rec->commit();
      }
      // Wake in time for the earliest stall that could be reported: thresh + a few ms, not a poll period.
      std::int64_t next = ingest.next_deadline();
      std::int64_t ms = next == INT64_MAX ? 50 : (next - now) / 1'000'000 + 1;
      return static_cast<int>(std::clamp<std::int64_t>(ms, 1, 50));
    });
    ingest.finish(mono_ns());
    if (rec) store_counts(*rec, ingest, session.stats());
  } catch (const std::exception& e) {
    // A recording that fails on the way (the disk is full, say) ends there: the run row notes the
    // error if the file still takes it, and the error says what the file holds.
    if (!rec) throw;
    rec->abandon(e, mono_ns(), session.stats().dropped_events, ingest.trace().lost());
  }
  if (rec) rec->finish(reason, mono_ns(), session.stats().dropped_events, ingest.trace().lost());
  report_end(reason, ingest, session);
  if (!opt.quiet) fmt::print(stderr, "wqscope: {} alert(s)\n", printer.count());
  return 0;
}

int live_stats(const Target& target, double interval_s, int count, int top, bool json) {
  Session session(target);
  if (target.kernel && !top) {
    std::string why;
    if (auto counters = KernelCounters::open(why))
      return counter_stats(session, std::move(counters), interval_s, count, json);
    fmt::print(stderr, "wqscope: note: {}: counted from the tracepoints instead, from now on, for the workqueues seen "
                       "active, '?' where they cannot tell\n",
               why);
  }
  Ingest ingest(nullptr, INT64_MAX / 2, Ingest::Clock::live);
  std::map<int, TopFunctions> tops;  // by stream: each interval's
  ingest.on_new_model([&](int stream, Model& m) { m.add_observer(&tops[stream]); });
  attach_ingest(session, ingest, target);
  fmt::print(stderr, "wqscope: {} of {} every {} s (Ctrl-C to stop)\n", top ? "top functions" : "wq_monitor",
             session.description(), interval_s);
  const std::int64_t start = mono_ns(), step = static_cast<std::int64_t>(interval_s * 1e9);
  std::int64_t next = start + step, last = start;
  int printed = 0;
  auto table = [&](std::int64_t now) {
    if (!json)
      fmt::print("{} at {:.3f}s:\n", top ? "top functions" : "wq_monitor", static_cast<double>(now - start) / 1e9);
    for (auto& [id, model] : ingest.trace().models()) {
      if (json) {  // the kernel's one stream
        print_json(model.monitor(), now, now);
        continue;
      }
      if (ingest.trace().models().size() > 1) fmt::print("# stream {}\n", id);
      std::vector<std::string> rows =
          top ? tops[id].tables(now - last, top) : cmwq::report::wq_monitor_table(model.monitor());
      for (const std::string& row : rows) fmt::print("{}\n", row);
      tops[id] = TopFunctions{};
    }
    last = now;
    if (!json) fmt::print("\n");
    std::fflush(stdout);
    ++printed;
  };
  std::string reason = session.run([&](std::int64_t now) {
    ingest.tick(now, session.behind());
    if (now >= next) {
      table(now);
      next += step;
      if (count && printed >= count) session.stop();
    }
    return static_cast<int>(std::clamp<std::int64_t>((next - now) / 1'000'000 + 1, 1, 50));
  });
  ingest.finish(mono_ns());
  if (!count || printed < count) table(mono_ns());  // where it ended
  report_end(reason, ingest, session);
  return 0;
}

}  // namespace wqscope
