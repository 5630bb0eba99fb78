// stats --kernel's exact numbers: bpf/kstats.bpf.c, run on demand, reads every workqueue of the
// kernel's list and sums its pool_workqueues' stats[] as tools/workqueue/wq_monitor.py does.
#pragma once

#include "kstats_bpf.h"
#include "tracer.h"

#include <cmwq/report.h>

#include <memory>
#include <string>
#include <vector>

struct kstats_bpf;

namespace wqscope {

/// One reading of the kernel's counters.
struct KernelCounts {
  std::int64_t begin_ns = 0, end_ns = 0;   // CLOCK_MONOTONIC around the walk
  std::vector<cmwq::report::Monitor> wqs;  // in the kernel's list order (creation order)
  std::uint32_t truncated = 0;             // workqueues left out (more than the reader has room for)
};

/// An event source without events (the session polls it: it waits), whose read() gives the counters.
class KernelCounters : public EventSource {
 public:
  /// The reader, loaded and tried once; null, and why in `why`, where this kernel cannot give its
  /// counters (before 6.5 struct pool_workqueue has no stats[]) or refuses the program.
  static std::unique_ptr<KernelCounters> open(std::string& why);
  ~KernelCounters() override;
  KernelCounters(const KernelCounters&) = delete;
  KernelCounters& operator=(const KernelCounters&) = delete;

  KernelCounts read();

  bool poll(int timeout_ms) override;
  void drain() override {}
  cmwq_bpf_stats stats() const override { return {}; }

 private:
  KernelCounters() = default;
  kstats_bpf* skel_ = nullptr;
};

}  // namespace wqscope
