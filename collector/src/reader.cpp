#include "reader.h"

#include "feed.h"
#include "sqlite_rows.h"

#include <fmt/format.h>

#include <cerrno>
#include <cmath>
#include <cstring>
#include <exception>
#include <stdexcept>
#include <unistd.h>
#include <utility>
#include <vector>

namespace wqscope {

RecordingReader::RecordingReader(const std::string& path) : path_(path) {
  if (::access(path.c_str(), R_OK) != 0)
    throw RecordingError(fmt::format("{}: cannot read the recording: {}", path, std::strerror(errno)));
  int rc = sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr);
  handle_.reset(db_);
  if (rc != SQLITE_OK)
    throw RecordingError(
        fmt::format("{}: cannot open the recording: {}", path, db_ ? sqlite3_errmsg(db_) : "out of memory"));
  sqlite3_busy_timeout(db_, 2000);  // a recording being written commits every 100 ms
  // The destructor does not run when the constructor throws: close the connection then (statements
  // below are finalized first, being destroyed before the guard).
  struct CloseOnThrow {
    sqlite3*& db;
    int pending = std::uncaught_exceptions();
    ~CloseOnThrow() {
      if (std::uncaught_exceptions() > pending) sqlite3_close(std::exchange(db, nullptr));
    }
  } guard{db_};
  int version = 0;
  bool has_run = false;
  {
    Stmt v{prepare("PRAGMA user_version")};
    if (sqlite3_step(v.s) == SQLITE_ROW) version = sqlite3_column_int(v.s, 0);
    Stmt t{prepare("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('run', 'events')")};
    has_run = sqlite3_step(t.s) == SQLITE_ROW && sqlite3_column_int(t.s, 0) == 2;
  }
  if (version > kRecordingSchemaVersion)
    fail(fmt::format("was written by a newer wqscope (recording format {}; this wqscope reads format {}): read it "
                     "with that version or newer",
                     version, kRecordingSchemaVersion));
  if (version < 1 || !has_run) fail("is a SQLite database but not a wqscope recording (no run and events tables)");
  Stmt r{prepare("SELECT command, host, kernel, end_reason, pid, possible_cpus, started_ns, ended_ns, started_unix, "
                 "events, dropped_events, lost_events FROM run WHERE id = 1")};
  rc = sqlite3_step(r.s);
  if (rc == SQLITE_DONE) fail("has no run row: it is not a complete wqscope recording");
  if (rc != SQLITE_ROW) fail(fmt::format("cannot read its run table: {}", sqlite3_errmsg(db_)));
  run_.command = column_text(r.s, 0);
  run_.host = column_text(r.s, 1);
  run_.kernel = column_text(r.s, 2);
  run_.end_reason = column_text(r.s, 3);
  run_.pid = static_cast<int>(column_int(r.s, 4));
  run_.possible_cpus = static_cast<int>(column_int(r.s, 5, 1));
  run_.started_ns = column_int(r.s, 6);
  run_.ended_ns = column_int(r.s, 7, -1);
  run_.started_unix = sqlite3_column_double(r.s, 8);
  run_.events = column_int(r.s, 9);
  run_.dropped_events = column_int(r.s, 10);
  run_.lost_events = column_int(r.s, 11);
}

RecordingReader::~RecordingReader() = default;

void RecordingReader::fail(const std::string& what) const {
  throw RecordingError(fmt::format("{}: {}", path_, what));
}

sqlite3_stmt* RecordingReader::prepare(const char* sql) const {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK) {
    int code = sqlite3_errcode(db_);
    if (code == SQLITE_NOTADB) fail("is not a SQLite database (not a wqscope recording)");
    if (code == SQLITE_CORRUPT) fail(fmt::format("is corrupt or truncated: {}", sqlite3_errmsg(db_)));
    fail(fmt::format("cannot be read: {} (is it a wqscope recording?)", sqlite3_errmsg(db_)));
  }
  return s;
}

std::int64_t RecordingReader::last_ns() const {
  Stmt s{prepare("SELECT max(ts) FROM events")};
  return sqlite3_step(s.s) == SQLITE_ROW ? column_int(s.s, 0, run_.started_ns) : run_.started_ns;
}

