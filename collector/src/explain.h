// Why a stuck pool makes no progress, from the model's state: one explainer for imported kernel
// reports and libcmwq recordings (the latter know more: flushers, off-CPU states, hog marks).
// For each stuck pool, its causes in plain words and the wait-for chains through it: a flusher
// waits for the item its barrier (BAR(pid)) follows, an item waits for the worker running it or for
// its pool, a pool for the worker that keeps it from starting another. A cycle is a deadlock.
#pragma once

#include "model.h"

#include <cstdint>
#include <string>
#include <vector>

namespace wqscope {

struct Explanation {
  /// One step of a wait-for chain: a worker, or an item it waits for.
  struct Link {
    enum Kind { Worker, Item } kind = Worker;
    int pid = 0;               // the worker; for an item, the flusher waiting (BAR(pid))
    int pool = -1;
    std::string func;          // the worker's current item, or the item
    std::string wq;
    std::string state;         // a worker's: "R", "D", "S", "idle"; an item's: "running", "pending", "inactive"
    int running_on = 0;        // an item running on this worker
  };
  struct Chain {
    std::vector<Link> links;
    bool deadlock = false;     // the last link is a worker met before
  };
  struct Cause {
    std::string kind;          // no_worker, disassociated, manager_no_idle, running, sleeping, flushing, cpu_busy,
                               // max_active, unknown
    int worker = 0;
    std::string func, wq, state;
    std::uint64_t hogs = 0;    // hog warnings (CPU-intensive marks) of func
    int count = 0;             // items concerned
    std::string text;          // in plain words
  };
  struct Stuck {
    int pool = -1;
    std::string identity;
    std::int64_t stuck_s = 0;
    int pending = 0;
    std::vector<Cause> causes;
    std::vector<Chain> chains;
  };
  std::int64_t at_ns = 0;
  std::vector<Stuck> pools;
  std::vector<Chain> deadlocks;
  std::vector<std::pair<std::string, int>> top_pending, top_in_flight;  // functions, most frequent first
};

/// The pools stuck at `now` (items on the worklist, no progress for `thresh_ns`) and why.
Explanation explain(const Model&, std::int64_t now, std::int64_t thresh_ns);

/// The threshold `explain` uses unless told: a kernel report names its stuck pools (it printed their
/// hung=), so any age counts; a recording's pools are stuck past the kernel's default, 30 s.
std::int64_t default_thresh_ns(const Model&);

std::vector<std::string> explain_text(const Explanation&);
std::string chain_text(const Explanation::Chain&);  // "worker 4410 (...) -> item [BAR(4410)] ... -> worker 57 (...)"
std::string explain_json(const Explanation&);  // one JSON object

}  // namespace wqscope
