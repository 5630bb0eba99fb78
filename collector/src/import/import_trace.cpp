#include "import/import_trace.h"

#include "import/trace_dat.h"
#include "import/trace_stream.h"
#include "import/trace_text.h"
#include "ingest.h"
#include "kernel_stream.h"
#include "recording.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iterator>

namespace wqscope {

namespace {

constexpr std::int64_t kNever = INT64_MAX / 4;

trace::Input read(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw RecordingError(fmt::format("{}: cannot read the trace: {}", path, std::strerror(errno)));
  char head[16] = {};
  in.read(head, sizeof head);
  if (trace::is_trace_dat(std::string_view(head, static_cast<std::size_t>(in.gcount())))) return trace::read_trace_dat(path);
  in.clear();
  in.seekg(0);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return trace::parse_text(text);
}

}  // namespace

bool is_kernel_trace(std::string_view head) { return trace::is_trace_dat(head) || trace::is_text_trace(head); }

int import_kernel_trace(const std::string& path, const std::string& output, std::int64_t thresh_ns,
                        std::uint64_t storm) {
  trace::Input in = read(path);
  for (const trace::Problem& p : in.problems)
    fmt::print(stderr, "wqscope import: {}{}: skipped, {}: {}\n", path, p.line ? fmt::format(":{}", p.line) : "", p.why,
               p.text);
  if (in.malformed > in.problems.size())
    fmt::print(stderr, "wqscope import: {}: {} more unreadable lines skipped\n", path, in.malformed - in.problems.size());
  std::uint64_t n[trace::Event::Switch + 1] = {};
  for (const trace::Event& e : in.events) ++n[e.kind];
  if (!n[trace::Event::Queue] && !n[trace::Event::Activate] && !n[trace::Event::Start] && !n[trace::Event::End])
    throw RecordingError(fmt::format("{}: no workqueue events in it (read as {}: {} lines, {} other events); nothing "
                                     "imported",
                                     path, in.format, in.lines, in.skipped.size()));
  if (!n[trace::Event::Start]) {
    fmt::print(stderr, "wqscope import: {}: no workqueue_execute_start in it: items are seen queued, never run; no "
                       "lockup alerts\n",
               path);
    thresh_ns = kNever;
  }
  std::unique_ptr<Recording> rec;
  std::unique_ptr<Ingest> ingest;
  trace::Skipped skipped = trace::translate(
      in,
      [&](std::span<const std::byte> records) {
        if (!rec) {
          cmwq_event_header first;
          std::memcpy(&first, records.data(), sizeof first);
          rec = Recording::create(output, {"import " + path, 0, static_cast<std::int64_t>(first.ts), "deadlines"});
          ingest = std::make_unique<Ingest>(rec.get(), thresh_ns, Ingest::Clock::deadlines);
          ingest->watch_queue_storms(storm);
        }
        ingest->batch(0, kKernelStream, records);
      },
      thresh_ns);
  if (!rec) throw RecordingError(fmt::format("{}: no workqueue events of kworkers in it; nothing imported", path));
  std::int64_t last = ingest->trace().last_ts();
  ingest->finish(last);
  rec->count("trace_malformed", in.malformed, "lines or records of the trace that could not be read: skipped");
  rec->count("trace_lost", in.lost, "events the tracer said it lost (ring buffer overrun)");
  rec->count("trace_bh", skipped.bh, "events of BH workqueues' items (run in softirq, not by kworkers): left out");
  rec->count("trace_before", skipped.before,
             "activations, starts and ends of items queued or started before the trace began: left out");
  std::uint64_t others = 0;
  for (auto& [name, count] : in.skipped) others += count;
  rec->count("trace_other_events", others, "events other than the workqueue tracepoints and sched_switch: skipped");
  rec->finish("imported", last, 0, ingest->trace().lost());
  const Model& model = ingest->trace().primary();
  fmt::print(stderr, "wqscope import: {} ({}, {} CPUs): {} queue_work, {} activate_work, {} execute_start, {} "
                     "execute_end, {} sched_switch; {} workqueues, {} workers\n",
             path, in.format, trace::possible_cpus(in), n[trace::Event::Queue], n[trace::Event::Activate],
             n[trace::Event::Start], n[trace::Event::End], n[trace::Event::Switch], model.workqueues().size(),
             model.workers().size());
  std::string other;
  for (auto& [name, count] : in.skipped) other += fmt::format("{}{} {}", other.empty() ? "" : ", ", count, name);
  if (!other.empty()) fmt::print(stderr, "wqscope import: other events skipped: {}\n", other);
  if (skipped.bh || skipped.before || in.malformed || in.lost)
    fmt::print(stderr, "wqscope import: left out: {} events of BH workqueues, {} of items from before the trace, {} "
                       "unreadable, {} lost by the tracer\n",
               skipped.bh, skipped.before, in.malformed, in.lost);
  fmt::print(stderr, "wqscope import: {} records into {}; `wqscope stats --top {}` lists its functions\n",
             ingest->trace().records(), output, output);
  return 0;
}

}  // namespace wqscope
