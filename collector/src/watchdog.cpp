#include "watchdog.h"

#include <cmwq/core.h>

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
  return out;
}

std::int64_t Watchdog::next_deadline(const Model& model) const {
  std::int64_t next = std::numeric_limits<std::int64_t>::max();
  for (auto& [id, p] : model.pools()) {
    if (p.pending <= 0 || p.last_progress_ns < 0) continue;
    auto it = reported_.find(id);
    if (it != reported_.end() && it->second == p.last_progress_ns) continue;
    next = std::min(next, p.last_progress_ns + thresh_);
  }
  return next;
}

}  // namespace wqscope
