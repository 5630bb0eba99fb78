#include "inspect.h"

#include "ingest.h"
#include "reader.h"
#include "top.h"
#include "recording.h"
#include "untrusted.h"
#include "watchdog.h"

#include <cmwq/report.h>

#include <fmt/format.h>

#include <chrono>
#include <fstream>
#include <iterator>
#include <thread>

namespace wqscope {

namespace {

std::string seconds(std::int64_t ns) { return fmt::format("{:.3f}s", static_cast<double>(ns) / 1e9); }

/// "# stream 2 (System 2 of pid 1234)" before each stream's part, when there is more than one.
using Streams = std::map<int, std::pair<std::uint32_t, std::uint32_t>>;  // RecordingReader::streams()

void stream_heading(const Streams& streams, const Trace& trace, int stream) {
  if (trace.models().size() < 2) return;
  auto it = streams.find(stream);
  if (it == streams.end()) fmt::print("# stream {}\n", stream);
  else if (it->second.first == 0) fmt::print("# stream {} (the kernel's workqueues)\n", stream);
  else fmt::print("# stream {} (System {} of pid {})\n", stream, it->second.second, it->second.first);
}

}  // namespace

int show(const std::string& db, const std::optional<std::string>& at, std::int64_t thresh_ns) {
  RecordingReader reader(db);
  const RunInfo& run = reader.run();
  std::int64_t last = reader.last_ns();
  std::int64_t t = at ? parse_instant(*at, run) : std::max(last, run.ended_ns);
  if (t < run.started_ns)
    throw std::invalid_argument(fmt::format("--at is before the recording began (@{})", run.started_ns));
  Trace trace;
  reader.state_at(trace, t);
  fmt::print("# {}: {} at {} (@{}){}\n", db, printable(run.command), seconds(t - run.started_ns), t,
             t > last ? fmt::format(", {} after the last event", seconds(t - last)) : "");
  Streams streams = reader.streams();
  for (auto& [id, model] : trace.models()) {
    stream_heading(streams, trace, id);
    // The stalls a watch with this threshold would be reporting at that instant.
    Watchdog dog(thresh_ns);
    for (const Alert& a : dog.check(model, t)) fmt::print("{}\n", a.message);
    for (const std::string& line : cmwq::report::show_busy(model.busy(t))) fmt::print("{}\n", line);
  }
  return 0;
}

int stats(const std::string& db, std::optional<double> interval_s, int top) {
  RecordingReader reader(db);
  const RunInfo& run = reader.run();
  std::map<int, TopFunctions> tops;  // by stream: each interval's
  Trace trace([&](int stream, Model& m) { m.add_observer(&tops[stream]); });
  Streams streams = reader.streams();  // once: a table per interval names them
  std::int64_t from = run.started_ns;
  auto table = [&](std::int64_t t) {
    fmt::print("{} at {}:\n", top ? "top functions" : "wq_monitor", seconds(t - run.started_ns));
    for (auto& [id, model] : trace.models()) {
      stream_heading(streams, trace, id);
      std::vector<std::string> rows = top ? tops[id].tables(t - from, top) : cmwq::report::wq_monitor_table(model.monitor());
      for (const std::string& row : rows) fmt::print("{}\n", row);
      tops[id] = TopFunctions{};
    }
    from = t;
  };
  std::int64_t step = interval_s ? static_cast<std::int64_t>(*interval_s * 1e9) : 0;
  std::int64_t next = run.started_ns + step;
  reader.replay([&](int stream, const cmwq::Record& r) {
    for (; step && r.h->kind != CMWQ_EV_NAME && static_cast<std::int64_t>(r.h->ts) > next; next += step) {
      table(next);
      fmt::print("\n");
    }
    if (r.h->kind != CMWQ_EV_CHECK) trace.apply(stream, r);
    return true;
  });
  table(std::max(trace.last_ts(), run.ended_ns));
  return 0;
}

int replay(const std::string& db, const ReplayOptions& opt) {
  RecordingReader reader(db);
  const RunInfo& run = reader.run();
  AlertPrinter printer(opt.out, run.pid);
  // The watchdog looks where the recording's did: at the live collector's checks, or at deadlines.
  Ingest ingest(nullptr, opt.thresh_ns, run.clock == "live" ? Ingest::Clock::checks : Ingest::Clock::deadlines,
                [&](int, const std::vector<Alert>& alerts, const Model& model) { printer.print(alerts, model); });
  ingest.watch_queue_storms(opt.storm);
  auto wall0 = std::chrono::steady_clock::now();
  reader.replay([&](int stream, const cmwq::Record& r) {
    auto ts = static_cast<std::int64_t>(r.h->ts);
    if (opt.speed > 0)
      std::this_thread::sleep_until(wall0 + std::chrono::nanoseconds(static_cast<std::int64_t>(
                                                static_cast<double>(ts - run.started_ns) / opt.speed)));
    ingest.replayed(stream, r);
    return true;
  });
  // Up to the end of the recording: a pool stuck when it ended was stuck until then.
  ingest.finish(std::max(ingest.trace().last_ts(), run.ended_ns));
  fmt::print(stderr, "wqscope replay: {}: {} events, {} alert(s)\n", db, ingest.trace().records(), printer.count());
  return 0;
}

int import_events(const std::string& events, const std::string& output, std::int64_t thresh_ns) {
  std::ifstream in(events, std::ios::binary);
  if (!in) throw RecordingError(fmt::format("{}: cannot read the event stream", events));
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(chars.data()), chars.size());
  // Validate the whole stream first: a bad file makes no recording.
  cmwq_event_header first{};
  std::uint32_t system = 1;
  cmwq::for_each_record(bytes, [&](const cmwq::Record& r) {
    if (first.kind) return;
    first = *r.h;
    if (r.h->kind == CMWQ_EV_HELLO) system = r.hello()->system;
  });
  if (!first.kind) throw RecordingError(fmt::format("{}: no records in it", events));
  Recording::Meta meta{"import " + events, static_cast<int>(first.pid), static_cast<std::int64_t>(first.ts), "deadlines"};
  auto rec = Recording::create(output, meta);
  Ingest ingest(rec.get(), thresh_ns, Ingest::Clock::deadlines);
  try {
    ingest.batch(first.pid, CMWQ_STREAM_ID(system, 1), bytes);
    ingest.finish(ingest.trace().last_ts());
  } catch (const std::exception& e) {
    rec->abandon(e, ingest.trace().last_ts(), 0, ingest.trace().lost());
  }
  rec->finish("imported", ingest.trace().last_ts(), 0, ingest.trace().lost());
  fmt::print(stderr, "wqscope import: {} records from {} into {}\n", ingest.trace().records(), events, output);
  return 0;
}

}  // namespace wqscope
