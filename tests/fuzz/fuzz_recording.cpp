// Bytes as a recording file -> RecordingReader and state_at. A damaged file (not SQLite, a page
// torn, tables missing or of the wrong shape, rows that make no sense, a broken snapshot) must end
// in RecordingError; anything else escaping, or a crash, is a bug. And the snapshot path agrees with
// the log: where the snapshot state_at starts from holds what the log gives at its own time, the
// state at the end is the same through it as from the log alone (a crafted snapshot may hold any
// state: it then gives a wrong picture, not a crash).
#include "canonical.h"
#include "reader.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <unistd.h>

namespace {

// One file per process, reused: SQLite needs a path (a read-only open, as `wqscope show` does).
const std::string& db_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir && *dir ? dir : "/tmp") + "/wqscope-fuzz-" + std::to_string(::getpid()) + ".db";
  }();
  return path;
}

void remove_files() {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::remove((db_path() + suffix).c_str());
}

// Each stream's model, canonical: traces in the same state compare equal.
std::map<int, nlohmann::json> states(const wqscope::Trace& t) {
  std::map<int, nlohmann::json> out;
  for (auto& [stream, model] : t.models()) out.emplace(stream, wqscope::fuzz::canonical(model));
  return out;
}

// One integer the file answers `sql` (bound to `a`, `b`) with; nullopt for none or NULL.
std::optional<std::int64_t> one(sqlite3* db, const char* sql, std::int64_t a, std::int64_t b = 0) {
  sqlite3_stmt* st = nullptr;
  std::optional<std::int64_t> v;
  if (sqlite3_prepare_v2(db, sql, -1, &st, nullptr) == SQLITE_OK) {
    sqlite3_bind_int64(st, 1, a);
    sqlite3_bind_int64(st, 2, b);
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL) v = sqlite3_column_int64(st, 0);
  }
  sqlite3_finalize(st);
  return v;
}

// Whether the two ways to the state at `end` must agree: no snapshot is used (then they are one way),
// or the one state_at starts from agrees with the log at its own newest time (same position, same
// state), whence both apply the same records to the same state.
bool snapshot_agrees(const wqscope::RecordingReader& reader, std::int64_t end) {
  auto event = one(reader.connection(), "SELECT max(event) FROM snapshots WHERE ts <= ?1", end);
  if (!event || *event <= 0) return true;
  auto ts = one(reader.connection(), "SELECT max(ts) FROM snapshots WHERE event = ?1 AND ts <= ?2", *event, end);
  if (!ts) return false;
  wqscope::Trace through, logged;
  auto a = reader.state_at(through, *ts);
  auto b = reader.state_from_log(logged, *ts);
  return a.event == b.event && states(through) == states(logged);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  remove_files();
  {
    std::ofstream out(db_path(), std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    wqscope::RecordingReader reader(db_path());
    wqscope::Trace trace;
    std::int64_t end = reader.last_ns();
    auto at = reader.state_at(trace, end);
    for (auto& [stream, model] : trace.models()) {
      (void)model.busy(end);
      (void)model.held_back();
    }
    wqscope::Trace from_log;
    auto logged = reader.state_from_log(from_log, end);
    if (snapshot_agrees(reader, end) && (at.event != logged.event || states(trace) != states(from_log))) abort();
  } catch (const wqscope::RecordingError&) {
  }
  remove_files();
  return 0;
}
