#include "reader.h"

#include "feed.h"
#include "sqlite_rows.h"

#include <duration.h>
#include <fmt/format.h>

#include <algorithm>
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
  open_db(path, SQLITE_OPEN_READONLY);
  // A finished recording (WAL mode, no -wal: no writer has it open) in a directory this user cannot
  // write, e.g. read by a member of its --group: SQLite would create its -shm to read it and cannot.
  // Nothing changes it any more, so it reads as immutable, without the -shm.
  int rc = sqlite3_exec(db_, "SELECT 1 FROM sqlite_master LIMIT 1", nullptr, nullptr, nullptr);
  if ((rc == SQLITE_READONLY || rc == SQLITE_CANTOPEN) && ::access((path + "-wal").c_str(), F_OK) != 0) {
    std::string uri = "file:";
    for (char c : path) uri += c == '%' ? "%25" : c == '?' ? "%3f" : c == '#' ? "%23" : std::string(1, c);
    open_db(uri + "?immutable=1", SQLITE_OPEN_READONLY | SQLITE_OPEN_URI);
  }
  int version = 0;
  bool has_run = false;
  {
    Cursor v(db_, path_, "PRAGMA user_version");
    if (v.next()) version = static_cast<int>(v.i(0, 0));
    Cursor t(db_, path_, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name IN ('run', 'events')");
    has_run = t.next() && t.i(0) == 2;
  }
  if (version > kRecordingSchemaVersion)
    fail(fmt::format("was written by a newer wqscope (recording format {}; this wqscope reads format {}): read it "
                     "with that version or newer",
                     version, kRecordingSchemaVersion));
  if (version < 1 || !has_run) fail("is a SQLite database but not a wqscope recording (no run and events tables)");
  Cursor r(db_, path_,
           "SELECT command, host, kernel, end_reason, pid, possible_cpus, started_ns, ended_ns, started_unix, "
           "events, dropped_events, lost_events FROM run WHERE id = 1");
  if (!r.next()) fail("has no run row: it is not a complete wqscope recording");
  run_.command = r.s(0);
  run_.host = r.s(1);
  run_.kernel = r.s(2);
  run_.end_reason = r.s(3);
  run_.pid = static_cast<int>(r.i(4, 0));
  run_.possible_cpus = static_cast<int>(r.i(5, 1));
  run_.started_ns = r.i(6, 0);
  run_.ended_ns = r.i(7, -1);
  run_.started_unix = r.d(8);
  run_.events = r.i(9, 0);
  run_.dropped_events = r.i(10, 0);
  run_.lost_events = r.i(11, 0);
}

