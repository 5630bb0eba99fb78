// Who holds a lock on a file: for the message when a recording is locked by
// another program (SQLite says only "database is locked").
#pragma once

#include <string>

namespace wqscope {

/// "sqlite3, pid 1234" for the first process /proc/locks shows holding a write lock on `path`;
/// "" when none is visible (another mount namespace, /proc not mounted).
std::string lock_holder(const std::string& path);

}  // namespace wqscope
