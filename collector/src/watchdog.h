// The collector's own lockup detector. It does not trust the pool's watchdog
// (which, like the kernel's, reports between 1x and 2x its threshold): a pool
// with work waiting and no progress for `thresh` is reported at once.
#pragma once

#include "model.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace wqscope {

struct Alert {
  std::string kind;        // "lockup": a pool's worklist; "stall": a workqueue's held-back items
  int pool = -1;
  std::string wq;          // for "stall"
  std::string identity;    // " cpus=0 node=0 flags=0x4 nice=0"
  std::string message;     // the kernel's line
  std::int64_t time_ns = 0, stuck_ns = 0;
  int pending = 0;
};

class Watchdog {
 public:
  explicit Watchdog(std::int64_t thresh_ns) : thresh_(thresh_ns) {}
  /// New alerts at `now`: each stall is reported once, until its pool makes progress.
  std::vector<Alert> check(const Model&, std::int64_t now);
  /// The earliest time a check could report a stall that is not reported yet.
  std::int64_t next_deadline(const Model&) const;

 private:
  /// A pool or workqueue that waits and is not reported yet, and since when it made no progress.
  struct Candidate {
    const PoolInfo* pool;
    const WorkqueueInfo* wq;
    Model::Waiting held;
    std::int64_t since;
  };
  std::vector<Candidate> candidates(const Model&) const;

  std::int64_t thresh_;
  std::map<int, std::int64_t> reported_;  // pool -> the progress stamp its alert was about
  std::map<std::string, std::int64_t> reported_wq_;  // workqueue -> the same
};

}  // namespace wqscope
