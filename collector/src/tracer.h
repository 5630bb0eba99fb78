// The loader: bpf/cmwq.bpf.c opened, loaded and attached to one process's
// cmwq:batch probe, with one cleanup path (the destructor).
#pragma once

#include "cmwq_bpf.h"

#include <chrono>
#include <cstddef>
#include <optional>
#include <cstdint>
#include <exception>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <sys/types.h>

struct cmwq_bpf;
struct bpf_link;
struct ring_buffer;

namespace wqscope {

struct TracerError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Throws TracerError saying which privilege is missing to load BPF programs.
void require_bpf_privileges(const char* command);
/// Throws TracerError if the kernel has no BTF, which the CO-RE program needs to load.
void require_kernel_btf();

/// The executable of a running process, checked to carry the cmwq:batch probe.
std::string probe_binary_of(pid_t pid);

class Tracer {
 public:
  using BatchFn = std::function<void(std::span<const std::byte> records, std::uint64_t count)>;
  Tracer(pid_t pid, const std::string& binary, BatchFn fn);
  ~Tracer();
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  /// Waits up to `timeout_ms` and hands over whatever batches arrived.
  void poll(int timeout_ms);
  /// Hands over everything still in the ring buffer.
  void drain();
  cmwq_bpf_stats stats() const;

 private:
  static int on_sample(void* self, void* data, std::size_t size);
  void rethrow();
  BatchFn fn_;
  std::exception_ptr error_;  // thrown by fn_: kept until libbpf has returned, never unwound through it
  std::optional<std::chrono::steady_clock::time_point> budget_end_;  // while polling
  cmwq_bpf* skel_ = nullptr;
  bpf_link* link_ = nullptr;
  ring_buffer* rb_ = nullptr;
};

}  // namespace wqscope
