#include "kernel_tracer.h"

#include "kernel.skel.h"

#include <bpf/libbpf.h>
#include <cmwq/kernel_era.h>
#include <fmt/format.h>
#include <sys/utsname.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <utility>

namespace wqscope {

namespace {

constexpr std::size_t kBatchBytes = 64 * 1024;  // hand over in pieces of about this much

void warn_no_grab(int err) {
  fmt::print(stderr, "wqscope: warning: cannot trace try_to_grab_pending ({}): items cancelled while queued will look "
                     "queued until queued again\n",
             std::strerror(-err));
}

}  // namespace

std::int64_t kernel_watchdog_thresh_ns() {
  std::ifstream in("/sys/module/workqueue/parameters/watchdog_thresh");
  long long s = 30;
  in >> s;
  return (in && s > 0 ? s : 30) * 1'000'000'000LL;
}

std::int64_t kernel_cpu_intensive_thresh_ns() {
  std::ifstream in("/sys/module/workqueue/parameters/cpu_intensive_thresh_us");
  long long us = 10'000;
  in >> us;
  return (in && us > 0 ? us : 10'000) * 1'000LL;
}

KernelTracer::KernelTracer(Tracer::BatchFn fn, std::uint32_t ring_buffer_bytes, bool raw_pointers)
    // Read while still privileged: the session drops its capabilities once attached.
    : fn_(std::move(fn)),
      stream_(KernelSymbols::load(), KernelPointers(raw_pointers), libbpf_num_possible_cpus(),
              kernel_watchdog_thresh_ns()) {
  utsname u{};
  if (::uname(&u) == 0) stream_.print_as(cmwq::dialect_of(cmwq::kernel_of_release(u.release)));
  set_libbpf_log();
  // try_to_grab_pending is a function, not a tracepoint: a kernel that inlined it (or has no BPF
  // trampolines) is still traced, without seeing cancellations.
  int err = load(ring_buffer_bytes, true);
  if (err && err != -ENOMEM) {
    int first = err;
    destroy();
    err = load(ring_buffer_bytes, false);
    if (!err) warn_no_grab(first);
    else err = first;  // not its fault: say what the first attempt said
  }
  if (err) {
    destroy();
    throw TracerError(fmt::format("cannot load the kernel-mode BPF program: {} (this kernel's workqueue structures "
                                  "or tracepoints differ from what it reads: workqueue_* tracepoints, struct "
                                  "worker_pool, pool_workqueue and worker in its BTF)",
                                  std::strerror(-err)));
  }
  for (bpf_program* prog : {skel_->progs.on_queue, skel_->progs.on_activate, skel_->progs.on_start,
                             skel_->progs.on_end, skel_->progs.on_switch, skel_->progs.on_exit, skel_->progs.on_grab}) {
    if (!bpf_program__autoload(prog)) continue;
    if (bpf_link* link = bpf_program__attach(prog)) {
      links_.push_back(link);
      continue;
    }
    int attach_err = errno;
    if (prog == skel_->progs.on_grab) {
      warn_no_grab(-attach_err);
      continue;
    }
    destroy();
    throw TracerError(fmt::format("cannot attach to the kernel's {}: {}", bpf_program__section_name(prog),
                                  std::strerror(attach_err)));
  }
  rb_ = ring_buffer__new(bpf_map__fd(skel_->maps.events), on_event, this, nullptr);
  if (!rb_) {
    int rb_err = errno;
    destroy();
    throw TracerError(fmt::format("cannot open the BPF ring buffer: {}", std::strerror(rb_err)));
  }
}

KernelTracer::~KernelTracer() { destroy(); }

int KernelTracer::load(std::uint32_t ring_buffer_bytes, bool with_grab) {
  skel_ = kernel_bpf__open();
  if (!skel_) throw TracerError(fmt::format("cannot open the kernel-mode BPF program: {}", std::strerror(errno)));
  if (int err = bpf_map__set_max_entries(skel_->maps.events, ring_buffer_bytes)) return err;
  if (!with_grab) bpf_program__set_autoload(skel_->progs.on_grab, false);
  return kernel_bpf__load(skel_);
}

void KernelTracer::destroy() {
  ring_buffer__free(rb_);
  rb_ = nullptr;
  for (bpf_link* link : links_) bpf_link__destroy(link);
  links_.clear();
  kernel_bpf__destroy(skel_);
  skel_ = nullptr;
}

int KernelTracer::on_event(void* self, void* data, std::size_t size) {
  auto* t = static_cast<KernelTracer*>(self);
  if (size < sizeof(cmwq_kernel_event)) return 0;
  try {
    t->stream_.translate(*static_cast<const cmwq_kernel_event*>(data), t->batch_);
    if (t->batch_.size() >= kBatchBytes) {
      t->fn_(kKernelStream, t->batch_, 0);
      t->batch_.clear();
    }
  } catch (...) {  // e.g. the disk is full: stop consuming, poll() rethrows
    t->error_ = std::current_exception();
    return -ECANCELED;
  }
  return 0;
}

void KernelTracer::hand_over() {
  if (!error_ && !batch_.empty()) {
    try {
      fn_(kKernelStream, batch_, 0);
    } catch (...) {
      error_ = std::current_exception();
    }
  }
  batch_.clear();
  if (auto e = std::exchange(error_, nullptr)) std::rethrow_exception(e);
}

bool KernelTracer::poll(int timeout_ms) {
  int n = poll_rings(rb_, timeout_ms);
  hand_over();
  if (n < 0 && n != -EINTR && n != -EAGAIN) throw TracerError(fmt::format("ring buffer: {}", std::strerror(-n)));
  return true;
}

void KernelTracer::drain() {
  while (ring_buffer__consume(rb_) > 0) hand_over();
  hand_over();
}

cmwq_kernel_stats KernelTracer::kernel_stats() const {
  cmwq_kernel_stats total{};
  for (auto& s : per_cpu_values<cmwq_kernel_stats>(skel_->maps.stats)) {
    total.events += s.events;
    total.dropped += s.dropped;
    total.bh_skipped += s.bh_skipped;
  }
  return total;
}

cmwq_bpf_stats KernelTracer::stats() const {
  cmwq_kernel_stats k = kernel_stats();
  cmwq_bpf_stats total{};
  total.batches = k.events;
  total.dropped_events = k.dropped;
  return total;
}

std::string KernelTracer::left_out() const {
  std::uint64_t bh = kernel_stats().bh_skipped;
  return bh ? fmt::format("{} run(s) of BH items (in softirq) not traced: queued before tracing began, their pool is unknown", bh) : "";
}

}  // namespace wqscope
