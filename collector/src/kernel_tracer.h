// Kernel mode's loader: bpf/kernel.bpf.c attached to the workqueue tracepoints and the scheduler,
// its records translated into the schema's (KernelStream) and handed over as batches.
#pragma once

#include "kernel_stream.h"
#include "tracer.h"

struct kernel_bpf;
struct bpf_link;
struct ring_buffer;

namespace wqscope {

/// The kernel's workqueue watchdog threshold (workqueue.watchdog_thresh), 30 s when unreadable.
std::int64_t kernel_watchdog_thresh_ns();
/// The kernel's CPU-intensive threshold (workqueue.cpu_intensive_thresh_us, 6.5 on), 10 ms when unreadable.
std::int64_t kernel_cpu_intensive_thresh_ns();

class KernelTracer : public EventSource {
 public:
  /// `raw_pointers`: work_struct and function addresses unhashed (KernelPointers).
  KernelTracer(Tracer::BatchFn fn, std::uint32_t ring_buffer_bytes, bool raw_pointers);
  ~KernelTracer() override;
  KernelTracer(const KernelTracer&) = delete;
  KernelTracer& operator=(const KernelTracer&) = delete;

  bool poll(int timeout_ms) override;
  void drain() override;
  cmwq_bpf_stats stats() const override;
  std::string left_out() const override;

 private:
  static int on_event(void* self, void* data, std::size_t size);
  cmwq_kernel_stats kernel_stats() const;
  void hand_over();  // the records translated so far, to fn_; rethrows what fn_ threw
  /// Opens and loads the programs (and try_to_grab_pending's if `with_grab`); a libbpf error.
  int load(std::uint32_t ring_buffer_bytes, bool with_grab);
  void destroy();
  Tracer::BatchFn fn_;
  KernelStream stream_;
  std::vector<std::byte> batch_;
  std::exception_ptr error_;  // thrown by fn_: kept until libbpf has returned
  kernel_bpf* skel_ = nullptr;
  std::vector<bpf_link*> links_;
  ring_buffer* rb_ = nullptr;
};

}  // namespace wqscope
