// `wqscope record`, `wqscope watch` and `wqscope stats` of a live target.
#pragma once

#include "watchdog.h"

#include "alerts.h"
#include "target.h"

#include <cstdint>

#include <optional>
#include <string>
#include <sys/types.h>

namespace wqscope {

struct WatchOptions {
  std::int64_t thresh_ns = 30'000'000'000;
  std::uint64_t storm = kQueueStorm;  // --kernel: report a function queued more than this many times a second
  bool json = false;
  std::string exec;    // run without a shell, the alert as JSON on stdin
  std::int64_t exec_timeout_ns = 10'000'000'000;  // a hook still running then is killed
  std::string output;  // also record, if set
  std::optional<gid_t> group;  // --group: the recording is mode 0640 and this group's, not 0600
  std::string metrics; // serve Prometheus metrics at this address (from metrics_address), if set
  bool quiet = false;  // record: alerts go to the recording only
  AlertOutput::Explain explain;  // --explain: the explainer, after each lockup's dump
};

/// Headless lockup detection. Returns the process exit status.
int watch(const Target&, const WatchOptions&);

/// Traces the target into a new recording at `output`: `watch` that only records, its stalls
/// longer than `thresh_ns` in the alerts table. Returns the process exit status.
int record(const Target&, const std::string& output, std::int64_t thresh_ns, std::optional<gid_t> group);

/// wq_monitor's table of the target's workqueues, live: every `interval_s` seconds, `count` times
/// (0: until the session ends); with `top` > 0 the functions by queue rate, run count and CPU time over
/// each interval instead (TopFunctions); `json`: wq_monitor.py's --json lines instead of the table.
/// With Target::kernel, the table is the kernel's own counters of all its workqueues (KernelCounters)
/// where it keeps them (6.5 on), otherwise what the tracepoints show from now on.
int live_stats(const Target&, double interval_s, int count, int top = 0, bool json = false);

}  // namespace wqscope
