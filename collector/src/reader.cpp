#include "reader.h"

#include "log_chunk.h"
#include "sqlite_rows.h"

#include <duration.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <exception>
#include <span>
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
    Cursor t(db_, path_, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'run'");
    has_run = t.next() && t.i(0) == 1;
  }
  if (version > kRecordingSchemaVersion)
    fail(fmt::format("was written by a newer wqscope (recording format {}; this wqscope reads format {}): read it "
                     "with that version or newer",
                     version, kRecordingSchemaVersion));
  if (version < 1 || !has_run) fail("is a SQLite database but not a wqscope recording (no run table)");
  if (version >= 1 && version < kRecordingOldestReadable)
    fail(fmt::format("is a recording of an older format ({}; this wqscope reads formats {} to {}): read it with the "
                     "wqscope that made it, or record it again",
                     version, kRecordingOldestReadable, kRecordingSchemaVersion));
  // Cut off (its collector killed): the next reader that may write it completes its tables.
  if (incomplete() && ::access(path.c_str(), W_OK) == 0) {
    try {
      if (Recording::complete(path)) open_db(path, SQLITE_OPEN_READONLY);
    } catch (const RecordingError&) {
      // Being recorded, or not ours to change: the log is read as it is.
    }
  }
  Cursor r(db_, path_,
           "SELECT command, host, kernel, end_reason, pid, possible_cpus, started_ns, ended_ns, started_unix, "
           "events, dropped_events, lost_events, clock, derived, (SELECT max(last) FROM log) FROM run WHERE id = 1");
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
  run_.clock = r.s(12);
  run_.derived = r.i(13, 0);
  run_.logged = r.i(14, 0);
}

bool RecordingReader::incomplete() const {
  Cursor c(db_, path_, "SELECT end_reason IS NULL OR derived < (SELECT ifnull(max(last), 0) FROM log) FROM run");
  return c.next() && c.i(0, 0) == 1;
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
  Cursor c(db_, path_, "SELECT max_ts FROM log ORDER BY id DESC LIMIT 1");  // the log's newest time so far
  return c.next() ? c.i(0, run_.started_ns) : run_.started_ns;
}

bool RecordingReader::replay(const Sink& sink, std::int64_t until, std::uint64_t after_event) const {
  std::map<int, std::pair<std::uint32_t, std::uint32_t>> streams = this->streams();
  auto pid_of = [&](int stream) {
    auto it = streams.find(stream);
    return it == streams.end() ? static_cast<std::uint32_t>(run_.pid) : it->second.first;
  };
  bool go = true, past = false;
  const auto after = static_cast<std::int64_t>(after_event);
  // Chunks from the one holding the record after `after` (and the NAMEs just before it), each with
  // the position before its first record: the chunk before it ends there.
  Cursor chunk(db_, path_,
               "SELECT id, (SELECT p.last FROM log p WHERE p.id < log.id ORDER BY p.id DESC LIMIT 1), records "
               "FROM log WHERE last >= ? ORDER BY id",
               {after});
  while (go && !past && chunk.next()) {
    try {
      std::int64_t pos = chunk.i(1, 0);
      for_each_logged(chunk.blob(2), pid_of, [&](int stream, const cmwq::Record& r) {
        if (!go || past) return;
        bool named = r.h->kind == CMWQ_EV_NAME;
        pos += !named;
        // Applied before: up to `after`; the NAMEs after it were applied too, but again does no harm.
        if (pos < after || (!named && pos == after)) return;
        if (!named && r.ts() > until) {
          past = true;
          return;
        }
        go = sink(stream, r);
      });
    } catch (const cmwq::RecordError& e) {
      fail(fmt::format("has a damaged log (chunk {}): {}", chunk.i(0), e.what()));
    }
  }
  return go;
}

std::map<int, std::pair<std::uint32_t, std::uint32_t>> RecordingReader::streams() const {
  std::map<int, std::pair<std::uint32_t, std::uint32_t>> out;
  Cursor c(db_, path_, "SELECT id, pid, system FROM streams ORDER BY id");
  while (c.next())
    out[static_cast<int>(c.i(0))] = {static_cast<std::uint32_t>(c.i(1, 0)), static_cast<std::uint32_t>(c.i(2, 0))};
  return out;
}

RecordingReader::Position RecordingReader::state_at(Trace& trace, std::int64_t at) const {
  std::uint64_t from = 0;
  // A snapshot's ts is the newest time in the log up to it: usable for any instant from then on.
  Cursor last(db_, path_, "SELECT max(event) FROM snapshots WHERE ts <= ?", {at});
  if (last.next() && last.i(0, 0) > 0) {
    from = static_cast<std::uint64_t>(last.i(0));
    Cursor snap(db_, path_, "SELECT stream, state FROM snapshots WHERE event = ?", {last.i(0)});
    while (snap.next()) {
      try {
        trace.model(static_cast<int>(snap.i(0))).restore(snap.blob(1));
      } catch (const std::exception& e) {
        fail(fmt::format("has a damaged snapshot at event {}: {}", from, e.what()));
      }
    }
  }
  return apply(trace, at, from);
}

RecordingReader::Position RecordingReader::advance(Trace& trace, Position from, std::int64_t at) const {
  Cursor snap(db_, path_, "SELECT max(event) FROM snapshots WHERE ts <= ?", {at});
  if (snap.next() && snap.i(0, 0) > static_cast<std::int64_t>(from.event)) {
    trace = Trace();
    return state_at(trace, at);
  }
  return apply(trace, at, from.event);
}

RecordingReader::Position RecordingReader::follow(const Sink& sink, Position from, std::int64_t until) const {
  Position pos{from.event, until};
  replay(
      [&](int stream, const cmwq::Record& r) {
        pos.event += r.h->kind != CMWQ_EV_NAME;
        return sink(stream, r);
      },
      until, from.event);
  return pos;
}

RecordingReader::Position RecordingReader::apply(Trace& trace, std::int64_t at, std::uint64_t after) const {
  return follow(
      [&](int stream, const cmwq::Record& r) {
        if (r.h->kind == CMWQ_EV_NAME) {
          Model& m = trace.model(stream);
          if (m.name(r.name()->id).empty()) m.apply(r);  // else the snapshot's, or applied before
        } else if (r.h->kind != CMWQ_EV_CHECK) {
          trace.apply(stream, r);
        }
        return true;
      },
      {after, at}, at);
}

std::int64_t parse_instant(const std::string& text, const RunInfo& run) {
  return cmwq::cli::parse_instant(text, "--at", run.started_ns);
}

}  // namespace wqscope
