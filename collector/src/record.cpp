#include "record.h"

#include "alerts.h"
#include "metrics.h"
#include "feed.h"
#include "recording.h"
#include "watchdog.h"

#include <cmwq/report.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <functional>
#include <unistd.h>

namespace wqscope {

namespace {

void report_end(const std::string& reason, const Model& model, const Session& session) {
  const cmwq_bpf_stats st = session.stats();
  fmt::print(stderr, "wqscope: {}; {} events, {} dropped by the ring buffer, {} missing in sequence\n", reason,
             model.records(), st.dropped_events, model.lost());
  if (st.dropped_events || model.lost())
    fmt::print(stderr, "wqscope: warning: events were lost: the reader fell behind the target; what was recorded is "
                       "valid but incomplete (a larger --ring-buffer, default 32M, gives the reader more room)\n");
  if (std::string note = session.left_out(); !note.empty()) fmt::print(stderr, "wqscope: note: {}\n", note);
  if (st.sched_dropped)  // not in the run row (its schema has no column for them): said here
    fmt::print(stderr, "wqscope: warning: {} of the kernel's off/on-CPU records were dropped (their ring buffer was "
                       "full): off-CPU times and hidden-block alerts are incomplete\n",
               st.sched_dropped);
}

/// session.run, but a recording that fails on the way (the disk is full, say) is ended there: the
/// run row notes the error if the file still takes it, and the error says what the file holds.
std::string run_into(Recording* rec, Session& session, const Model& model,
                     const std::function<int(std::int64_t)>& tick) {
  try {
    return session.run(tick);
  } catch (const std::exception& e) {
    if (!rec) throw;
    rec->abandon(e, mono_ns(), session.stats().dropped_events, model.lost());
  }
}

/// The pool's records and the kernel's off/on-CPU records, in time order, into `feed`.
void attach(Session& session, Feed& feed) {
  session.attach([&](std::span<const std::byte> bytes, std::uint64_t) { feed.pool(bytes); },
                 [&](const cmwq_ev_state& e) { feed.kernel(e); });
}

/// What is still open (items, mayday episodes) goes in, then why the recording ended.
void end_recording(Recording* rec, Session& session, Model& model, const std::string& reason) {
  std::uint64_t dropped = session.stats().dropped_events;
  try {
    model.finish();
  } catch (const RecordingError& e) {
    if (rec) rec->abandon(e, mono_ns(), dropped, model.lost());
    throw;
  }
  if (rec) rec->finish(reason, mono_ns(), dropped, model);
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
  Model model(rec.get());
  model.start_over_after_gaps();
  Watchdog dog(opt.thresh_ns);
  model.add_observer(&dog);
  Feed feed([&](const cmwq::Record& r) {
    if (!rec) return model.apply(r);
    rec->add(r);
    model.apply(r);
    rec->snapshot_if_due(model);
  });
  attach(session, feed);
  if (opt.quiet)
    fmt::print(stderr, "wqscope: recording {} into {} (Ctrl-C to stop)\n", session.description(), opt.output);
  else
    fmt::print(stderr, "wqscope: watching {} for pools stuck {} ms or longer (Ctrl-C to stop)\n",
               session.description(), opt.thresh_ns / 1'000'000);
  if (metrics) fmt::print(stderr, "wqscope: Prometheus metrics at http://{}/metrics\n", opt.metrics);
  AlertPrinter printer({opt.json, opt.exec, opt.explain}, session.pid());
  std::string reason = run_into(rec.get(), session, model, [&](std::int64_t now) {
    feed.tick(now);
    // Gauges first: whoever reads an alert and then scrapes sees the state it was about.
    if (metrics) metrics->update(model, session.stats(), now);
    auto raised = dog.check(model, now);
    for (const Alert& a : raised) {
      if (rec) rec->on_alert(a);
      if (metrics) metrics->on_alert(a);
    }
    if (!opt.quiet) printer.print(raised, model);
    if (rec) rec->commit();
    // Wake in time for the earliest stall that could be reported: thresh + a few ms, not a poll period.
    std::int64_t next = dog.next_deadline(model);
    std::int64_t ms = next == INT64_MAX ? 50 : (next - now) / 1'000'000 + 1;
    return static_cast<int>(std::clamp<std::int64_t>(ms, 1, 50));
  });
  feed.flush();
  end_recording(rec.get(), session, model, reason);
  report_end(reason, model, session);
  if (!opt.quiet) fmt::print(stderr, "wqscope: {} alert(s)\n", printer.count());
  return 0;
}

int live_stats(const Target& target, double interval_s, int count) {
  Session session(target);
  Model model;
  Feed feed([&](const cmwq::Record& r) { model.apply(r); });
  attach(session, feed);
  fmt::print(stderr, "wqscope: wq_monitor of {} every {} s (Ctrl-C to stop)\n", session.description(), interval_s);
  const std::int64_t start = mono_ns(), step = static_cast<std::int64_t>(interval_s * 1e9);
  std::int64_t next = start + step;
  int printed = 0;
  auto table = [&](std::int64_t now) {
    fmt::print("wq_monitor at {:.3f}s:\n", static_cast<double>(now - start) / 1e9);
    for (const std::string& row : cmwq::report::wq_monitor_table(model.monitor())) fmt::print("{}\n", row);
    fmt::print("\n");
    std::fflush(stdout);
    ++printed;
  };
  std::string reason = session.run([&](std::int64_t now) {
    feed.tick(now);
    if (now >= next) {
      table(now);
      next += step;
      if (count && printed >= count) session.stop();
    }
    return static_cast<int>(std::clamp<std::int64_t>((next - now) / 1'000'000 + 1, 1, 50));
  });
  feed.flush();
  if (!count || printed < count) table(mono_ns());  // where it ended
  report_end(reason, model, session);
  return 0;
}

}  // namespace wqscope
