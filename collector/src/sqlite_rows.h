// Reading rows of a recording: one query, its parameters bound, its rows
// stepped through, its statement finalized however the scope is left. What
// SQLite refuses becomes a RecordingError naming the file and the problem.
#pragma once

#include "lock_holder.h"
#include "recording.h"

#include <sqlite3.h>

#include <fmt/format.h>

#include <cstdint>
#include <initializer_list>
#include <span>
#include <string>

namespace wqscope {

class Cursor {
 public:
  Cursor(sqlite3* db, const std::string& path, const char* sql, std::initializer_list<std::int64_t> args = {})
      : db_(db), path_(path) {
    if (sqlite3_prepare_v2(db, sql, -1, &s_, nullptr) != SQLITE_OK) refused(false);
    int i = 0;
    for (std::int64_t a : args) sqlite3_bind_int64(s_, ++i, a);
  }
  ~Cursor() { sqlite3_finalize(s_); }
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;

  bool next() {
    int rc = sqlite3_step(s_);
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) refused(true);
    return rc == SQLITE_ROW;
  }
  bool null(int col) const { return sqlite3_column_type(s_, col) == SQLITE_NULL; }
  /// NULL means "not known": `if_null` says what that is for this column.
  std::int64_t i(int col, std::int64_t if_null = -1) const {
    return null(col) ? if_null : sqlite3_column_int64(s_, col);
  }
  double d(int col) const { return sqlite3_column_double(s_, col); }
  std::string s(int col) const {
    auto t = sqlite3_column_text(s_, col);
    return t ? reinterpret_cast<const char*>(t) : "";
  }
  std::span<const std::uint8_t> blob(int col) const {
    return {static_cast<const std::uint8_t*>(sqlite3_column_blob(s_, col)),
            static_cast<std::size_t>(sqlite3_column_bytes(s_, col))};
  }

 private:
  /// A statement SQLite would not prepare, or a row it could not read.
  [[noreturn]] void refused(bool reading) const {
    int code = sqlite3_errcode(db_);
    if (code == SQLITE_BUSY || code == SQLITE_LOCKED) {
      std::string holder = lock_holder(path_);
      throw RecordingError(fmt::format("{}: is locked by another program ({} holds an exclusive lock; SQLite says "
                                       "\"{}\"): wait for it to finish, or copy the file and open the copy",
                                       path_, holder.empty() ? "it" : holder, sqlite3_errmsg(db_)));
    }
    if (code == SQLITE_NOTADB) throw RecordingError(path_ + ": is not a SQLite database (not a wqscope recording)");
    if (code == SQLITE_CORRUPT || reading)
      throw RecordingError(fmt::format("{}: is corrupt or truncated: {}", path_, sqlite3_errmsg(db_)));
    throw RecordingError(
        fmt::format("{}: cannot be read: {} (is it a wqscope recording?)", path_, sqlite3_errmsg(db_)));
  }
  sqlite3* db_;
  const std::string& path_;
  sqlite3_stmt* s_ = nullptr;
};

}  // namespace wqscope
