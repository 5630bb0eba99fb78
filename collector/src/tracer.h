// The loader: bpf/cmwq.bpf.c opened, loaded and attached to one process's
// cmwq:batch probe, with one cleanup path (the destructor).
#pragma once

#include "cmwq_bpf.h"
#include "target.h"

#include <bpf/libbpf.h>

#include <algorithm>
#include <bit>
#include <chrono>
#include <cstddef>
#include <optional>
#include <cstdint>
#include <exception>
#include <functional>
#include <span>
#include <stdexcept>
#include <string>
#include <vector>
#include <sys/types.h>

struct cmwq_bpf;
struct bpf_link;
struct ring_buffer;

namespace wqscope {

struct TracerError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// Throws TracerError saying which privilege is missing to load BPF programs.
void require_bpf_privileges();
/// Throws TracerError if the kernel has no BTF, which the CO-RE program needs to load.
void require_kernel_btf();

// The BPF ring buffer: a probe hit takes the bytes its batch carries, its 32-byte head and the ring's
// 8-byte header; the largest one (~16 KiB) must fit a few times.
constexpr std::uint32_t kRingRecordBytes = (sizeof(cmwq_bpf_batch) + 8 + 7) / 8 * 8;
constexpr std::uint32_t kRingBufferMin = std::max(256u << 10, std::bit_ceil(4 * kRingRecordBytes));
constexpr std::uint32_t kRingBufferMax = 1u << 30;

/// Every CPU's value of entry 0 of a BPF per-CPU array (the BPF side's counters); empty if unreadable.
template <class T>
std::vector<T> per_cpu_values(const bpf_map* map) {
  std::vector<T> per(static_cast<std::size_t>(libbpf_num_possible_cpus()));
  __u32 zero = 0;
  if (bpf_map__lookup_elem(map, &zero, sizeof zero, per.data(), per.size() * sizeof(T), 0) != 0) per.clear();
  return per;
}

/// libbpf's log goes to stderr when WQSCOPE_BPF_LOG is set, nowhere otherwise.
void set_libbpf_log();

/// ring_buffer__poll(), then whatever its rings hold: records come without a wakeup until a ring
/// fills (ring_wakeup.bpf.h), so a poll that timed out has them to read too. Its result: records
/// read, or a callback's or epoll's negative error.
int poll_rings(ring_buffer* rb, int timeout_ms);

/// What a session polls: a process's cmwq:batch probe (Tracer) or the kernel's workqueues (KernelTracer).
class EventSource {
 public:
  virtual ~EventSource() = default;
  /// Waits up to `timeout_ms`, or until a ring holds enough to wake it (ring_wakeup.bpf.h), and
  /// hands over whatever arrived. False if it stopped with records still unread (its time budget ran
  /// out: the target writes faster than we read).
  virtual bool poll(int timeout_ms) = 0;
  /// Hands over everything still in the ring buffer.
  virtual void drain() = 0;
  virtual cmwq_bpf_stats stats() const = 0;
  /// What was left out on purpose, for the session's last words; empty if nothing.
  virtual std::string left_out() const { return {}; }
};

class Tracer : public EventSource {
 public:
  /// One probe hit: the records of one System's stream (`stream`: CMWQ_STREAM_ID) as the target wrote them.
  using BatchFn = std::function<void(std::uint64_t stream, std::span<const std::byte> records, std::uint64_t count)>;
  /// The kernel's off/on-CPU records of the target's threads: ahead of the pool's batches in time.
  using SchedFn = std::function<void(const cmwq_ev_state&)>;
  /// `ring_buffer_bytes`: a power of two from kRingBufferMin to kRingBufferMax.
  Tracer(pid_t pid, const std::string& binary, BatchFn fn, SchedFn sched,
         std::uint32_t ring_buffer_bytes = kRingBufferDefault);
  ~Tracer() override;
  Tracer(const Tracer&) = delete;
  Tracer& operator=(const Tracer&) = delete;

  bool poll(int timeout_ms) override;
  void drain() override;
  cmwq_bpf_stats stats() const override;
  /// `fn(pos)` after each batch handed over: it ends at hand-over position `pos` (--lossless).
  void on_read(std::function<void(std::uint64_t pos)> fn) { read_ = std::move(fn); }
  /// What the scheduler program would have given, if the kernel refused it; empty if it did not.
  std::string left_out() const override;

 private:
  /// Opens and loads the programs (the scheduler's too if `with_sched`); a negative errno if the kernel refused.
  int load(pid_t pid, std::uint32_t ring_buffer_bytes, bool with_sched);
  static int on_sample(void* self, void* data, std::size_t size);
  static int on_sched(void* self, void* data, std::size_t size);
  void rethrow();
  BatchFn fn_;
  SchedFn sched_;
  std::function<void(std::uint64_t)> read_;
  std::exception_ptr error_;  // thrown by fn_: kept until libbpf has returned, never unwound through it
  std::optional<std::chrono::steady_clock::time_point> budget_end_;  // while polling
  cmwq_bpf* skel_ = nullptr;
  bpf_link* link_ = nullptr;
  bpf_link* sched_link_ = nullptr;  // null when the kernel refused it: no off-CPU times then
  bpf_link* exit_link_ = nullptr;
  std::string no_sched_;  // why there are no off-CPU records, if there are none
  ring_buffer* rb_ = nullptr;  // both rings: poll() waits on either
  // The sched ring alone, read before each batch: a worker's ON_CPU is in it before the batch it then
  // sends, but one epoll wake-up may hand over the batch first (its EXECUTE_END then came before it).
  ring_buffer* sched_rb_ = nullptr;
};

}  // namespace wqscope
