// What the model's state says, asked by the watchdog, the sinks and the readers.
#include "model.h"

#include <cmwq/report.h>

#include <algorithm>

namespace wqscope {

std::string Model::pool_identity(const PoolInfo& p) const {
  if (!p.identity.empty()) return p.identity;
  std::vector<int> cpus;
  if (p.cpu >= 0) cpus.push_back(p.cpu);
  else
    // A damaged HELLO or snapshot may claim billions: no kernel has more than NR_CPUS 8192.
    for (int c = 0; c < std::min(possible_cpus_, 8192); ++c) cpus.push_back(c);
  int node = p.node != PoolInfo::kNodeNotSaid ? p.node : p.cpu >= 0 ? 0 : cmwq::NUMA_NO_NODE;
  return cmwq::pool_identity(cpus, node, p.flags, p.nice);
}

std::map<std::string, Model::Waiting> Model::held_back() const {
  // Per pwq, not per item: a stuck workqueue may hold back thousands, and watchdogs ask often.
  std::map<std::string, Waiting> out;
  for (auto& [key, q] : pwqs_) {
    if (q.inactive.empty()) continue;
    auto wq = wqs_.find(q.wq);
    auto first = std::find_if(q.inactive.begin(), q.inactive.end(), [](const Entry& x) { return x.work != 0; });
    if (wq == wqs_.end() || first == q.inactive.end()) continue;
    Waiting& h = out[wq->second.name];
    h.count += static_cast<int>(q.inactive.size());  // FIFO: the first is the oldest
    if (auto it = items_.map.find(first->work);
        it != items_.map.end() && it->second.is_queued && (h.oldest_ns < 0 || it->second.queued.queued_ns < h.oldest_ns))
      h.oldest_ns = it->second.queued.queued_ns;
  }
  return out;
}

std::vector<WorkInstance> Model::open_instances() const {
  std::vector<WorkInstance> out;
  for (auto& [work, i] : items_.map)
    if (i.is_queued) out.push_back(i.queued);
  for (auto& [pid, w] : workers_)
    if (w.current.work) out.push_back(w.current);
  return out;
}

cmwq::report::Busy Model::busy(std::int64_t now) const {
  namespace report = cmwq::report;
  auto item = [&](const Entry& x) {
    auto it = items_.map.find(x.work);
    bool known = !x.barrier_pid && it != items_.map.end() && it->second.is_queued;
    return report::Item{known ? it->second.queued.func : std::string(), x.barrier_pid, x.linked};
  };
  report::Busy out;
  out.dialect = report::Dialect::parse(dialect_);
  for (auto& [id, wq] : wqs_) {
    if (wq.destroyed_ns >= 0) continue;
    report::Workqueue& rw = out.workqueues.emplace_back(report::Workqueue{wq.name, wq.flags, {}});
    for (auto it = pwqs_.lower_bound({id, -1}); it != pwqs_.end() && it->first.first == id; ++it) {
      const PwqInfo& q = it->second;
      auto pool = pools_.find(q.pool);
      if (pool == pools_.end()) continue;
      report::Pwq& rp = rw.pwqs.emplace_back();
      rp.pool = q.pool;
      rp.identity = pool_identity(pool->second);
      rp.nr_active = q.nr_active;
      rp.max_active = q.max_active ? q.max_active : static_cast<int>(wq.max_active);
      rp.refcnt = q.refcnt >= 0 ? q.refcnt : 1 + q.nr_in_flight + (q.mayday ? 1 : 0);
      rp.mayday = q.mayday;
      rp.printed = q.printed;
      // By pid; a kernel report's in the order it printed them (its busy_hash's, kept as the order they started).
      std::vector<const WorkerInfo*> busy_workers;
      for (auto& [pid, w] : workers_)
        if (w.current.work && w.current.wq_id == id && w.current.pool == q.pool) busy_workers.push_back(&w);
      if (!dialect_.empty())
        std::stable_sort(busy_workers.begin(), busy_workers.end(),
                         [](auto* a, auto* b) { return a->current.started_ns < b->current.started_ns; });
      // A BH pool's worker is its CPU's softirq, printed "bh"/"bh-hi" (report::worker_id): no pid.
      const bool bh = pool->second.flags & cmwq::POOL_BH;
      for (const WorkerInfo* w : busy_workers) {
        report::InFlight& f =
            rp.in_flight.emplace_back(report::InFlight{bh ? -1 : w->pid, w->rescuer_of != 0, w->current.func, {}});
        f.for_s = std::max<std::int64_t>(0, now - w->current.started_ns) / 1'000'000'000;
        for (const Entry& s : w->scheduled) f.scheduled.push_back(item(s));
      }
      for (const Entry& x : pool->second.worklist)
        if (x.wq == id) rp.pending.push_back(item(x));
      for (const Entry& x : q.inactive) rp.inactive.push_back(item(x));
    }
    // A kernel report's pwq lines in its order (the wq's pwqs list: the kernel links new ones at its head).
    std::stable_sort(rw.pwqs.begin(), rw.pwqs.end(), [](const report::Pwq& a, const report::Pwq& b) {
      return (a.printed ? a.printed : INT32_MAX) < (b.printed ? b.printed : INT32_MAX);
    });
  }
  for (auto& [id, p] : pools_) {
    report::Pool& rp = out.pools.emplace_back();
    rp.id = id;
    rp.identity = pool_identity(p);
    // Before 6.5 a report's hung= counted also while nothing waited.
    bool idle_counts = out.dialect.hung_idle && p.last_progress_ns >= 0 && now > p.last_progress_ns;
    rp.hung_s = (idle_counts ? now - p.last_progress_ns : p.hung_ns(now)) / 1'000'000'000;
    rp.nr_workers = p.nr_workers;
    rp.nr_idle = p.nr_idle;
    rp.manager = p.manager;
    rp.printed = p.printed;
    rp.idle.assign(p.idle.begin(), p.idle.end());
  }
  return out;
}

std::vector<cmwq::report::Monitor> Model::monitor() const {
  std::vector<cmwq::report::Monitor> out;
  for (auto& [id, wq] : wqs_) out.push_back(wq.counters);
  return out;
}

}  // namespace wqscope
