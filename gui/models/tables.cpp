#include "tables.h"

#include "recording.h"
#include "sqlite_rows.h"

#include <fmt/format.h>

namespace wqgui {

sqlite3_stmt* Tables::prepare(const char* sql) const {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v2(reader_.connection(), sql, -1, &s, nullptr) != SQLITE_OK)
    throw wqscope::RecordingError(
        fmt::format("{}: cannot be read: {}", reader_.path(), sqlite3_errmsg(reader_.connection())));
  return s;
}

bool Tables::step(sqlite3_stmt* s) const {
  int rc = sqlite3_step(s);
  if (rc == SQLITE_ROW) return true;
  if (rc != SQLITE_DONE)
    throw wqscope::RecordingError(
        fmt::format("{}: is corrupt or truncated: {}", reader_.path(), sqlite3_errmsg(reader_.connection())));
  return false;
}

std::vector<wqscope::Alert> Tables::alerts() const {
  wqscope::Stmt s{prepare("SELECT kind, pool, wq, message, detected_ns, stuck_ns, waiting FROM alerts ORDER BY detected_ns, id")};
  std::vector<wqscope::Alert> out;
  while (step(s.s)) {
    wqscope::Alert& a = out.emplace_back();
    a.kind = wqscope::column_text(s.s, 0);
    a.pool = static_cast<int>(wqscope::column_int(s.s, 1, -1));
    a.wq = wqscope::column_text(s.s, 2);
    a.message = wqscope::column_text(s.s, 3);
    a.time_ns = wqscope::column_int(s.s, 4, 0);
    a.stuck_ns = wqscope::column_int(s.s, 5, 0);
    a.pending = static_cast<int>(wqscope::column_int(s.s, 6, 0));
  }
  return out;
}

std::vector<Bar> Tables::bars(std::int64_t from, std::int64_t to) const {
  std::vector<Bar> out;
  wqscope::Stmt items{prepare("SELECT worker, started_ns, ended_ns, func FROM work_items WHERE started_ns IS NOT NULL "
                     "AND started_ns <= ?2 AND (ended_ns IS NULL OR ended_ns >= ?1) ORDER BY worker, started_ns LIMIT ?3")};
  sqlite3_bind_int64(items.s, 1, from);
  sqlite3_bind_int64(items.s, 2, to);
  sqlite3_bind_int(items.s, 3, kMaxBars);
  while (step(items.s))
    out.push_back({static_cast<int>(wqscope::column_int(items.s, 0, 0)), wqscope::column_int(items.s, 1, 0), wqscope::column_int(items.s, 2, -1),
                   wqscope::column_text(items.s, 3), false, false});
  wqscope::Stmt off{prepare("SELECT worker, start_ns, end_ns, func, hidden FROM off_cpu WHERE start_ns <= ?2 AND end_ns >= ?1 "
                   "ORDER BY worker, start_ns LIMIT ?3")};
  sqlite3_bind_int64(off.s, 1, from);
  sqlite3_bind_int64(off.s, 2, to);
  sqlite3_bind_int(off.s, 3, kMaxBars);
  while (step(off.s))
    out.push_back({static_cast<int>(wqscope::column_int(off.s, 0, 0)), wqscope::column_int(off.s, 1, 0), wqscope::column_int(off.s, 2, -1),
                   wqscope::column_text(off.s, 3), true, wqscope::column_int(off.s, 4, 0) != 0});
  return out;
}

}  // namespace wqgui
