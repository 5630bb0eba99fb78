// --lossless: the collector tells the target how far it has read (struct cmwq_handover, the block
// that is the cmwq:wait probe's semaphore), and the target's pool waits, bounded, rather than hand
// over more than the ring buffer holds. The target is untrusted: the block's address comes from the
// mapped file's own notes and segments, and is written only if it lies in a writable mapping of it.
#pragma once

#include <cstdint>
#include <optional>
#include <sys/types.h>

namespace wqscope {

class Handover {
 public:
  /// `file`: open, the file with the probes that the target maps (or will once it has exec'd).
  /// Throws TracerError if the file has no hand-over block.
  explicit Handover(int file);
  Handover(const Handover&) = delete;
  Handover& operator=(const Handover&) = delete;
  /// The target waits no more: room 0.
  ~Handover();
  /// Asks process `pid` to wait for us beyond `room` bytes: opens its memory (needs the privileges the
  /// session drops after) and writes the block. False if the file is not mapped writable in it (yet).
  bool start(pid_t pid, std::uint64_t room);
  /// We have read the batch that ends at `pos` (cmwq_bpf_batch's).
  void read_to(std::uint64_t pos);
  bool started() const { return mem_ >= 0; }

 private:
  void write_u64(std::uint64_t offset_in_block, std::uint64_t value);
  dev_t dev_;
  ino_t ino_;
  std::uint64_t file_offset_;  // of the block in the file
  std::uint64_t addr_ = 0;     // of the block in the target
  int mem_ = -1;               // /proc/PID/mem, read-write
  std::uint64_t read_ = 0;     // the furthest position reported
};

}  // namespace wqscope