void RecordingReader::open_db(const std::string& name, int flags) {
  handle_.reset();
  db_ = nullptr;
  int rc = sqlite3_open_v2(name.c_str(), &db_, flags, nullptr);
  handle_.reset(db_);
  if (rc != SQLITE_OK)
    throw RecordingError(
        fmt::format("{}: cannot open the recording: {}", path_, db_ ? sqlite3_errmsg(db_) : "out of memory"));
  sqlite3_busy_timeout(db_, 2000);  // a recording being written commits every 100 ms
  // The file may come from anyone: no SQL functions from its schema (views, triggers), no writes
  // that could corrupt it (SQLite's advice for untrusted databases).
  sqlite3_db_config(db_, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, nullptr);
  sqlite3_db_config(db_, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
}

RecordingReader::~RecordingReader() = default;

void RecordingReader::fail(const std::string& what) const {
  throw RecordingError(fmt::format("{}: {}", path_, what));
}

std::int64_t RecordingReader::last_ns() const {
  Cursor c(db_, path_, "SELECT max(ts) FROM events");
  return c.next() ? c.i(0, run_.started_ns) : run_.started_ns;
}

bool RecordingReader::replay(const Sink& sink, std::int64_t until, From from) const {
  bool go = true;
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
  Cursor names(db_, path_, "SELECT id, kind, text FROM names ORDER BY id");
  if (from.seq == 0) go = sink(cmwq::Record{&hello.h});  // a snapshot has it
  // Every name, also after a snapshot: one interned after it is in the table, not in the snapshot.
  while (go && names.next()) {
    cmwq_ev_name n{};
    n.h = base;
    n.h.kind = CMWQ_EV_NAME;
    n.h.size = sizeof n;
    n.id = static_cast<std::uint32_t>(names.i(0));
    std::string kind = names.s(1);
    n.name_kind = kind == "workqueue" ? CMWQ_NAME_WQ : kind == "function" ? CMWQ_NAME_FUNC : CMWQ_NAME_WORKER;
    std::snprintf(n.text, sizeof n.text, "%s", names.s(2).c_str());
    go = sink(cmwq::Record{&n.h});
  }
  // The kernel's records wait in the feed until the pool's stream passes their time, as they did live.
  Feed feed([&](const cmwq::Record& r) {
    if (go) go = sink(r);
  });
  Cursor off(db_, path_,
             "SELECT worker, start_ns, end_ns, state FROM off_cpu WHERE start_ns <= ? AND end_ns > ? ORDER BY start_ns",
             {until, from.ts});
  while (off.next()) {
    cmwq_ev_state e{};
    e.h = base;
    e.h.size = sizeof e;
    e.h.tid = static_cast<std::uint32_t>(off.i(0));
    e.worker = static_cast<std::int32_t>(e.h.tid);
    e.pool = -1;
    e.nr_active = -1;
    e.h.kind = CMWQ_EV_OFF_CPU;
    e.h.ts = static_cast<std::uint64_t>(off.i(1));
    e.flags = static_cast<std::uint32_t>(off.i(3, 0));
    if (static_cast<std::int64_t>(e.h.ts) > from.ts) feed.kernel(e);  // else the snapshot has it
    std::int64_t end = off.i(2);
    if (end > until) continue;
    e.h.kind = CMWQ_EV_ON_CPU;
    e.arg = end - static_cast<std::int64_t>(e.h.ts);
    e.h.ts = static_cast<std::uint64_t>(end);
    e.flags = 0;
    feed.kernel(e);
  }
  // +ts: walk the seq range, not the ts index from the start.
  Cursor ev(db_, path_,
            "SELECT seq, ts, kind, tid, cpu, work, func, wq, pool, worker, flags, pool_flags, nr_running, nr_idle, "
            "nr_workers, nr_active, arg FROM events WHERE seq > ? AND seq <= ? AND +ts <= ? ORDER BY seq",
            {static_cast<std::int64_t>(from.seq), from.last_seq, until});
  while (go && ev.next()) {
    cmwq_ev_state e{};
    e.h = base;
    e.h.size = sizeof e;
    e.h.seq = static_cast<std::uint64_t>(ev.i(0, 0));
    e.h.ts = static_cast<std::uint64_t>(ev.i(1, 0));
    e.h.kind = static_cast<std::uint16_t>(ev.i(2, 0));
    e.h.tid = static_cast<std::uint32_t>(ev.i(3, 0));
    e.h.cpu = static_cast<int>(ev.i(4, 0));
    e.work = static_cast<std::uint64_t>(ev.i(5, 0));
    e.func = static_cast<std::uint32_t>(ev.i(6, 0));
    e.wq = static_cast<std::uint32_t>(ev.i(7, 0));
    e.pool = static_cast<int>(ev.i(8, 0));
    e.worker = static_cast<int>(ev.i(9, 0));
    e.flags = static_cast<std::uint32_t>(ev.i(10, 0));
    e.pool_flags = static_cast<std::uint32_t>(ev.i(11, 0));
    e.nr_running = static_cast<int>(ev.i(12, 0));
    e.nr_idle = static_cast<int>(ev.i(13, 0));
    e.nr_workers = static_cast<int>(ev.i(14, 0));
    e.nr_active = static_cast<int>(ev.i(15, 0));
    e.arg = ev.i(16, 0);
    if (e.h.kind == 0 || e.h.kind >= CMWQ_EV_KIND_END || e.h.kind == CMWQ_EV_NAME || e.h.kind == CMWQ_EV_HELLO)
      fail(fmt::format("event {} has kind {}, which no record of this format has: the file is damaged", e.h.seq,
                       e.h.kind));
    feed.pool(std::span(reinterpret_cast<const std::byte*>(&e), sizeof e));
  }
  if (go) feed.flush();
  return go;
}

RecordingReader::Position RecordingReader::state_at(Model& model, std::int64_t at) const {
  From from;
  {
    Cursor snap(db_, path_, "SELECT seq, ts, state FROM snapshots WHERE ts <= ? ORDER BY seq DESC LIMIT 1", {at});
    if (snap.next()) {
      try {
        model.restore(snap.blob(2));
      } catch (const std::exception& e) {
        fail(fmt::format("has a damaged snapshot at event {}: {}", snap.i(0), e.what()));
      }
      from = {static_cast<std::uint64_t>(snap.i(0)), snap.i(1)};
    }
    Cursor next(db_, path_, "SELECT min(seq) FROM snapshots WHERE ts > ?", {at});
    if (next.next()) from.last_seq = next.i(0, INT64_MAX);
  }
  return apply(model, at, from);
}

RecordingReader::Position RecordingReader::advance(Model& model, Position from, std::int64_t at) const {
  Cursor snap(db_, path_, "SELECT max(seq) FROM snapshots WHERE ts <= ?", {at});
  if (snap.next() && snap.i(0, 0) > static_cast<std::int64_t>(from.seq)) {
    model = Model();
    return state_at(model, at);
  }
  return apply(model, at, {from.seq, from.at});
}

RecordingReader::Position RecordingReader::apply(Model& model, std::int64_t at, From from) const {
  Position pos{from.seq, at};
  replay(
      [&](const cmwq::Record& r) {
        if (r.h->kind == CMWQ_EV_NAME && !model.name(r.name()->id).empty()) return true;  // the snapshot's
        model.apply(r);
        pos.seq = std::max<std::uint64_t>(pos.seq, r.h->seq);
        return true;
      },
      at, from);
  return pos;
}

std::int64_t parse_instant(const std::string& text, const RunInfo& run) {
  return cmwq::cli::parse_instant(text, "--at", run.started_ns);
}

}  // namespace wqscope
