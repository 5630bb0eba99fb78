#include "handover.h"

#include "probe_binary.h"
#include "tracer.h"

#include <cmwq/events.h>
#include <fmt/format.h>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fstream>
#include <string>

namespace wqscope {

namespace {

// Where the target maps the file's bytes [offset, offset + len) writable, from /proc/PID/maps.
std::optional<std::uint64_t> writable_address(pid_t pid, dev_t dev, ino_t ino, std::uint64_t offset, std::uint64_t len) {
  std::ifstream maps(fmt::format("/proc/{}/maps", pid));
  for (std::string line; std::getline(maps, line);) {
    auto m = parse_maps_line(line);
    if (!m || m->perms[0] != 'r' || m->perms[1] != 'w' || makedev(m->dev_major, m->dev_minor) != dev ||
        m->inode != ino)
      continue;
    if (offset >= m->offset && len <= m->end - m->start && offset - m->offset <= m->end - m->start - len)
      return m->start + (offset - m->offset);
  }
  return std::nullopt;
}

}  // namespace

Handover::Handover(int file) {
  struct stat st;
  auto off = ::fstat(file, &st) == 0 ? usdt_semaphore_offset(file, "cmwq", "wait", sizeof(cmwq_handover))
                                     : std::nullopt;
  if (!off)
    throw TracerError("--lossless: the target's libcmwq has no hand-over block (a cmwq:wait probe with its "
                      "semaphore): it is older than wqscope's --lossless; run without it");
  dev_ = st.st_dev;
  ino_ = st.st_ino;
  file_offset_ = *off;
}

Handover::~Handover() {
  if (mem_ < 0) return;
  write_u64(offsetof(cmwq_handover, room), 0);
  ::close(mem_);
}

bool Handover::start(pid_t pid, std::uint64_t room) {
  auto addr = writable_address(pid, dev_, ino_, file_offset_, sizeof(cmwq_handover));
  if (!addr) return false;
  // Opened now, after the target's exec (an earlier open would name the mm it had before).
  int mem = ::open(fmt::format("/proc/{}/mem", pid).c_str(), O_RDWR | O_CLOEXEC);
  if (mem < 0) throw TracerError(fmt::format("--lossless: cannot open the memory of process {}: {}", pid,
                                             std::strerror(errno)));
  // What the target has handed so far counts as read: earlier batches are in the ring or lost already.
  std::uint64_t handed = 0;
  if (::pread(mem, &handed, sizeof handed, static_cast<off_t>(*addr + offsetof(cmwq_handover, handed))) !=
      sizeof handed) {
    ::close(mem);
    return false;
  }
  mem_ = mem;
  addr_ = *addr;
  read_ = handed;
  write_u64(offsetof(cmwq_handover, read), handed);
  write_u64(offsetof(cmwq_handover, room), room);
  return true;
}

void Handover::read_to(std::uint64_t pos) {
  // Two Systems' batches may reach the ring out of order: the furthest position is what was read.
  if (mem_ < 0 || static_cast<std::int64_t>(pos - read_) <= 0) return;
  read_ = pos;
  write_u64(offsetof(cmwq_handover, read), pos);
}

void Handover::write_u64(std::uint64_t offset_in_block, std::uint64_t value) {
  // A target that unmapped or remapped the block gets the write in its own memory, or none (then it
  // simply is not told and waits at most cmwq's bound): nothing of ours depends on it.
  (void)::pwrite(mem_, &value, sizeof value, static_cast<off_t>(addr_ + offset_in_block));
}

}  // namespace wqscope
