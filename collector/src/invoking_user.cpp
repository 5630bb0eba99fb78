#include "invoking_user.h"

#include "recording.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <pwd.h>
#include <sys/fsuid.h>
#include <unistd.h>

namespace wqscope {

namespace {

std::optional<long> id_from(const char* var) {
  const char* s = std::getenv(var);
  char* end = nullptr;
  long v = s ? std::strtol(s, &end, 10) : -1;
  if (!s || *end || v < 0) return std::nullopt;
  return v;
}

// setfsuid returns the previous value whether or not it succeeded: asking again says which it is.
bool set_fs_ids(uid_t uid, gid_t gid) {
  ::setfsgid(gid);
  ::setfsuid(uid);
  return static_cast<uid_t>(::setfsuid(static_cast<uid_t>(-1))) == uid &&
         static_cast<gid_t>(::setfsgid(static_cast<gid_t>(-1))) == gid;
}

}  // namespace

std::optional<InvokingUser> invoking_user() {
  if (::geteuid() != 0) return std::nullopt;
  auto uid = id_from("SUDO_UID");
  if (!uid) uid = id_from("PKEXEC_UID");
  if (!uid || *uid == 0) return std::nullopt;
  auto gid = id_from("SUDO_GID");
  if (!gid) {
    const passwd* pw = ::getpwuid(static_cast<uid_t>(*uid));
    if (!pw) return std::nullopt;
    gid = pw->pw_gid;
  }
  return InvokingUser{static_cast<uid_t>(*uid), static_cast<gid_t>(*gid)};
}

FsIdentity::FsIdentity(uid_t uid, gid_t gid)
    : old_uid_(static_cast<uid_t>(::setfsuid(static_cast<uid_t>(-1)))),
      old_gid_(static_cast<gid_t>(::setfsgid(static_cast<gid_t>(-1)))) {
  if (!set_fs_ids(uid, gid)) {
    set_fs_ids(old_uid_, old_gid_);
    throw RecordingError(fmt::format("cannot act as uid {} gid {} to create files: {}", uid, gid,
                                     std::strerror(errno)));
  }
}

FsIdentity::~FsIdentity() { set_fs_ids(old_uid_, old_gid_); }

void become_invoking_user_for_files() {
  if (auto u = invoking_user(); u && !set_fs_ids(u->uid, u->gid))
    fmt::print(stderr, "wqscope: warning: cannot act as uid {} for files: {}\n", u->uid, std::strerror(errno));
}

}  // namespace wqscope
