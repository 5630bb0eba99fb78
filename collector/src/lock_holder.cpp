#include "lock_holder.h"

#include "untrusted.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>
#include <sys/stat.h>
#include <sys/sysmacros.h>

namespace wqscope {

std::string lock_holder(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return "";
  // "1: POSIX  ADVISORY  WRITE 1234 08:01:5678 1073741824 1073742335", device numbers in hex.
  std::string file = fmt::format("{:02x}:{:02x}:{}", major(st.st_dev), minor(st.st_dev), st.st_ino);
  std::ifstream locks("/proc/locks");
  for (std::string line; std::getline(locks, line);) {
    std::istringstream words(line);
    std::string id, type, advisory, mode, pid, where;
    if (!(words >> id >> type >> advisory >> mode >> pid >> where) || mode != "WRITE" || where != file || pid == "-1")
      continue;
    std::string comm;
    std::getline(std::ifstream("/proc/" + pid + "/comm"), comm);
    // Any process names itself (PR_SET_NAME): its comm is printed as untrusted names are.
    return comm.empty() ? "pid " + pid : fmt::format("{}, pid {}", printable(comm), pid);
  }
  return "";
}

}  // namespace wqscope
