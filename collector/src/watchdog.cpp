#include "watchdog.h"

#include <cmwq/core.h>

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace wqscope {

std::vector<Alert> Watchdog::check(const Model& model, std::int64_t now) {
  std::vector<Alert> out;
  for (auto& [id, p] : model.pools()) {
    if (p.pending <= 0 || p.last_progress_ns < 0) continue;
    std::int64_t stuck = now - p.last_progress_ns;
    if (stuck < thresh_) continue;
    auto it = reported_.find(id);
    if (it != reported_.end() && it->second == p.last_progress_ns) continue;
    reported_[id] = p.last_progress_ns;
    Alert a;
    a.kind = "lockup";
    a.pool = id;
    a.identity = model.pool_identity(p);
    a.message = cmwq::lockup_line(a.identity, stuck);
    a.time_ns = now;
    a.stuck_ns = stuck;
    a.pending = p.pending;
    out.push_back(std::move(a));
  }
  // Beyond the kernel: items held back by max_active behind work that never finishes are on no
  // worklist, so no pool looks stuck. Report the workqueue once nothing of it has started or ended
  // for the threshold.
  for (auto& [name, held] : model.held_back()) {
    const WorkqueueInfo* wq = nullptr;
    for (auto& [id, info] : model.workqueues())
      if (info.name == name) wq = &info;
    if (!wq || wq->in_flight == 0) continue;
    std::int64_t since = std::max(wq->last_progress_ns, held.oldest_ns);
    if (now - since < thresh_) continue;
    auto it = reported_wq_.find(name);
    if (it != reported_wq_.end() && it->second == since) continue;
    reported_wq_[name] = since;
    Alert a;
    a.kind = "stall";
    a.wq = name;
    a.stuck_ns = now - since;
    a.time_ns = now;
    a.pending = held.count;
    a.message = fmt::format("wqscope: workqueue {} stalled for {:.1f}s: {} item(s) held back by max_active {} behind {} "
                            "in flight",
                            name, static_cast<double>(a.stuck_ns) / 1e9, held.count, wq->max_active, wq->in_flight);
    out.push_back(std::move(a));
  }
  return out;
}

std::int64_t Watchdog::next_deadline(const Model& model) const {
  std::int64_t next = std::numeric_limits<std::int64_t>::max();
  for (auto& [name, held] : model.held_back())
    for (auto& [id, info] : model.workqueues())
      if (info.name == name && info.in_flight > 0) {
        std::int64_t since = std::max(info.last_progress_ns, held.oldest_ns);
        auto it = reported_wq_.find(name);
        if (it == reported_wq_.end() || it->second != since) next = std::min(next, since + thresh_);
      }
  for (auto& [id, p] : model.pools()) {
    if (p.pending <= 0 || p.last_progress_ns < 0) continue;
    auto it = reported_.find(id);
    if (it != reported_.end() && it->second == p.last_progress_ns) continue;
    next = std::min(next, p.last_progress_ns + thresh_);
  }
  return next;
}

}  // namespace wqscope
