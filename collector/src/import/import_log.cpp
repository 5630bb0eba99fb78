#include "import/import_log.h"

#include "import/kernel_log.h"
#include "import/report_stream.h"
#include "ingest.h"
#include "model.h"
#include "recording.h"

#include <cmwq/events.h>
#include <cmwq/records.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <iterator>

namespace wqscope {

namespace {

using namespace kernel_log;

constexpr std::int64_t kNever = INT64_MAX / 4;  // a watchdog threshold no report reaches
constexpr std::size_t kProblemsShown = 20;

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RecordingError(fmt::format("{}: cannot read the log: {}", path, std::strerror(errno)));
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

/// What the model holds at a report's instant, counted as its dump lists it.
std::string counts(const Model& model, std::int64_t at) {
  cmwq::report::Busy busy = model.busy(at);
  std::size_t wqs = 0, pwqs = 0, in_flight = 0, pending = 0, inactive = 0, pools = 0;
  for (const auto& w : busy.workqueues) {
    bool listed = false;
    for (const auto& p : w.pwqs) {
      if (!p.nr_active && p.inactive.empty()) continue;
      listed = true;
      ++pwqs;
      in_flight += p.in_flight.size();
      for (const auto& i : p.pending) pending += i.barrier_pid == 0;
      for (const auto& i : p.inactive) inactive += i.barrier_pid == 0;
    }
    wqs += listed;
  }
  for (const auto& p : busy.pools) pools += p.nr_workers != p.nr_idle || p.printed;
  return fmt::format("{} workqueues, {} pwqs, {} in flight, {} pending, {} inactive, {} pools", wqs, pwqs, in_flight,
                     pending, inactive, pools);
}

/// A task of the backtrace section on one line: who, in which state and item, and its stack, innermost first.
std::string backtrace(const Task& t) {
  std::string frames;
  for (const std::string& f : t.stack)
    if (f != "<TASK>" && f != "</TASK>" && f != "Call Trace:") frames += (frames.empty() ? "" : " < ") + f;
  return fmt::format("{} (pid {}, state {}){}: {}", t.comm, t.pid, t.state,
                     t.wq.empty() ? "" : fmt::format(" in {} {}", t.wq, t.func), frames);
}

}  // namespace

bool is_event_stream(std::span<const std::byte> head) {
  if (head.size() < sizeof(cmwq_event_header)) return false;
  cmwq_event_header h;
  std::memcpy(&h, head.data(), sizeof h);
  return h.kind == CMWQ_EV_HELLO && h.size == sizeof(cmwq_ev_hello);
}

int import_kernel_log(const std::string& path, const std::string& output) {
  const std::string text = read_file(path);
  Log log = parse(text);
  for (std::size_t i = 0; i < log.problems.size() && i < kProblemsShown; ++i)
    fmt::print(stderr, "wqscope import: {}:{}: skipped, {}: {}\n", path, log.problems[i].line, log.problems[i].why,
               log.problems[i].text.substr(0, 200));
  if (log.problems.size() > kProblemsShown)
    fmt::print(stderr, "wqscope import: {}: {} more lines skipped\n", path, log.problems.size() - kProblemsShown);
  if (log.reports.empty())
    throw RecordingError(fmt::format("{}: no workqueue report in it (no \"BUG: workqueue lockup\" or \"Showing busy "
                                     "workqueues and worker pools:\" line in {} lines); nothing imported",
                                     path, log.lines));
  std::vector<std::int64_t> at = ReportStream::instants(log);
  ReportStream stream(ReportStream::possible_cpus(log));
  std::unique_ptr<Recording> rec;
  std::unique_ptr<Ingest> ingest;
  // The reports' records go through the one ingest pipeline, as the kernel's stream (pid 0, system 0);
  // the reports' own lockup lines are their alerts: no watchdog of ours second-guesses them.
  auto apply = [&] {
    std::vector<std::byte> records;
    records.swap(stream.records());
    if (records.empty()) return;
    if (!rec) {
      cmwq_event_header first;
      std::memcpy(&first, records.data(), sizeof first);
      rec = Recording::create(output, {"import " + path, 0, static_cast<std::int64_t>(first.ts), "deadlines"});
      ingest = std::make_unique<Ingest>(rec.get(), kNever, Ingest::Clock::deadlines);
    }
    ingest->batch(0, CMWQ_STREAM_ID(0, 1), records);
  };
  for (std::size_t k = 0; k < log.reports.size(); ++k) {
    const Report& r = log.reports[k];
    stream.add(r, at[k], static_cast<std::int64_t>(k + 1));
    apply();
    for (const Lockup& l : r.lockups)
      rec->on_alert(1, Alert{AlertKind::Lockup, ReportStream::pool_of(r, l), "", l.pool, l.line, at[k],
                             ReportStream::age_ns(l.stuck_s), 0});
    for (const Hog& h : r.hogs) rec->on_alert(1, Alert{AlertKind::CpuHog, -1, h.func, "", h.line, at[k], 0, 0});
    for (const Task& t : r.tasks)
      rec->on_alert(1, Alert{AlertKind::Backtrace, t.pool, t.comm, "", backtrace(t), at[k], 0, 0});
    fmt::print(stderr, "wqscope import: report {} (lines {}-{}) at @{}: {}, {} lockups, {} hog warnings, {} tasks\n",
               k + 1, r.first_line, r.last_line, at[k], counts(ingest->trace().primary(), at[k]), r.lockups.size(), r.hogs.size(),
               r.tasks.size());
  }
  std::int64_t end = at.back() + 1'000'000;  // 1 ms after the last report
  stream.finish(end);
  apply();
  ingest->finish(end);
  std::int64_t last = std::max(end, ingest->trace().last_ts());
  rec->finish("imported", last, 0, ingest->trace().lost());
  fmt::print(stderr, "wqscope import: {} reports, {} records from {} into {}; `wqscope show {} --at @NS` prints one\n",
             log.reports.size(), ingest->trace().records(), path, output, output);
  return 0;
}

}  // namespace wqscope
