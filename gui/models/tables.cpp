#include "tables.h"

#include "recording.h"

#include <fmt/format.h>

namespace wqgui {

namespace {

struct Stmt {
  sqlite3_stmt* s;
  ~Stmt() { sqlite3_finalize(s); }
};

std::string text(sqlite3_stmt* s, int col) {
  const unsigned char* t = sqlite3_column_text(s, col);
  return t ? reinterpret_cast<const char*>(t) : "";
}

std::int64_t integer(sqlite3_stmt* s, int col, std::int64_t null_value) {
  return sqlite3_column_type(s, col) == SQLITE_NULL ? null_value : sqlite3_column_int64(s, col);
}

}  // namespace

Tables::Tables(const std::string& path) : path_(path) {
  if (sqlite3_open_v2(path.c_str(), &db_, SQLITE_OPEN_READONLY, nullptr) != SQLITE_OK) {
    std::string msg = db_ ? sqlite3_errmsg(db_) : "out of memory";
    sqlite3_close(db_);
    throw wqscope::RecordingError(fmt::format("{}: cannot open the recording: {}", path, msg));
  }
  sqlite3_busy_timeout(db_, 2000);  // the collector commits every 100 ms
}

Tables::~Tables() { sqlite3_close(db_); }

sqlite3_stmt* Tables::prepare(const char* sql) const {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(db_, sql, -1, &s, nullptr) != SQLITE_OK)
    throw wqscope::RecordingError(fmt::format("{}: cannot be read: {}", path_, sqlite3_errmsg(db_)));
  return s;
}

bool Tables::step(sqlite3_stmt* s) const {
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE)
    throw wqscope::RecordingError(fmt::format("{}: is corrupt or truncated: {}", path_, sqlite3_errmsg(db_)));
  return false;
}

std::vector<wqscope::Alert> Tables::alerts() const {
  Stmt s{prepare("SELECT kind, pool, wq, message, detected_ns, stuck_ns, waiting FROM alerts ORDER BY detected_ns, id")};
  std::vector<wqscope::Alert> out;
  while (step(s.s)) {
    wqscope::Alert& a = out.emplace_back();
    a.kind = text(s.s, 0);
    a.pool = static_cast<int>(integer(s.s, 1, -1));
    a.wq = text(s.s, 2);
    a.message = text(s.s, 3);
    a.time_ns = integer(s.s, 4, 0);
    a.stuck_ns = integer(s.s, 5, 0);
    a.pending = static_cast<int>(integer(s.s, 6, 0));
  }
  return out;
}

std::vector<Bar> Tables::bars(std::int64_t from, std::int64_t to) const {
  std::vector<Bar> out;
  Stmt items{prepare("SELECT worker, started_ns, ended_ns, func FROM work_items WHERE started_ns IS NOT NULL "
                     "AND started_ns <= ?2 AND (ended_ns IS NULL OR ended_ns >= ?1) ORDER BY worker, started_ns LIMIT ?3")};
  sqlite3_bind_int64(items.s, 1, from);
  sqlite3_bind_int64(items.s, 2, to);
  sqlite3_bind_int(items.s, 3, kMaxBars);
  while (step(items.s))
    out.push_back({static_cast<int>(integer(items.s, 0, 0)), integer(items.s, 1, 0), integer(items.s, 2, -1),
                   text(items.s, 3), false, false});
  Stmt off{prepare("SELECT worker, start_ns, end_ns, func, hidden FROM off_cpu WHERE start_ns <= ?2 AND end_ns >= ?1 "
                   "ORDER BY worker, start_ns LIMIT ?3")};
  sqlite3_bind_int64(off.s, 1, from);
  sqlite3_bind_int64(off.s, 2, to);
  sqlite3_bind_int(off.s, 3, kMaxBars);
  while (step(off.s))
    out.push_back({static_cast<int>(integer(off.s, 0, 0)), integer(off.s, 1, 0), integer(off.s, 2, -1),
                   text(off.s, 3), true, integer(off.s, 4, 0) != 0});
  return out;
}

}  // namespace wqgui
