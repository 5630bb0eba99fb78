#include "kernel_counters.h"

#include "kallsyms.h"
#include "kstats.skel.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <poll.h>

namespace wqscope {

namespace {

// wq_monitor's counters, in the order of kstats_bpf.h's index[].
enum Column { kStarted, kCompleted, kCpuTime, kCpuIntensive, kCmWakeup, kRepatriated, kMayday, kRescued };

}  // namespace

std::unique_ptr<KernelCounters> KernelCounters::open(std::string& why) {
  set_libbpf_log();
  std::unique_ptr<KernelCounters> c(new KernelCounters);
  c->skel_ = kstats_bpf__open();
  if (!c->skel_) throw TracerError(fmt::format("cannot open the counter reader: {}", std::strerror(errno)));
  c->skel_->rodata->kernel_text = KernelSymbols::address("_text");
  if (int err = kstats_bpf__load(c->skel_)) {
    why = fmt::format("the kernel refused the program that reads its counters ({}; WQSCOPE_BPF_LOG=1 shows the "
                      "verifier's reasons)",
                      std::strerror(-err));
    return nullptr;
  }
  try {
    c->read();
  } catch (const TracerError& e) {
    why = e.what();
    return nullptr;
  }
  return c;
}

KernelCounters::~KernelCounters() { kstats_bpf__destroy(skel_); }

KernelCounts KernelCounters::read() {
  LIBBPF_OPTS(bpf_test_run_opts, opts);
  if (bpf_prog_test_run_opts(bpf_program__fd(skel_->progs.read_counters), &opts) != 0)
    throw TracerError(fmt::format("cannot run the program that reads the kernel's counters: {}", std::strerror(errno)));
  const cmwq_kstats_run& run = skel_->bss->run;
  if (!run.has_stats)
    throw TracerError("this kernel keeps no counters per pool_workqueue (its struct pool_workqueue has no stats[]: "
                      "Linux 6.5 added them)");
  auto index = [&](Column c) { return run.index[c] >= 0 && run.index[c] < static_cast<int>(run.nr_stats) ? run.index[c] : -1; };
  if (index(kStarted) < 0 || index(kCompleted) < 0 || index(kCpuTime) < 0)
    throw TracerError("this kernel's enum pool_workqueue_stats has no PWQ_STAT_STARTED, COMPLETED or CPU_TIME");
  if (!run.found)
    throw TracerError("no rescuer kworker was found to reach the kernel's list of workqueues from");
  KernelCounts out;
  out.begin_ns = static_cast<std::int64_t>(run.begin_ns);
  out.end_ns = static_cast<std::int64_t>(run.end_ns);
  out.truncated = run.truncated;
  const std::uint32_t n = std::min<std::uint32_t>(run.nr_wqs, CMWQ_KSTATS_MAX_WQS);
  // From the record after the list head: the kernel's order, wq_monitor's.
  const std::uint32_t first = run.head_at < n ? run.head_at : 0;
  for (std::uint32_t i = 0; i < n; ++i) {
    const cmwq_kstats_wq& r = skel_->bss->wqs[(first + i) % n];
    auto stat = [&](Column c) { return index(c) < 0 ? 0 : r.stats[index(c)]; };
    cmwq::report::Monitor m;
    m.name.assign(r.name, strnlen(r.name, sizeof r.name));
    m.flags = r.flags;
    m.started = stat(kStarted);
    m.completed = stat(kCompleted);
    m.cpu_time_ns = stat(kCpuTime) * 1000;  // the kernel counts microseconds (a tick's worth at a time)
    m.cpu_intensive = stat(kCpuIntensive);
    m.cm_wakeup = stat(kCmWakeup);
    m.repatriated = stat(kRepatriated);
    m.mayday = stat(kMayday);
    m.rescued = stat(kRescued);
    m.cm_known = index(kCmWakeup) >= 0 && index(kRepatriated) >= 0;
    m.internals_known = index(kCpuIntensive) >= 0 && index(kMayday) >= 0 && index(kRescued) >= 0;
    out.wqs.push_back(std::move(m));
  }
  return out;
}

bool KernelCounters::poll(int timeout_ms) {
  ::poll(nullptr, 0, timeout_ms);
  return true;
}

}  // namespace wqscope
