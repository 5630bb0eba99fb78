// Recordings without a live target: `wqscope show`, `stats` and `replay` read them, `import`
// makes one from a captured event stream (the simulator's, a test's). No BPF, no privileges.
#pragma once

#include "alerts.h"
#include "watchdog.h"

#include <cstdint>
#include <optional>
#include <string>

namespace wqscope {

/// The state at `at` (or the end) in the kernel's busy-dump format, after the lockups active then.
int show(const std::string& db, const std::optional<std::string>& at, std::int64_t thresh_ns);

/// wq_monitor's table per workqueue, for the whole recording or every `interval_s`; with `top` > 0,
/// the functions by queue rate, run count and CPU time instead (`top` of each), over the same spans.
int stats(const std::string& db, std::optional<double> interval_s, int top = 0);

struct ReplayOptions {
  double speed = 0;  // 0: as fast as possible; 1: as recorded
  std::int64_t thresh_ns = 30'000'000'000;
  std::uint64_t storm = kQueueStorm;  // kernel recordings: a function queued more than this many times a second
  AlertOutput out;
};

/// `watch` over a recording: the same watchdog and the same alerts.
int replay(const std::string& db, const ReplayOptions&);

/// A new recording at `output` from a file of cmwq/events.h records (`cmwq-sim --events`,
/// Options::on_events), with the alerts of a watchdog at `thresh_ns`.
int import_events(const std::string& events, const std::string& output, std::int64_t thresh_ns);

}  // namespace wqscope
