#include "tracer.h"

#include "cmwq.skel.h"

#include <bpf/libbpf.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <climits>
#include <cstring>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <utility>
#include <vector>

namespace wqscope {

namespace {

bool has_cap(int cap) {
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct data[2] = {};
  if (syscall(SYS_capget, &hdr, data) != 0) return false;
  return data[cap / 32].effective & (1u << (cap % 32));
}

}  // namespace

void require_bpf_privileges() {
  constexpr int kCapSysAdmin = 21, kCapPerfmon = 38, kCapBpf = 39;
  if (has_cap(kCapSysAdmin) || (has_cap(kCapBpf) && has_cap(kCapPerfmon))) return;
  throw TracerError("loading the BPF program needs root, or CAP_BPF and CAP_PERFMON; run it with sudo");
}

void require_kernel_btf() {
  // Checked up front: without it libbpf fails deep inside the load with a bare "No such process".
  if (::access("/sys/kernel/btf/vmlinux", R_OK) == 0) return;
  throw TracerError("this kernel exposes no BTF at /sys/kernel/btf/vmlinux (CONFIG_DEBUG_INFO_BTF): wqscope needs it "
                    "to load its CO-RE BPF program; boot a kernel built with CONFIG_DEBUG_INFO_BTF=y (most "
                    "distribution kernels are)");
}

void set_libbpf_log() {
  // libbpf's own log (the verifier's, among others) only when asked: WQSCOPE_BPF_LOG=1.
  static const bool wanted = std::getenv("WQSCOPE_BPF_LOG") != nullptr;
  libbpf_set_print(wanted ? [](libbpf_print_level, const char* f, va_list ap) { return std::vfprintf(stderr, f, ap); }
                          : [](libbpf_print_level, const char*, va_list) { return 0; });
}

int poll_rings(ring_buffer* rb, int timeout_ms) {
  int n = ring_buffer__poll(rb, timeout_ms);
  return n >= 0 || n == -EINTR ? ring_buffer__consume(rb) : n;
}

Tracer::Tracer(pid_t pid, const std::string& binary, BatchFn fn, SchedFn sched, std::uint32_t ring_buffer_bytes)
    : fn_(std::move(fn)), sched_(std::move(sched)) {
  set_libbpf_log();
  // The scheduler's programs (off-CPU times, hidden blocks) are a bonus: a kernel that refuses
  // them (older, or built without what they read) is still traced through the probe alone.
  int err = load(pid, ring_buffer_bytes, true);
  if (err && err != -ENOMEM) {  // ENOMEM: the ring buffer, which the probe needs too
    int first = err;
    err = load(pid, ring_buffer_bytes, false);
    if (!err) {
      no_sched_ = fmt::format("the kernel refused the scheduler program ({}): no off-CPU times of workers and no "
                              "hidden-block alerts (WQSCOPE_BPF_LOG=1 shows the verifier's reasons)",
                              std::strerror(-first));
      fmt::print(stderr, "wqscope: warning: {}\n", no_sched_);
    } else {
      err = first;  // not the scheduler's fault: say what the first attempt said
    }
  }
  if (err) {
    cmwq_bpf__destroy(skel_);
    throw TracerError(fmt::format("cannot load the BPF program: {} (is this kernel built with BPF and uprobes?{})",
                                  std::strerror(-err),
                                  ring_buffer_bytes > kRingBufferDefault ? " is --ring-buffer too large?" : ""));
  }
  // Attached to this process only, never to every process of the program (pid -1): the probe's
  // semaphore rises in it alone, so other processes mapping the same libcmwq (and other tracers'
  // targets) are not made to trace.
  link_ = bpf_program__attach_usdt(skel_->progs.on_batch, pid, binary.c_str(), "cmwq", "batch", nullptr);
  if (!link_) {
    int attach_err = errno;
    cmwq_bpf__destroy(skel_);
    throw TracerError(fmt::format("cannot attach to cmwq:batch in {}: {}", binary, std::strerror(attach_err)));
  }
  if (no_sched_.empty()) {
    sched_link_ = bpf_program__attach(skel_->progs.on_switch);
    if (!sched_link_) {
      no_sched_ = fmt::format("cannot attach to sched_switch ({}): no off-CPU times of workers and no hidden-block "
                              "alerts", std::strerror(errno));
      fmt::print(stderr, "wqscope: warning: {}\n", no_sched_);
    }
  }
  // Without it a thread that exits while off the CPU keeps its off_since entry: a leak, not a loss.
  if (sched_link_ && !(exit_link_ = bpf_program__attach(skel_->progs.on_exit)))
    fmt::print(stderr, "wqscope: warning: cannot attach to sched_process_exit ({}): exited workers are not forgotten "
                       "by the scheduler program\n",
               std::strerror(errno));
  rb_ = ring_buffer__new(bpf_map__fd(skel_->maps.batches), on_sample, this, nullptr);
  if (rb_ && ring_buffer__add(rb_, bpf_map__fd(skel_->maps.sched), on_sched, this) != 0) {
    ring_buffer__free(rb_);
    rb_ = nullptr;
  }
  if (rb_ && !(sched_rb_ = ring_buffer__new(bpf_map__fd(skel_->maps.sched), on_sched, this, nullptr))) {
    ring_buffer__free(rb_);
    rb_ = nullptr;
  }
  if (!rb_) {
    int rb_err = errno;
    bpf_link__destroy(exit_link_);
    bpf_link__destroy(sched_link_);
    bpf_link__destroy(link_);
    cmwq_bpf__destroy(skel_);
    throw TracerError(fmt::format("cannot open the BPF ring buffer: {}", std::strerror(rb_err)));
  }
}

int Tracer::load(pid_t pid, std::uint32_t ring_buffer_bytes, bool with_sched) {
  cmwq_bpf__destroy(skel_);  // a failed attempt's
  skel_ = cmwq_bpf__open();
  if (!skel_) throw TracerError(fmt::format("cannot open the BPF program: {}", std::strerror(errno)));
  skel_->rodata->target_tgid = static_cast<__u32>(pid);
  if (int err = bpf_map__set_max_entries(skel_->maps.batches, ring_buffer_bytes)) {
    cmwq_bpf__destroy(skel_);
    skel_ = nullptr;
    throw TracerError(fmt::format("cannot size the BPF ring buffer: {}", std::strerror(-err)));
  }
  if (!with_sched) {
    bpf_program__set_autoload(skel_->progs.on_switch, false);
    bpf_program__set_autoload(skel_->progs.on_exit, false);
  } else if (std::getenv("WQSCOPE_TEST_BREAK_SCHED")) {
    // Tests only: a scheduler program this kernel refuses, as an older one would (it has no
    // function sched_switch to attach an fentry program to).
    bpf_program__set_expected_attach_type(skel_->progs.on_switch, BPF_TRACE_FENTRY);
  }
  return cmwq_bpf__load(skel_);
}

std::string Tracer::left_out() const { return no_sched_; }

Tracer::~Tracer() {
  ring_buffer__free(sched_rb_);
  ring_buffer__free(rb_);
  bpf_link__destroy(exit_link_);
  bpf_link__destroy(sched_link_);
  bpf_link__destroy(link_);
  cmwq_bpf__destroy(skel_);
}

int Tracer::on_sched(void* self, void* data, std::size_t size) {
  auto* t = static_cast<Tracer*>(self);
  if (size < sizeof(cmwq_ev_state)) return 0;
  try {
    t->sched_(*static_cast<const cmwq_ev_state*>(data));
  } catch (...) {
    t->error_ = std::current_exception();
    return -ECANCELED;
  }
  return 0;
}

int Tracer::on_sample(void* self, void* data, std::size_t size) {
  auto* t = static_cast<Tracer*>(self);
  auto* b = static_cast<const cmwq_bpf_batch*>(data);
  // The program writes the batch at the size it has: its head, then len bytes.
  if (size < offsetof(cmwq_bpf_batch, data) || b->len > size - offsetof(cmwq_bpf_batch, data)) return 0;
  // What the scheduler saw before this batch was sent comes first (the two rings share its consumer position).
  if (ring_buffer__consume(t->sched_rb_) < 0) return -ECANCELED;
  try {
    t->fn_(b->stream, std::span(reinterpret_cast<const std::byte*>(b->data), b->len), b->count);
    if (t->read_) t->read_(b->pos);
  } catch (...) {  // e.g. the disk is full: stop consuming, poll() rethrows
    t->error_ = std::current_exception();
    return -ECANCELED;
  }
  // A target faster than us must not keep us here forever: the caller has signals and
  // deadlines to look at. What is left stays in the ring buffer for the next poll.
  return t->budget_end_ && std::chrono::steady_clock::now() > *t->budget_end_ ? -EAGAIN : 0;
}

bool Tracer::poll(int timeout_ms) {
  budget_end_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms + 50);
  int n = poll_rings(rb_, timeout_ms);
  budget_end_.reset();
  rethrow();
  if (n < 0 && n != -EINTR && n != -EAGAIN) throw TracerError(fmt::format("ring buffer: {}", std::strerror(-n)));
  return n != -EAGAIN;  // on_sample's: the budget ran out
}

void Tracer::drain() {
  while (ring_buffer__consume(rb_) > 0) {
  }
  rethrow();
}

void Tracer::rethrow() {
  if (auto e = std::exchange(error_, nullptr)) std::rethrow_exception(e);
}

cmwq_bpf_stats Tracer::stats() const {
  cmwq_bpf_stats total{};
  for (auto& s : per_cpu_values<cmwq_bpf_stats>(skel_->maps.stats)) {
    total.batches += s.batches;
    total.dropped_batches += s.dropped_batches;
    total.dropped_events += s.dropped_events;
    total.read_errors += s.read_errors;
    total.oversized += s.oversized;
    total.sched_dropped += s.sched_dropped;
  }
  return total;
}

}  // namespace wqscope
