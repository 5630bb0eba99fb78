#include "export.h"

#include "alert_kind.h"
#include "sqlite_rows.h"
#include "untrusted.h"

#include <cmwq/report.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fcntl.h>
#include <initializer_list>
#include <map>
#include <set>
#include <string_view>
#include <tuple>
#include <unistd.h>
#include <unordered_map>
#include <utility>

namespace wqscope {

namespace {

using nlohmann::json;

/// The output: created exclusively, written one event at a time (never the whole trace in memory),
/// removed unless it was finished.
class TraceFile {
 public:
  explicit TraceFile(std::string path) : path_(std::move(path)) {
    int fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 && errno == EEXIST)
      throw ExportError(fmt::format("{}: already exists; wqscope never overwrites a file, choose another "
                                    "--perfetto or remove it",
                                    path_));
    if (fd < 0) throw ExportError(fmt::format("{}: cannot create it: {}", path_, std::strerror(errno)));
    f_ = ::fdopen(fd, "w");
    if (!f_) {
      int err = errno;
      ::close(fd);
      ::unlink(path_.c_str());
      throw ExportError(fmt::format("{}: cannot write it: {}", path_, std::strerror(err)));
    }
    put("{\"traceEvents\":[\n");
  }
  ~TraceFile() {
    if (!f_) return;
    std::fclose(f_);
    ::unlink(path_.c_str());
  }
  TraceFile(const TraceFile&) = delete;
  TraceFile& operator=(const TraceFile&) = delete;

  void event(const json& e) {
    if (events_++) put(",\n");
    put(dump(e));
  }
  /// Closes the events' array and adds the object's other keys.
  void finish(const json& rest) {
    put("\n],");
    put(dump(rest).substr(1));
    put("\n");
    if (std::fflush(f_) != 0) fail(errno);
    if (std::fclose(std::exchange(f_, nullptr)) != 0) {
      int err = errno;
      ::unlink(path_.c_str());
      throw ExportError(message(err));
    }
  }
  std::uint64_t events() const { return events_; }
  std::uint64_t bytes() const { return bytes_; }

 private:
  // Names come from the target's memory, and the strings of a recording's tables and run row from whoever
  // wrote the file: every string printable (untrusted.h), as the terminal commands print them.
  static std::string dump(json j) {
    make_printable(j);
    return json_text(j);
  }
  void put(std::string_view s) {
    if (std::fwrite(s.data(), 1, s.size(), f_) != s.size()) fail(errno);
    bytes_ += s.size();
  }
  std::string message(int err) const {
    return fmt::format("{}: cannot write it: {}{}", path_, std::strerror(err),
                       err == ENOSPC ? " (the disk is full: free space or export elsewhere)" : "");
  }
  [[noreturn]] void fail(int err) {
    std::fclose(std::exchange(f_, nullptr));
    ::unlink(path_.c_str());
    throw ExportError(message(err));
  }
  std::string path_;
  std::FILE* f_ = nullptr;
  std::uint64_t events_ = 0, bytes_ = 0;
};

/// The task state of an off-CPU wait as ps prints it.
std::string task_state(std::int64_t s) {
  if (s == 0) return "R";  // preempted
  for (auto [bit, letter] : {std::pair{1, "S"}, {2, "D"}, {4, "T"}, {8, "t"}})
    if (s & bit) return letter;
  return fmt::format("{:#x}", s);
}

class Exporter {
 public:
  Exporter(const RecordingReader& reader, TraceFile& out)
      : reader_(reader), run_(reader.run()), out_(out), db_(reader.connection()) {
    end_ns_ = run_.ended_ns >= 0 ? run_.ended_ns : reader.last_ns();
  }
  Exporter(const Exporter&) = delete;
  Exporter& operator=(const Exporter&) = delete;

