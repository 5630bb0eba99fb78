// Who asked for a root run through sudo or pkexec, and touching files with their rights.
#pragma once

#include <optional>
#include <sys/types.h>

namespace wqscope {

struct InvokingUser {
  uid_t uid;
  gid_t gid;
};

/// Run as root by sudo (SUDO_UID, SUDO_GID) or pkexec (PKEXEC_UID, the user's own group): that user.
/// Nothing when not root, or run by root itself.
std::optional<InvokingUser> invoking_user();

/// For its lifetime the calling thread creates, opens and unlinks files as `uid`:`gid` (setfsuid and
/// setfsgid: one thread, only the file system checks; capabilities other than the file ones are kept).
/// A path's symlinks and directories then lead only where that user could go. Needs CAP_SETUID/SETGID.
class FsIdentity {
 public:
  FsIdentity(uid_t uid, gid_t gid);
  ~FsIdentity();
  FsIdentity(const FsIdentity&) = delete;
  FsIdentity& operator=(const FsIdentity&) = delete;

 private:
  uid_t old_uid_;
  gid_t old_gid_;
};

/// From here on the calling thread touches files as the invoking user, if there is one (before
/// capabilities are dropped: they are needed to switch). What SQLite does by name later (it unlinks a
/// recording's -wal and -shm when it closes it) then cannot reach outside that user's reach.
void become_invoking_user_for_files();

}  // namespace wqscope
