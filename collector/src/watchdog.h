// The collector's own alerts. Lockups: it does not trust the pool's watchdog
// (which, like the kernel's, reports between 1x and 2x its threshold): a pool
// with work waiting and no progress for `thresh` is reported at once, with the
// kernel's busy dump. CPU hogs in the kernel's words, and mayday storms, as
// the model hears of them.
#pragma once

#include "alert_kind.h"
#include "model.h"

#include <cmwq/constants.h>

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace wqscope {

struct Alert {
  AlertKind kind = AlertKind::Lockup;
  int pool = -1;
  std::string wq;          // for Stall, MaydayStorm and HiddenBlock; the function for CpuHog
  std::string identity;    // " cpus=0 node=0 flags=0x4 nice=0"
  std::string message;     // the kernel's line, or ours in its style
  std::int64_t time_ns = 0, stuck_ns = 0;
  int pending = 0;
};

/// Queueings of one function in a second that make a queue storm, unless told otherwise (--storm).
constexpr std::uint64_t kQueueStorm = 1000;

/// Maydays in one episode that make it a storm: a second of the mayday timer (MAYDAY_INTERVAL
/// 100 ms) with worker creation still failing.
constexpr std::uint64_t kMaydayStorm = 10;

class Watchdog : public ModelObserver {
 public:
  explicit Watchdog(std::int64_t thresh_ns) : thresh_(thresh_ns) {}
  /// Reports a function queued more than `per_second` times within a second (0: never), once per
  /// storm: until a second passes with no more than that.
  void watch_queue_storms(std::uint64_t per_second) { storm_ = per_second; }
  /// The CPU-intensive threshold hog alerts name (the kernel's wq_cpu_intensive_thresh_us); libcmwq's
  /// default, the kernel's, unless told.
  void hog_thresh(std::int64_t ns) { hog_thresh_ = ns; }
  /// New alerts at `now`: each stall is reported once, until its pool makes progress; then the
  /// alerts the records raised since the last check.
  std::vector<Alert> check(const Model&, std::int64_t now);
  /// The earliest time a check could report a stall that is not reported yet.
  std::int64_t next_deadline(const Model&) const;
  /// For replays: the checks a live watch would have made up to `t` (at each deadline, so a stall
  /// is reported as stuck for exactly `thresh`), then the alerts records raised. `out` gets each batch.
  void catch_up(const Model&, std::int64_t t, const std::function<void(const std::vector<Alert>&)>& out);

  void on_cpu_hog(const WorkInstance&, std::uint64_t count, std::int64_t ts) override;
  void on_mayday(const PoolInfo&, std::int64_t ts) override;
  void on_queue(const WorkInstance&) override;

 private:
  /// One function's queueings in the current second.
  struct Rate {
    std::int64_t since = -1;
    std::uint64_t count = 0;
    bool storming = false;
    std::map<int, std::uint64_t> queuers;  // pid -> how many, this second
  };
  /// A pool or workqueue that waits and is not reported yet, and since when it made no progress.
  struct Candidate {
    const PoolInfo* pool;
    const WorkqueueInfo* wq;
    const WorkerInfo* worker;
    Model::Waiting held;
    std::int64_t since;
  };
  std::vector<Candidate> candidates(const Model&) const;

  std::int64_t thresh_;
  std::map<int, std::int64_t> reported_;  // pool -> the progress stamp its alert was about
  std::map<std::string, std::int64_t> reported_wq_;  // workqueue -> the same
  std::map<int, std::int64_t> reported_worker_;      // worker -> the off-CPU stamp its alert was about
  std::vector<Alert> raised_;             // by records, since the last check
  std::uint64_t storm_ = 0;
  std::int64_t hog_thresh_ = cmwq::WQ_CPU_INTENSIVE_THRESH;
  std::map<std::pair<std::string, std::string>, Rate> rates_;  // by (function, workqueue)
};

}  // namespace wqscope
