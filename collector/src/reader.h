// Reading a recording: opened read-only (so a recording being written, or one
// owned by root, reads without privileges), checked to be a wqscope recording
// this version understands, and replayed into a model — the same records, in
// the same order, that the live collector applied.
#pragma once

#include "model.h"
#include "recording.h"
#include "trace.h"

#include <sqlite3.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>

namespace wqscope {

struct RunInfo {
  std::string command, host, kernel, end_reason;  // end_reason empty while recording
  int pid = 0, possible_cpus = 1;
  std::int64_t started_ns = 0, ended_ns = -1;    // ended_ns -1: still recording (or killed)
  double started_unix = 0;
  std::int64_t events = 0, dropped_events = 0, lost_events = 0;
  std::string clock = "live";  // when its watchdog looked: 'live' (CHECK records) or 'deadlines'
  std::int64_t derived = 0, logged = 0;  // log positions: `events` and the tables after it are complete up to
                                         // `derived` of the `logged` (less while recording, or if cut off)
};

class RecordingReader {
 public:
  /// Throws RecordingError naming the file and what is wrong with it: missing, not SQLite,
  /// not a wqscope recording, written by a newer wqscope, corrupt.
  explicit RecordingReader(const std::string& path);
  ~RecordingReader();
  RecordingReader(const RecordingReader&) = delete;
  RecordingReader& operator=(const RecordingReader&) = delete;

  const RunInfo& run() const { return run_; }
  /// The checked read-only connection, for the tables the model does not rebuild (export, the GUI).
  sqlite3* connection() const { return db_; }
  const std::string& path() const { return path_; }
  /// The time of the last record (the recording's end while it is being written).
  std::int64_t last_ns() const;

  /// Feeds the log to `sink` in the order the collector applied it, each record with its stream
  /// (kSchedStream: for every stream), up to the first record after time `until`: the state at an
  /// instant is what the collector had applied by then. Returns false if `sink` asked to stop.
  using Sink = std::function<bool(int stream, const cmwq::Record&)>;
  bool replay(const Sink& sink, std::int64_t until = INT64_MAX) const { return replay(sink, until, 0); }
  /// Where a trace stands: the log applied up to event `event` (its position), for time `at`.
  struct Position {
    std::uint64_t event = 0;
    std::int64_t at = INT64_MIN;
  };
  /// Brings a fresh `trace` to the state at time `at` (the fastest way there: callers should not
  /// replay by hand to seek).
  Position state_at(Trace& trace, std::int64_t at) const;
  /// The state at time `at` from the log alone, the snapshots ignored: what state_at() must give
  /// (the recording fuzzer compares the two).
  Position state_from_log(Trace& trace, std::int64_t at) const { return apply(trace, at, 0); }
  /// Brings `trace`, standing at `from` (from state_at or advance), to time `at`: only the records
  /// after it, or from a snapshot past it if there is one. How a live view follows a growing recording.
  Position advance(Trace& trace, Position from, std::int64_t at) const;
  /// replay() on from `from` (where a replay, state_at or advance stopped): the records after it, up
  /// to the first after `until`. Returns where it then stands.
  Position follow(const Sink& sink, Position from, std::int64_t until) const;
  /// The streams' (pid, system), by id.
  std::map<int, std::pair<std::uint32_t, std::uint32_t>> streams() const;

 private:
  /// replay() of the records after log position `after` (0: from the start; a snapshot's event).
  bool replay(const Sink& sink, std::int64_t until, std::uint64_t after) const;
  /// replay() into `trace`: where it then stands.
  Position apply(Trace& trace, std::int64_t until, std::uint64_t after) const;
  [[noreturn]] void fail(const std::string& what) const;
  /// Not finished, or its tables not complete.
  bool incomplete() const;
  void open_db(const std::string& name, int flags);  // (re)opens db_, or throws RecordingError
  std::string path_;
  struct Close {
    void operator()(sqlite3* db) const { sqlite3_close(db); }
  };
  std::unique_ptr<sqlite3, Close> handle_;  // closed however the constructor is left
  sqlite3* db_ = nullptr;
  RunInfo run_;
};

/// --at of a recording: duration.h's instant, from the start of the recording.
std::int64_t parse_instant(const std::string& text, const RunInfo& run);

}  // namespace wqscope
