// What a capture traces: a process (running, or a command started for it) or the kernel. Plain
// data, so that the command line builds without the capture side.
#pragma once

#include <cstdint>
#include <string>
#include <sys/types.h>
#include <vector>

namespace wqscope {

constexpr std::uint32_t kRingBufferDefault = 32u << 20;

struct Target {
  pid_t pid = 0;                     // -p PID
  std::vector<std::string> command;  // -- CMD ARGS: traced, or in kernel mode run while tracing
  std::uint32_t ring_buffer_bytes = kRingBufferDefault;  // how much the target may run ahead of us
  bool kernel = false;               // --kernel: the kernel's own workqueues
  bool stop_at_eof = false;          // --stop-at-eof: stdin's end stops the session (wqscope-gui's stop)
  bool raw_kernel_pointers = false;  // --raw-kernel-pointers: addresses unhashed (a root-only recording)
  bool lossless = false;             // --lossless: the target waits for us (bounded) rather than lose batches
};

}  // namespace wqscope
