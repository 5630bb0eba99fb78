// System-wide events: CPU hotplug, freezing, and the workqueue watchdog
// (unbind_workers(), rebind_workers(), freeze_workqueues_begin(),
// wq_watchdog_timer_fn() of kernel/workqueue.c).
#include <cmwq/core.h>
#include <cmwq/policy.h>

#include <fmt/format.h>

namespace cmwq {

void Core::cpu_offline(int cpu, Time now) {
  if (cpu < 0 || cpu >= cfg_.possible_cpus)
    throw Error(fmt::format("cpu_offline: CPU {} is not a possible CPU (0-{})", cpu, cfg_.possible_cpus - 1));
  if (!online_[cpu]) return;
  online_[cpu] = false;
  for (auto& pool : pools_) {
    if (pool->cpu != cpu) continue;
    // The workers keep running, unbound and outside concurrency management.
    for (Worker* w : pool->workers) w->flags |= WORKER_UNBOUND;
    pool->flags |= POOL_DISASSOCIATED;
    pool->nr_running = 0;
    kick_pool(*pool);
  }
  for (auto& wq : wqs_) update_node_max_active(*wq);  // 6.9+: the nodes' shares follow online CPUs
  emit(EventKind::CpuOffline, now, nullptr, nullptr, nullptr, nullptr, cpu);
}

void Core::cpu_online(int cpu, Time now) {
  if (cpu < 0 || cpu >= cfg_.possible_cpus)
    throw Error(fmt::format("cpu_online: CPU {} is not a possible CPU (0-{})", cpu, cfg_.possible_cpus - 1));
  if (online_[cpu]) return;
  online_[cpu] = true;
  for (auto& pool : pools_) {
    if (pool->cpu != cpu) continue;
    pool->flags &= ~POOL_DISASSOCIATED;
    // UNBOUND becomes REBOUND: still not counted until the worker passes its loop again.
    for (Worker* w : pool->workers) {
      w->flags = (w->flags & ~WORKER_UNBOUND) | WORKER_REBOUND;
      if (w->flags & WORKER_IDLE) drv_.wake(*w);
    }
    if (pool->nr_workers == 0) create_worker(*pool, now);
    kick_pool(*pool);
  }
  for (auto& wq : wqs_) {
    update_node_max_active(*wq);
    for (auto& nna : wq->node_nr_active) node_activate_pending_pwq(nna, now);
  }
  emit(EventKind::CpuOnline, now, nullptr, nullptr, nullptr, nullptr, cpu);
}

void Core::freeze(Time now) {
  freezing_ = true;
  for (auto& wq : wqs_) {
    if (!(wq->flags & WQ_FREEZABLE)) continue;
    wq->max_active = 0;  // nothing new becomes active; what is active drains
    apply_max_active(*wq, now);
  }
  emit(EventKind::Freeze, now);
}

bool Core::freeze_busy() const {
  for (auto& wq : wqs_)
    if (wq->flags & WQ_FREEZABLE)
      for (auto& pwq : wq->pwqs)
        if (pwq->nr_active) return true;
  return false;
}

void Core::thaw(Time now) {
  if (!freezing_) return;
  freezing_ = false;
  for (auto& wq : wqs_) {
    if (!(wq->flags & WQ_FREEZABLE)) continue;
    wq->max_active = wq->saved_max_active;
    apply_max_active(*wq, now);
  }
  emit(EventKind::Thaw, now);
}

void Core::touch_watchdog(int cpu, Time now) {
  if (cpu >= 0 && cpu < cfg_.possible_cpus) watchdog_touched_cpu_[cpu] = now;
  else watchdog_touched_ = now;
  emit(EventKind::WatchdogTouch, now, nullptr, nullptr, nullptr, nullptr, cpu);
}

void Core::set_watchdog_thresh(Time thresh, Time now) {
  if (thresh < 0) throw Error("wq_watchdog_thresh: must be >= 0 (0 disables the watchdog)");
  cfg_.watchdog_thresh = thresh;
  disarm(watchdog_timer_);
  for (Time& t : watchdog_touched_cpu_) t = now;
  watchdog_touched_ = now;
  if (thresh > 0) arm(watchdog_timer_, now + thresh);
}

void Core::watchdog_check(Time now) {
  const Time thresh = cfg_.watchdog_thresh;
  bool lockup = false;
  for (auto& pool : pools_) {
    if (pool->worklist.empty()) continue;
    Time touched = pool->cpu >= 0 ? watchdog_touched_cpu_[pool->cpu] : watchdog_touched_;
    Time ts = std::max(pool->watchdog_ts, touched);
    // The kernel's timer fires at least a jiffy late, so its time_after() holds at exactly thresh.
    if (now - ts < thresh) continue;
    lockup = true;
    ++lockups_;
    Time stuck = now - pool->watchdog_ts;
    warn(lockup_line(pool_info(*pool), stuck));
    emit(EventKind::Lockup, now, pool.get(), nullptr, nullptr, nullptr, stuck);
  }
  if (lockup)
    for (auto& line : show_all_workqueues(now)) warn(line);
  // The touch stamps restart at every check: a stall shows between thresh and 2 x thresh.
  for (Time& t : watchdog_touched_cpu_) t = now;
  watchdog_touched_ = now;
  arm(watchdog_timer_, now + thresh);
}

}  // namespace cmwq