bool RecordingReader::replay(const Sink& sink, std::int64_t until, From from) const {
  bool go = true;
  auto step_ok = [&](sqlite3_stmt* s) {
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) return true;
    if (rc != SQLITE_DONE) fail(fmt::format("is corrupt or truncated: {}", sqlite3_errmsg(db_)));
    return false;
  };
  cmwq_event_header base{};
  base.pid = static_cast<std::uint32_t>(run_.pid);
  base.cpu = -1;
  base.ts = static_cast<std::uint64_t>(run_.started_ns);
  cmwq_ev_hello hello{};
  hello.h = base;
  hello.h.kind = CMWQ_EV_HELLO;
  hello.h.size = sizeof hello;
  hello.version = CMWQ_EVENTS_VERSION;
  hello.possible_cpus = static_cast<std::uint32_t>(run_.possible_cpus);
  Stmt names{prepare("SELECT id, kind, text FROM names ORDER BY id")};
  if (from.seq == 0) go = sink(cmwq::Record{&hello.h});  // a snapshot has both
  while (go && from.seq == 0 && step_ok(names.s)) {
    cmwq_ev_name n{};
    n.h = base;
    n.h.kind = CMWQ_EV_NAME;
    n.h.size = sizeof n;
    n.id = static_cast<std::uint32_t>(sqlite3_column_int64(names.s, 0));
    std::string kind = column_text(names.s, 1);
    n.name_kind = kind == "workqueue" ? CMWQ_NAME_WQ : kind == "function" ? CMWQ_NAME_FUNC : CMWQ_NAME_WORKER;
    std::snprintf(n.text, sizeof n.text, "%s", column_text(names.s, 2).c_str());
    go = sink(cmwq::Record{&n.h});
  }
  // The kernel's records wait in the feed until the pool's stream passes their time, as they did live.
  Feed feed([&](const cmwq::Record& r) {
    if (go) go = sink(r);
  });
  Stmt off{prepare("SELECT worker, start_ns, end_ns, state FROM off_cpu WHERE start_ns <= ? AND end_ns > ? "
                   "ORDER BY start_ns")};
  sqlite3_bind_int64(off.s, 1, until);
  sqlite3_bind_int64(off.s, 2, from.ts);
  while (step_ok(off.s)) {
    cmwq_ev_state e{};
    e.h = base;
    e.h.size = sizeof e;
    e.h.tid = static_cast<std::uint32_t>(sqlite3_column_int64(off.s, 0));
    e.worker = static_cast<std::int32_t>(e.h.tid);
    e.pool = -1;
    e.nr_active = -1;
    e.h.kind = CMWQ_EV_OFF_CPU;
    e.h.ts = static_cast<std::uint64_t>(sqlite3_column_int64(off.s, 1));
    e.flags = static_cast<std::uint32_t>(sqlite3_column_int64(off.s, 3));
    if (static_cast<std::int64_t>(e.h.ts) > from.ts) feed.kernel(e);  // else the snapshot has it
    std::int64_t end = sqlite3_column_int64(off.s, 2);
    if (end > until) continue;
    e.h.kind = CMWQ_EV_ON_CPU;
    e.arg = end - static_cast<std::int64_t>(e.h.ts);
    e.h.ts = static_cast<std::uint64_t>(end);
    e.flags = 0;
    feed.kernel(e);
  }
  Stmt ev{prepare("SELECT seq, ts, kind, tid, cpu, work, func, wq, pool, worker, flags, pool_flags, nr_running, "
                  "nr_idle, nr_workers, nr_active, arg FROM events WHERE seq > ? AND seq <= ? AND +ts <= ? "
                  "ORDER BY seq")};  // +ts: walk the seq range, not the ts index from the start
  sqlite3_bind_int64(ev.s, 1, static_cast<std::int64_t>(from.seq));
  sqlite3_bind_int64(ev.s, 2, from.last_seq);
  sqlite3_bind_int64(ev.s, 3, until);
  while (go && step_ok(ev.s)) {
    cmwq_ev_state e{};
    e.h = base;
    e.h.size = sizeof e;
    e.h.seq = static_cast<std::uint64_t>(sqlite3_column_int64(ev.s, 0));
    e.h.ts = static_cast<std::uint64_t>(sqlite3_column_int64(ev.s, 1));
    e.h.kind = static_cast<std::uint16_t>(sqlite3_column_int(ev.s, 2));
    e.h.tid = static_cast<std::uint32_t>(sqlite3_column_int64(ev.s, 3));
    e.h.cpu = sqlite3_column_int(ev.s, 4);
    e.work = static_cast<std::uint64_t>(sqlite3_column_int64(ev.s, 5));
    e.func = static_cast<std::uint32_t>(sqlite3_column_int64(ev.s, 6));
    e.wq = static_cast<std::uint32_t>(sqlite3_column_int64(ev.s, 7));
    e.pool = sqlite3_column_int(ev.s, 8);
    e.worker = sqlite3_column_int(ev.s, 9);
    e.flags = static_cast<std::uint32_t>(sqlite3_column_int64(ev.s, 10));
    e.pool_flags = static_cast<std::uint32_t>(sqlite3_column_int64(ev.s, 11));
    e.nr_running = sqlite3_column_int(ev.s, 12);
    e.nr_idle = sqlite3_column_int(ev.s, 13);
    e.nr_workers = sqlite3_column_int(ev.s, 14);
    e.nr_active = sqlite3_column_int(ev.s, 15);
    e.arg = sqlite3_column_int64(ev.s, 16);
    if (e.h.kind == 0 || e.h.kind >= CMWQ_EV_KIND_END || e.h.kind == CMWQ_EV_NAME || e.h.kind == CMWQ_EV_HELLO)
      fail(fmt::format("event {} has kind {}, which no record of this format has: the file is damaged", e.h.seq,
                       e.h.kind));
    feed.pool(std::span(reinterpret_cast<const std::byte*>(&e), sizeof e));
  }
  if (go) feed.flush();
  return go;
}

