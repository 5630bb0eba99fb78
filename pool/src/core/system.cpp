// System-wide events: CPU hotplug, freezing, and the workqueue watchdog
// (unbind_workers(), rebind_workers(), freeze_workqueues_begin(),
// wq_watchdog_timer_fn() of kernel/workqueue.c).
#include <cmwq/core.h>
#include <cmwq/policy.h>

#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>

namespace cmwq {

void Core::cpu_offline(int cpu, Time now) {
  if (cpu < 0 || cpu >= cfg_.possible_cpus)
    throw Error(fmt::format("cpu_offline: CPU {} is not a possible CPU (0-{})", cpu, cfg_.possible_cpus - 1));
  if (!online_[cpu]) return;
  online_[cpu] = false;
  for (auto& pool : pools_) {
    // unbind_workers() walks the CPU's normal pools only: BH pools are always DISASSOCIATED.
    if (pool->cpu != cpu || (pool->flags & POOL_BH)) continue;
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
    // rebind_workers() walks the CPU's normal pools only: BH pools stay DISASSOCIATED.
    if (!(pool->flags & POOL_BH)) {
      pool->flags &= ~POOL_DISASSOCIATED;
      // UNBOUND becomes REBOUND: still not counted until the worker passes its loop again.
      for (Worker* w : pool->workers) {
        w->flags = (w->flags & ~WORKER_UNBOUND) | WORKER_REBOUND;
        if (w->flags & WORKER_IDLE) drv_.wake(*w);
      }
    }
    if (pool->nr_workers == 0) create_worker(*pool, now);  // a CPU offline since the start has none
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
  disarm(watchdog_report_timer_);
  stall_candidates_.clear();
  for (Time& t : watchdog_touched_cpu_) t = now;
  watchdog_touched_ = now;
  if (thresh > 0) arm(watchdog_timer_, now + thresh);
}

void Core::watchdog_check(Time now) {
  const Time thresh = cfg_.watchdog_thresh;
  // The lockless pass: pools with work whose progress stamp (or the touch stamp, if later) is old.
  stall_candidates_.clear();
  for (auto& pool : pools_) {
    if (pool->worklist.empty()) continue;
    Time touched = pool->cpu >= 0 ? watchdog_touched_cpu_[pool->cpu] : watchdog_touched_;
    Time ts = std::max(pool->watchdog_ts, touched);
    // The kernel's timer fires at least a jiffy late, so its time_after() holds at exactly thresh.
    if (now - ts < thresh) continue;
    stall_candidates_.push_back({pool.get(), pool->watchdog_ts});
  }
  // The touch stamps restart at every check: a stall shows between thresh and 2 x thresh.
  for (Time& t : watchdog_touched_cpu_) t = now;
  watchdog_touched_ = now;
  arm(watchdog_timer_, now + thresh);
  if (cfg_.kernel < Kernel::V7_0) return watchdog_report(now, false);
  // 7.0 takes each stalled pool's lock and reads last_progress_ts again before it reports. Its
  // workers may hold that lock meanwhile: the report comes once they have let go (an instant later).
  if (!stall_candidates_.empty()) arm(watchdog_report_timer_, now + 1);
}

void Core::watchdog_report(Time now, bool recheck) {
  std::vector<const Pool*> cpu_stalled;
  bool lockup = false;
  Time longest = 0;
  for (auto [pool, seen_ts] : stall_candidates_) {
    if (recheck && (pool->worklist.empty() || pool->watchdog_ts != seen_ts)) {
      ++lockups_dropped_;  // it made progress after all
      continue;
    }
    lockup = true;
    ++lockups_;
    Time stuck = now - pool->watchdog_ts;
    longest = std::max(longest, stuck);
    warn(lockup_line(pool_info(*pool), stuck));
    emit(EventKind::Lockup, now, pool, nullptr, nullptr, nullptr, stuck);
    if (pool->cpu >= 0 && !(pool->flags & POOL_BH)) cpu_stalled.push_back(pool);
  }
  stall_candidates_.clear();
  if (!lockup) return;
  for (auto& line : show_all_workqueues(now)) warn(line);
  if (cfg_.kernel >= Kernel::V6_5 && !cpu_stalled.empty()) show_cpu_pools_hogs(cpu_stalled);
  // panic_on_wq_watchdog()
  ++stall_reports_;
  if (cfg_.panic_on_stall > 0 && stall_reports_ >= static_cast<std::uint64_t>(cfg_.panic_on_stall))
    return panic(fmt::format("Kernel panic - not syncing: workqueue: {} stall reports (workqueue.panic_on_stall={})",
                             stall_reports_, cfg_.panic_on_stall));
  if (cfg_.kernel >= Kernel::V7_0 && cfg_.panic_on_stall_time > 0 && longest >= cfg_.panic_on_stall_time)
    panic(fmt::format("Kernel panic - not syncing: workqueue: stall of {}s (workqueue.panic_on_stall_time={}s)",
                      longest / kSec, cfg_.panic_on_stall_time / kSec));
}

void Core::show_cpu_pools_hogs(const std::vector<const Pool*>& stalled) const {
  // 6.5 shows the running workers of each stalled per-CPU pool, 7.0 every busy one, each after a
  // "pool N:" line of its own (show_cpu_pool_hog()). User space has no stacks: each worker's task
  // line (its name, state and pid) and what it runs.
  const bool all_busy = cfg_.kernel >= Kernel::V7_0;
  drv_.message(all_busy ? "Showing backtraces of busy workers in stalled CPU-bound worker pools:"
                        : "Showing backtraces of running workers in stalled CPU-bound worker pools:");
  for (const Pool* pool : stalled) {
    std::vector<const Worker*> busy;
    pool->busy.for_each([&](Worker& w) {
      if (all_busy || !w.sleeping) busy.push_back(&w);
    });
    std::sort(busy.begin(), busy.end(), [](auto* a, auto* b) { return a->id < b->id; });
    for (const Worker* w : busy) {
      drv_.message(fmt::format("pool {}:", pool->id));
      drv_.message(fmt::format("task:{:<15.15} state:{} pid:{}", w->name(), w->blocked ? 'S' : 'R', w->id));
      drv_.message(fmt::format("Workqueue: {} {}", w->current_pwq->wq->name, w->current_func));
    }
  }
}

void Core::panic(const std::string& line) {
  warn(line);
  if (cfg_.on_panic) return cfg_.on_panic(line);
  std::abort();
}

}  // namespace cmwq
