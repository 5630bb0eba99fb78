// The file a running process maps that carries the cmwq:batch probe, found as root without
// trusting the process: it chooses the paths in /proc/PID/maps and can swap what they name.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>

namespace wqscope {

/// An open file the target has mapped: the very inode of the mapping, whatever its path names now.
class ProbeBinary {
 public:
  ProbeBinary() = default;
  ProbeBinary(int fd, std::string shown) : fd_(fd), shown_(std::move(shown)) {}
  ProbeBinary(ProbeBinary&& o) noexcept;
  ProbeBinary& operator=(ProbeBinary&& o) noexcept;
  ~ProbeBinary();
  /// The path to hand to libbpf and the kernel's uprobe: our own fd's, so nothing the target renames,
  /// unlinks or replaces by a symlink or a FIFO is opened instead.
  std::string attach_path() const;
  /// The open file itself.
  int fd() const { return fd_; }
  /// As /proc/PID/maps showed it, for messages only.
  const std::string& shown() const { return shown_; }

 private:
  int fd_ = -1;
  std::string shown_;
};

/// One line of /proc/PID/maps (proc(5)). `path` is what the target named: for messages, never trusted.
struct MapsEntry {
  unsigned long start = 0, end = 0, offset = 0;
  unsigned dev_major = 0, dev_minor = 0;
  unsigned long inode = 0;
  char perms[5] = {};  // "rw-p"
  std::string path;    // "" for an anonymous mapping
};
/// The entry a line of /proc/PID/maps describes, or nothing if it does not parse.
std::optional<MapsEntry> parse_maps_line(const std::string& line);

/// The target's mapped regular file (its executable first) whose ELF notes hold the cmwq:batch probe.
/// Opened through /proc/PID/map_files/ (the mapping itself, no path walked), checked against the
/// mapping's device and inode, and read only where its section headers and notes say, with bounds.
/// Throws TracerError if there is none.
ProbeBinary probe_binary_of(pid_t pid);

/// Whether the ELF file open at `fd` has a stapsdt note for provider:name. Reads the headers and the
/// note sections only (each at most 1 MiB); a file that is not ELF, or lies about its sizes, has none.
bool elf_has_usdt(int fd, const char* provider, const char* name);

/// Where in the ELF file open at `fd` the semaphore of provider:name lies: its file offset, if its `len`
/// bytes lie in the file's part of a writable loaded segment; nullopt otherwise (no such probe, no
/// semaphore, or a file that lies about its sizes).
std::optional<std::uint64_t> usdt_semaphore_offset(int fd, const char* provider, const char* name, std::uint64_t len);

}  // namespace wqscope