void RecordingReader::state_at(Model& model, std::int64_t at) const {
  From from;
  {
    Stmt snap{prepare("SELECT seq, ts, state FROM snapshots WHERE ts <= ? ORDER BY seq DESC LIMIT 1")};
    sqlite3_bind_int64(snap.s, 1, at);
    int rc = sqlite3_step(snap.s);
    if (rc == SQLITE_ROW) {
      auto* bytes = static_cast<const std::uint8_t*>(sqlite3_column_blob(snap.s, 2));
      try {
        model.restore({bytes, static_cast<std::size_t>(sqlite3_column_bytes(snap.s, 2))});
      } catch (const std::exception& e) {
        fail(fmt::format("has a damaged snapshot at event {}: {}", sqlite3_column_int64(snap.s, 0), e.what()));
      }
      from = {static_cast<std::uint64_t>(sqlite3_column_int64(snap.s, 0)), sqlite3_column_int64(snap.s, 1)};
    } else if (rc != SQLITE_DONE) {
      fail(fmt::format("is corrupt or truncated: {}", sqlite3_errmsg(db_)));
    }
    Stmt next{prepare("SELECT min(seq) FROM snapshots WHERE ts > ?")};
    sqlite3_bind_int64(next.s, 1, at);
    if (sqlite3_step(next.s) == SQLITE_ROW) from.last_seq = column_int(next.s, 0, INT64_MAX);
  }
  replay(
      [&](const cmwq::Record& r) {
        model.apply(r);
        return true;
      },
      at, from);
}

std::int64_t parse_instant(const std::string& text, const RunInfo& run) {
  auto bad = [&] {
    return std::invalid_argument(fmt::format("--at '{}' is not an instant: give seconds from the start of the recording "
                                             "(12.5, 12.5s, 800ms) or @NS on the target's CLOCK_MONOTONIC",
                                             text));
  };
  if (text.starts_with("@")) {
    std::size_t used = 0;
    long long ns = 0;
    try {
      ns = std::stoll(text.substr(1), &used);
    } catch (const std::exception&) {
      throw bad();
    }
    if (used + 1 != text.size() || ns < 0) throw bad();
    return ns;
  }
  std::size_t used = 0;
  double v = 0;
  try {
    v = std::stod(text, &used);
  } catch (const std::exception&) {
    throw bad();
  }
  std::string unit = text.substr(used);
  double scale = unit.empty() || unit == "s" ? 1e9 : unit == "ms" ? 1e6 : 0;
  if (!scale || !std::isfinite(v) || v < 0 || v > 1e7) throw bad();
  return run.started_ns + static_cast<std::int64_t>(std::llround(v * scale));
}

}  // namespace wqscope
