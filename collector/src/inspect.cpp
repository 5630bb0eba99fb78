#include "inspect.h"

#include "feed.h"
#include "reader.h"
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

}  // namespace

int show(const std::string& db, const std::optional<std::string>& at, std::int64_t thresh_ns) {
  RecordingReader reader(db);
  const RunInfo& run = reader.run();
  std::int64_t last = reader.last_ns();
  std::int64_t t = at ? parse_instant(*at, run) : std::max(last, run.ended_ns);
  if (t < run.started_ns)
    throw std::invalid_argument(fmt::format("--at is before the recording began (@{})", run.started_ns));
  Model model;
  reader.state_at(model, t);
  fmt::print("# {}: {} at {} (@{}){}\n", db, printable(run.command), seconds(t - run.started_ns), t,
             t > last ? fmt::format(", {} after the last event", seconds(t - last)) : "");
  // The stalls a watch with this threshold would be reporting at that instant.
  Watchdog dog(thresh_ns);
  for (const Alert& a : dog.check(model, t)) fmt::print("{}\n", a.message);
  for (const std::string& line : cmwq::report::show_busy(model.busy(t))) fmt::print("{}\n", line);
  return 0;
}

int stats(const std::string& db, std::optional<double> interval_s) {
  RecordingReader reader(db);
  const RunInfo& run = reader.run();
  Model model;
  auto table = [&](std::int64_t t) {
    fmt::print("wq_monitor at {}:\n", seconds(t - run.started_ns));
    for (const std::string& row : cmwq::report::wq_monitor_table(model.monitor())) fmt::print("{}\n", row);
  };
  std::int64_t step = interval_s ? static_cast<std::int64_t>(*interval_s * 1e9) : 0;
  std::int64_t next = run.started_ns + step;
  reader.replay([&](const cmwq::Record& r) {
    for (; step && static_cast<std::int64_t>(r.h->ts) > next; next += step) {
      table(next);
      fmt::print("\n");
    }
    model.apply(r);
    return true;
  });
  table(std::max(model.last_ts(), run.ended_ns));
  return 0;
}

int replay(const std::string& db, const ReplayOptions& opt) {
  RecordingReader reader(db);
  const RunInfo& run = reader.run();
  Model model;
  Watchdog dog(opt.thresh_ns);
  model.add_observer(&dog);
  AlertPrinter printer(opt.out, run.pid);
  auto print = [&](const std::vector<Alert>& alerts) { printer.print(alerts, model); };
  auto wall0 = std::chrono::steady_clock::now();
  reader.replay([&](const cmwq::Record& r) {
    auto ts = static_cast<std::int64_t>(r.h->ts);
    if (opt.speed > 0)
      std::this_thread::sleep_until(wall0 + std::chrono::nanoseconds(static_cast<std::int64_t>(
                                                static_cast<double>(ts - run.started_ns) / opt.speed)));
    dog.catch_up(model, ts - 1, print);  // what was due before this record
    model.apply(r);
    return true;
  });
  // Up to the end of the recording: a pool stuck when it ended was stuck until then.
  dog.catch_up(model, std::max(model.last_ts(), run.ended_ns), print);
  fmt::print(stderr, "wqscope replay: {}: {} events, {} alert(s)\n", db, model.records(), printer.count());
  return 0;
}

int import_events(const std::string& events, const std::string& output, std::int64_t thresh_ns) {
  std::ifstream in(events, std::ios::binary);
  if (!in) throw RecordingError(fmt::format("{}: cannot read the event stream", events));
  std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(chars.data()), chars.size());
  // Validate the whole stream first: a bad file makes no recording.
  cmwq_event_header first{};
  cmwq::for_each_record(bytes, [&](const cmwq::Record& r) {
    if (!first.kind) first = *r.h;
  });
  if (!first.kind) throw RecordingError(fmt::format("{}: no records in it", events));
  auto rec = Recording::create(output, {"import " + events, static_cast<int>(first.pid),
                                        static_cast<std::int64_t>(first.ts)});
  Model model(rec.get());
  model.start_over_after_gaps();
  Watchdog dog(thresh_ns);
  model.add_observer(&dog);
  auto note = [&](const std::vector<Alert>& alerts) {
    for (const Alert& a : alerts) rec->on_alert(a);
  };
  Feed feed([&](const cmwq::Record& r) {
    dog.catch_up(model, static_cast<std::int64_t>(r.h->ts) - 1, note);
    rec->add(r);
    model.apply(r);
    rec->snapshot_if_due(model);
  });
  feed.pool(bytes);
  feed.flush();
  dog.catch_up(model, model.last_ts(), note);
  model.finish();
  rec->finish("imported", model.last_ts(), 0, model);
  fmt::print(stderr, "wqscope import: {} records from {} into {}\n", model.records(), events, output);
  return 0;
}

}  // namespace wqscope
