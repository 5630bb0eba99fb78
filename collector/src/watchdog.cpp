#include "watchdog.h"

#include <cmwq/constants.h>
#include <cmwq/report.h>

#include <fmt/format.h>

#include <algorithm>
#include <limits>

namespace wqscope {

std::vector<Watchdog::Candidate> Watchdog::candidates(const Model& model) const {
  std::vector<Candidate> out;
  for (auto& [id, p] : model.pools()) {
    std::int64_t since = p.hung_since();
    if (since < 0) continue;
    auto it = reported_.find(id);
    if (it != reported_.end() && it->second == since) continue;
    out.push_back({&p, nullptr, nullptr, {}, since});
  }
  // Beyond the kernel: items held back by max_active behind work that never finishes are on no
  // worklist, so no pool looks stuck. A workqueue counts once nothing of it has started or ended.
  for (auto& [name, held] : model.held_back())
    for (auto& [id, wq] : model.workqueues()) {
      if (wq.name != name || wq.in_flight == 0) continue;
      std::int64_t since = std::max(wq.last_progress_ns, held.oldest_ns);
      auto it = reported_wq_.find(name);
      if (it != reported_wq_.end() && it->second == since) continue;
      out.push_back({nullptr, &wq, nullptr, held, since});
    }
  // Beyond the kernel too: a worker blocked inside an item in a plain syscall still counts as running.
  for (auto& [pid, w] : model.workers()) {
    // In an item still: a wait that began in one the pool has seen end since (its records came late)
    // blocks nothing now.
    if (!w.hidden_block || !w.current.work || !model.pools().count(w.pool)) continue;
    // By w.pid, as check() notes it: the model's key is the thread a record named, which a damaged
    // stream may give another pid.
    auto it = reported_worker_.find(w.pid);
    if (it != reported_worker_.end() && it->second == w.off_cpu_since) continue;
    out.push_back({nullptr, nullptr, &w, {}, w.off_cpu_since});
  }
  return out;
}

void Watchdog::on_cpu_hog(const WorkInstance& w, std::uint64_t count, std::int64_t ts) {
  if (!cmwq::hog_report_due(count)) return;
  Alert a;
  a.kind = AlertKind::CpuHog;
  a.pool = w.pool;
  a.wq = w.func;
  a.message = cmwq::hog_line(w.func, hog_thresh_, count);
  a.time_ns = ts;
  raised_.push_back(std::move(a));
}

void Watchdog::on_mayday(const PoolInfo& p, std::int64_t ts) {
  if (p.episode.maydays != kMaydayStorm) return;  // once per episode
  Alert a;
  a.kind = AlertKind::MaydayStorm;
  a.pool = p.id;
  a.time_ns = ts;
  a.stuck_ns = ts - p.episode.started_ns;
  a.pending = p.pending;
  for (auto& wq : p.episode.workqueues) a.wq += (a.wq.empty() ? "" : ",") + wq;
  raised_.push_back(std::move(a));
}

void Watchdog::on_queue(const WorkInstance& w) {
  if (!storm_) return;
  constexpr std::int64_t kSecond = 1'000'000'000;
  Rate& r = rates_[{w.func, w.wq}];
  if (r.since < 0 || w.queued_ns - r.since >= kSecond) {  // a new second
    if (r.count <= storm_) r.storming = false;           // the last one was quiet: a storm is over
    r.since = w.queued_ns;
    r.count = 0;
    r.queuers.clear();
  }
  ++r.count;
  ++r.queuers[w.queued_by];
  if (r.count <= storm_ || r.storming) return;
  r.storming = true;
  auto top = std::max_element(r.queuers.begin(), r.queuers.end(),
                              [](auto& a, auto& b) { return a.second < b.second; });
  Alert a;
  a.kind = AlertKind::QueueStorm;
  a.pool = w.pool;
  a.wq = w.func;
  a.time_ns = w.queued_ns;
  a.stuck_ns = w.queued_ns - r.since;
  a.message = fmt::format("wqscope: queue storm - {} on workqueue {} queued {} times in {:.3f}s (more than {}/s: "
                          "workqueue_queue_work), {} of them by pid {}",
                          w.func.empty() ? "?" : w.func.str(), w.wq.empty() ? "?" : w.wq.str(), r.count,
                          static_cast<double>(a.stuck_ns) / 1e9, storm_, top->second, top->first);
  raised_.push_back(std::move(a));
}

std::vector<Alert> Watchdog::check(const Model& model, std::int64_t now) {
  std::vector<Alert> out;
  for (const Candidate& c : candidates(model)) {
    if (now - c.since < thresh_) continue;
    Alert a;
    a.time_ns = now;
    a.stuck_ns = now - c.since;
    if (c.pool) {
      reported_[c.pool->id] = c.since;
      a.kind = AlertKind::Lockup;
      a.pool = c.pool->id;
      a.identity = model.pool_identity(*c.pool);
      a.message = cmwq::lockup_line(a.identity, a.stuck_ns);
      a.pending = c.pool->pending;
    } else if (c.worker) {
      reported_worker_[c.worker->pid] = c.since;
      const PoolInfo& p = model.pools().at(c.worker->pool);
      a.kind = AlertKind::HiddenBlock;
      a.pool = p.id;
      a.identity = model.pool_identity(p);
      a.wq = c.worker->current.wq;
      a.pending = p.pending;
      std::uint32_t st = c.worker->off_cpu_state;
      std::string state = st & 1 ? "S" : st & 2 ? "D" : fmt::format("0x{:x}", st);
      a.message = fmt::format("wqscope: worker {} of pool{} blocked for {:.1f}s in {} without telling the pool "
                              "(task state {}): it still counts as running, so no other worker starts; {} item(s) wait",
                              c.worker->pid, a.identity, static_cast<double>(a.stuck_ns) / 1e9,
                              c.worker->current.func, state, p.pending);
    } else {
      reported_wq_[c.wq->name] = c.since;
      a.kind = AlertKind::Stall;
      a.wq = c.wq->name;
      a.pending = c.held.count;
      a.message = fmt::format("wqscope: workqueue {} stalled for {:.1f}s: {} item(s) held back by max_active {} "
                              "behind {} in flight",
                              a.wq, static_cast<double>(a.stuck_ns) / 1e9, c.held.count, c.wq->max_active,
                              c.wq->in_flight);
    }
    out.push_back(std::move(a));
  }
  for (Alert& a : raised_) {
    if (a.kind == AlertKind::MaydayStorm) {
      if (auto p = model.pools().find(a.pool); p != model.pools().end()) a.identity = model.pool_identity(p->second);
      a.message = fmt::format("wqscope: mayday storm - pool{} called the rescuers of {} {} times in {:.1f}s: "
                              "worker creation keeps failing (memory pressure?)",
                              a.identity, a.wq, kMaydayStorm, static_cast<double>(a.stuck_ns) / 1e9);
    }
    out.push_back(std::move(a));
  }
  raised_.clear();
  return out;
}

std::int64_t Watchdog::next_deadline(const Model& model) const {
  std::int64_t next = std::numeric_limits<std::int64_t>::max();
  for (const Candidate& c : candidates(model))  // saturating: a damaged stream's times reach INT64_MAX
    next = std::min(next, c.since > next - thresh_ ? next : c.since + thresh_);
  return next;
}

}  // namespace wqscope

namespace wqscope {

void Watchdog::catch_up(const Model& model, std::int64_t t,
                        const std::function<void(const std::vector<Alert>&)>& out) {
  for (std::int64_t d = next_deadline(model), last = INT64_MIN; d <= t && d > last; last = d, d = next_deadline(model)) {
    auto alerts = check(model, d);
    if (alerts.empty()) break;  // a deadline that raised nothing will not raise later
    out(alerts);
  }
  if (!raised_.empty()) out(check(model, t));
}

}  // namespace wqscope