  ExportSummary write() {
    meta(run_.pid, "process_name", run_.command.empty() ? fmt::format("pid {}", run_.pid) : run_.command);
    replay();
    threads();
    slices();
    if (has("mayday_episodes")) episodes();
    if (has("alerts")) alerts();
    for (int tid : used_)  // threads the workers table does not know: still named, as viewers expect
      if (!named_.count(tid)) meta(tid, "thread_name", fmt::format("thread {}", tid));
    out_.finish({{"displayTimeUnit", "ns"},
                 {"otherData",
                  {{"recording", reader_.path()}, {"command", run_.command}, {"host", run_.host},
                   {"kernel", run_.kernel}, {"started_unix", run_.started_unix}, {"end_reason", run_.end_reason},
                   {"events", run_.events}, {"dropped_events", run_.dropped_events},
                   {"lost_events", run_.lost_events}, {"exported_by", "wqscope export"}}}});
    sum_.trace_events = out_.events();
    sum_.bytes = out_.bytes();
    return sum_;
  }

 private:
  double us(std::int64_t ns) const { return static_cast<double>(ns - run_.started_ns) / 1e3; }
  bool has(const char* table) {  // recordings older than a table lack it
    Cursor q(db_, reader_.path(),
             fmt::format("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = '{}'", table).c_str());
    return q.next();
  }
  json event(const char* ph, const std::string& name, const char* cat, std::int64_t ts) const {
    return {{"ph", ph}, {"name", name}, {"cat", cat}, {"pid", run_.pid}, {"ts", us(ts)}};
  }
  void meta(int tid, const char* what, const std::string& name) {
    json e = {{"ph", "M"}, {"name", what}, {"pid", run_.pid}, {"args", {{"name", name}}}};
    if (std::string_view(what) != "process_name") {
      e["tid"] = tid;
      named_.insert(tid);
    }
    out_.event(e);
  }
  void slice(json e, int tid, std::int64_t start, std::int64_t end) {
    e["tid"] = tid;
    e["dur"] = static_cast<double>(end - start) / 1e3;
    used_.insert(tid);
    out_.event(e);
  }
  std::string identity(const Model& m, int pool) const {
    auto p = m.pools().find(pool);
    return p == m.pools().end() ? std::string() : m.pool_identity(p->second);
  }
  std::string wq_name(const Model& m, std::int64_t id) const {
    auto q = m.workqueues().find(static_cast<std::uint32_t>(id));
    return q == m.workqueues().end() ? fmt::format("workqueue {}", id) : q->second.name;
  }

  void replay();
  void record(const Model&, const cmwq::Record&);
  void threads();
  void slices();
  void item(const Cursor&);
  void episodes();
  void alerts();

