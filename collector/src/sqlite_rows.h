// Reading rows of a recording: a statement finalized however its scope is
// left, and columns where NULL means "not known".
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <string>

namespace wqscope {

struct Stmt {
  sqlite3_stmt* s;
  ~Stmt() { sqlite3_finalize(s); }
};

inline std::string column_text(sqlite3_stmt* s, int col) {
  const unsigned char* t = sqlite3_column_text(s, col);
  return t ? reinterpret_cast<const char*>(t) : "";
}

inline std::int64_t column_int(sqlite3_stmt* s, int col, std::int64_t null_value = 0) {
  return sqlite3_column_type(s, col) == SQLITE_NULL ? null_value : sqlite3_column_int64(s, col);
}

}  // namespace wqscope