  const RecordingReader& reader_;
  const RunInfo& run_;
  TraceFile& out_;
  sqlite3* db_;  // the reader's
  std::int64_t end_ns_ = 0;  // of items and episodes still open when the recording ended
  Trace trace_;
  std::set<int> used_, named_;
  ExportSummary sum_;
};

/// Counters from the model, sampled after all records of one instant (a burst of queueings at one
/// time is one step, not a spike per record) and only when they changed; maydays and the pool's own
/// lockup reports as they come.
void Exporter::replay() {
  std::int64_t at = INT64_MIN;
  std::map<std::pair<int, int>, std::tuple<int, int, int>> shown;  // by (stream, pool)
  auto sample = [&] {
    for (auto& [stream, model] : trace_.models())
    for (auto& [id, p] : model.pools()) {
      auto now = std::tuple{p.pending, p.nr_running, p.nr_workers};
      auto [it, fresh] = shown.try_emplace({stream, id}, now);
      if (!fresh && it->second == now) continue;
      it->second = now;
      // One counter per pool with three series: Perfetto shows "pool 0 pending" etc. as tracks.
      std::string track = trace_.models().size() > 1 ? fmt::format("stream {} pool {}", stream, id)
                                                      : fmt::format("pool {}", id);
      json e = event("C", track, "pool", at);
      e["args"] = {{"pending", p.pending}, {"nr_running", p.nr_running}, {"workers", p.nr_workers}};
      out_.event(e);
    }
  };
  reader_.replay([&](int stream, const cmwq::Record& r) {
    if (r.h->kind == CMWQ_EV_CHECK) return true;
    ++sum_.records;
    if (r.h->kind == CMWQ_EV_NAME) {  // met before its first use; its time is not a step of the counters
      trace_.apply(stream, r);
      return true;
    }
    auto ts = static_cast<std::int64_t>(r.h->ts);
    if (ts != at && at != INT64_MIN) sample();
    at = ts;
    trace_.route(stream, [&](int, Model& m) {
      m.apply(r);
      record(m, r);
    });
    return true;
  });
  if (at != INT64_MIN) sample();
}

void Exporter::record(const Model& m, const cmwq::Record& r) {
  if (r.h->kind != CMWQ_EV_MAYDAY && r.h->kind != CMWQ_EV_LOCKUP) return;
  const cmwq_ev_state& e = *r.state();
  auto ts = static_cast<std::int64_t>(e.h.ts);
  if (e.h.kind == CMWQ_EV_LOCKUP) {  // the pool's own watchdog, in the kernel's words
    json i = event("i", cmwq::lockup_line(identity(m, e.pool), e.arg), "pool watchdog", ts);
    i["s"] = "p";
    i["args"] = {{"pool", e.pool}, {"stuck_ms", e.arg / 1'000'000}};
    out_.event(i);
  } else if (e.work) {  // work 0: a rescuer put the pwq back, no new call
    std::string wq = wq_name(m, e.wq);
    json i = event("i", "mayday: " + wq, "mayday", ts);
    i["s"] = "p";
    i["args"] = {{"pool", e.pool}, {"workqueue", wq}, {"function", m.name(e.func)}};
    out_.event(i);
  }
}

/// A track per worker, named as the kernel's dump describes it; sorted by pool, rescuers last.
void Exporter::threads() {
  Cursor w(db_, reader_.path(),
           "SELECT pid, pool, rescuer_of, stream FROM workers ORDER BY stream, rescuer_of IS NOT NULL, pool, pid");
  int order = 0;
  while (w.next()) {
    int pid = static_cast<int>(w.i(0)), pool = static_cast<int>(w.i(1));
    const Model& m = trace_.model(static_cast<int>(w.i(3)));
    std::string name = !w.null(2) ? "rescuer of " + wq_name(m, w.i(2))
                       : identity(m, pool).empty() ? fmt::format("worker {} (pool {})", pid, pool)
                                                   : fmt::format("worker {} (pool {}:{})", pid, pool, identity(m, pool));
    meta(pid, "thread_name", name);
    out_.event({{"ph", "M"}, {"name", "thread_sort_index"}, {"pid", run_.pid}, {"tid", pid},
                {"args", {{"sort_index", order++}}}});
  }
}

/// Items and off-CPU waits, merged per worker so that each wait is written after the item it lies
/// in (viewers nest slices of equal start in file order) and clipped to it if the clocks disagree,
/// so that slices of one track never partially overlap. Items that never started have no slice.
void Exporter::slices() {
  Cursor items(db_, reader_.path(),
               "SELECT worker, started_ns, coalesce(ended_ns, ?), func, wq, pool, work, queued_ns, activated_ns, "
               "cpu_ns, canceled, ended_ns IS NULL FROM work_items WHERE started_ns IS NOT NULL AND worker IS NOT "
               "NULL ORDER BY worker, started_ns",
               {end_ns_});
  bool have = items.next();
  if (have) item(items);
  if (!has("off_cpu")) {
    while (have && (have = items.next())) item(items);
    return;
  }
  Cursor off(db_, reader_.path(),
             "SELECT worker, start_ns, end_ns, state, func, hidden FROM off_cpu ORDER BY worker, start_ns");
  while (off.next()) {
    std::int64_t worker = off.i(0), start = off.i(1), end = off.i(2);
    if (end < start) continue;  // not a wait: viewers refuse negative durations
    while (have && (items.i(0) < worker || (items.i(0) == worker && items.i(2) <= start)))
      if ((have = items.next())) item(items);
    if (have && items.i(0) == worker && items.i(1) < end) {
      start = std::max(start, items.i(1));
      end = std::min(end, items.i(2));
    }
    bool hidden = off.i(5) == 1;
    json e = event("X", hidden ? "blocked without telling the pool" : fmt::format("off-CPU ({})", task_state(off.i(3))),
                   "off_cpu", start);
    e["args"] = {{"state", task_state(off.i(3))}, {"hidden", hidden}};
    if (!off.s(4).empty()) e["args"]["function"] = off.s(4);
    slice(std::move(e), static_cast<int>(worker), start, end);
  }
  while (have && (have = items.next())) item(items);
}

void Exporter::item(const Cursor& c) {
  std::int64_t start = c.i(1), queued = c.i(7), activated = c.i(8);
  json e = event("X", c.s(3), "work", start);
  json& a = e["args"];
  a = {{"workqueue", c.s(4)}, {"pool", c.i(5)}, {"work", fmt::format("{:#x}", c.i(6))}, {"canceled", c.i(10) == 1}};
  if (queued >= 0) {
    a["queued_us"] = us(queued);
    a["wait_us"] = static_cast<double>(start - queued) / 1e3;
  }
  if (activated >= 0) a["activated_us"] = us(activated);
  if (!c.null(9)) a["cpu_ns"] = c.i(9);
  if (c.i(11) == 1) a["unfinished"] = "still running when the recording ended";
  slice(std::move(e), static_cast<int>(c.i(0)), start, c.i(2));
  ++sum_.items;
}

/// Calls for rescue as async slices of the process: from the first mayday until workers are back.
void Exporter::episodes() {
  Cursor c(db_, reader_.path(),
           "SELECT id, pool, started_ns, coalesce(ended_ns, ?), maydays, rescued, workqueues, ended_ns IS NULL "
           "FROM mayday_episodes ORDER BY id",
           {end_ns_});
  while (c.next()) {
    std::string name = fmt::format("pool {} calling for rescue", c.i(1));
    json b = event("b", name, "mayday", c.i(2));
    b["id"] = c.i(0);
    b["args"] = {{"pool", c.i(1)}, {"maydays", c.i(4)}, {"rescued", c.i(5)}, {"workqueues", c.s(6)}};
    if (c.i(7) == 1) b["args"]["open"] = "still calling when the recording ended";
    out_.event(b);
    json e = event("e", name, "mayday", c.i(3));
    e["id"] = c.i(0);
    out_.event(e);
  }
}

/// What the collector raised, in its words (the kernel's for lockups), on the global instant track.
void Exporter::alerts() {
  Cursor c(db_, reader_.path(),
           "SELECT kind, pool, wq, message, detected_ns, stuck_ns, waiting FROM alerts ORDER BY id");
  while (c.next()) {
    json i = event("i", c.s(3), "alert", c.i(4));
    i["s"] = "g";
    i["args"] = {{"kind", c.s(0)}, {"stuck_ms", c.i(5, 0) / 1'000'000}};
    if (!c.null(1)) i["args"]["pool"] = c.i(1);
    if (!c.s(2).empty()) i["args"][alert_kind(c.s(0)) == AlertKind::CpuHog ? "function" : "workqueue"] = c.s(2);
    if (!c.null(6)) i["args"]["waiting"] = c.i(6);
    out_.event(i);
  }
}

}  // namespace

ExportSummary export_perfetto(const RecordingReader& reader, const std::string& path) {
  TraceFile out(path);
  Exporter x(reader, out);
  return x.write();
}

}  // namespace wqscope
