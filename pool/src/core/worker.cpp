// The worker side: worker_thread() and rescuer_thread() as resumable steps,
// concurrency management (nr_running), the manager, idle culling and mayday.
#include <cmwq/core.h>
#include <cmwq/policy.h>

#include <fmt/format.h>

#include <algorithm>
#include <bit>

namespace cmwq {

// --- the busy hash ---

void BusyHash::add(Worker& w) { buckets_[bucket(w.current_work)].push_back(&w); }
void BusyHash::remove(Worker& w) { List<Worker, BusyEntry>::remove(&w); }
Worker* BusyHash::find(const Work& work) const {
  for (Worker* w : buckets_[bucket(&work)])
    if (w->current_work == &work) return w;
  return nullptr;
}

// --- nr_running bookkeeping (worker_set_flags / worker_clr_flags) ---

void Core::worker_set_flags(Worker& w, unsigned flags) {
  if ((flags & WORKER_NOT_RUNNING) && !(w.flags & WORKER_NOT_RUNNING)) --w.pool->nr_running;
  w.flags |= flags;
}

void Core::worker_clr_flags(Worker& w, unsigned flags) {
  unsigned old = w.flags;
  w.flags &= ~flags;
  // NOT_RUNNING is a mask: only leaving the last of its flags makes the worker count.
  if ((flags & WORKER_NOT_RUNNING) && (old & WORKER_NOT_RUNNING) && !(w.flags & WORKER_NOT_RUNNING))
    ++w.pool->nr_running;
}

void Core::enter_idle(Worker& w, Time now) {
  Pool& pool = *w.pool;
  lockdep_assert_held(&pool);
  w.flags |= WORKER_IDLE;
  ++pool.nr_idle;
  w.last_active = now;
  pool.idle_list.push_front(&w);  // LIFO: the most recently active worker is woken first
  if (too_many_workers(pool)) arm_if_idle(pool.idle_timer, now + cfg_.idle_timeout);
  emit(EventKind::WorkerIdle, now, &pool, &w);
}

void Core::leave_idle(Worker& w) {
  if (!(w.flags & WORKER_IDLE)) return;
  w.flags &= ~WORKER_IDLE;
  --w.pool->nr_idle;
  List<Worker, IdleEntry>::remove(&w);
}

bool Core::kick_pool(Pool& pool) {
  lockdep_assert_held(&pool);
  Worker* w = pool.idle_list.front();
  if (!need_more_worker(pool) || !w) return false;
  // 6.5+: a worker of a non-strict pod pool may have wandered off its pod; the wake-up sends it
  // back, counted against the pwq of the item it is woken for.
  const auto& pod = pool.pod_cpus;
  if (!pool.affn_strict && !pod.empty() && w->last_cpu >= 0 &&
      std::find(pod.begin(), pod.end(), w->last_cpu) == pod.end()) {
    w->last_cpu = pod.front();
    if (Work* first = pool.worklist.front(); first && first->pwq) ++first->pwq->stats.repatriated;
  }
  drv_.wake(*w);
  return true;
}

void Core::attach(Worker& w, Pool& pool) {
  w.pool = &pool;
  if (pool.flags & POOL_DISASSOCIATED) w.flags |= WORKER_UNBOUND;
  else w.flags &= ~WORKER_UNBOUND;
  pool.workers.push_back(&w);
}

void Core::detach(Worker& w) {
  Pool& pool = *w.pool;
  pool.workers.erase(std::find(pool.workers.begin(), pool.workers.end(), &w));
  w.pool = nullptr;
}

// --- the worker loop ---

bool Core::assign_work(Work& work, Worker& w, Work** next, Time now) {
  Pool& pool = *w.pool;
  lockdep_assert_held(&pool);
  if (work.marker) {  // the 2025 rescuer's cursor is never run
    Work* after = pool.worklist.next(&work);
    work.unlink();
    if (next) *next = after;
    return false;
  }
  Worker* collision = pool.busy.find(work);
  Worker& to = collision ? *collision : w;
  Work* after = move_linked_works(work, pool.worklist, to.scheduled);
  if (next) *next = after;
  // A normal worker starts what it took at once (WORK_START says it); these wait on a list.
  if (collision || w.rescue_wq) emit(EventKind::WorkAssign, now, &pool, &to, &work, work.pwq->wq);
  if (collision) return false;
  pool.watchdog_ts = now;  // progress: an item left the worklist
  return true;
}

void Core::start_work(Worker& w, Work& work, Time now) {
  Pool& pool = *w.pool;
  Pwq& pwq = *work.pwq;
  work.unlink();
  w.current_work = &work;
  pool.busy.add(w);
  w.current_pwq = &pwq;
  w.current_func = work.func;
  w.current_color = work.color;
  w.current_at = now;
  w.work_started = now;
  work.linked = false;  // its barriers moved along with it; the flag must not outlive this run
  work.pwq = nullptr;
  work.last_pool = &pool;  // before PENDING is released: the next owner reads it
  work.pending = false;
  ++pwq.stats.started;
  if (w.rescue_wq) {
    ++pwq.stats.rescued;
    emit(EventKind::Rescue, now, &pool, &w, &work, pwq.wq);
  }
  if (pwq.wq->flags & WQ_CPU_INTENSIVE) worker_set_flags(w, WORKER_CPU_INTENSIVE);
  emit(EventKind::WorkStart, now, &pool, &w, &work, pwq.wq);
  // Chains execution for workers outside concurrency management (unbound, cpu-intensive).
  kick_pool(pool);
}

void Core::finish_work(Worker& w, Time now, Time cpu_ns, bool* flush_due) {
  Pool& pool = *w.pool;
  Pwq& pwq = *w.current_pwq;
  lockdep_assert_held(&pool);
  worker_clr_flags(w, WORKER_CPU_INTENSIVE);
  pool.busy.remove(w);
  emit(EventKind::WorkEnd, now, &pool, &w, w.current_work, pwq.wq, cpu_ns);
  w.current_work = nullptr;
  w.current_pwq = nullptr;
  w.current_func = nullptr;
  ++pwq.stats.completed;
  pwq.stats.cpu_time_ns += static_cast<std::uint64_t>(cpu_ns);
  dec_nr_in_flight(pwq, w.current_color, true, now, flush_due);
}

void Core::run_barrier(Worker& w, Work& bar, Time now) {
  Pwq& pwq = *bar.pwq;
  bar.unlink();
  bar.pending = false;
  bar.pwq = nullptr;
  Waiter& waiter = *bar.barrier;
  emit(EventKind::BarrierDone, now, w.pool, &w, &bar, pwq.wq, waiter.pid);
  dec_nr_in_flight(pwq, bar.color, false, now);
  waiter.done = true;
  drv_.complete(waiter);
}

std::optional<Step> Core::run_scheduled(Worker& w, Time now) {
  while (Work* work = w.scheduled.front()) {
    if (work->barrier) {
      run_barrier(w, *work, now);
      continue;
    }
    start_work(w, *work, now);
    return Step{Step::Run, work};
  }
  return std::nullopt;
}

Step Core::worker_next(Worker& w, Time now, Time cpu_ns) {
  if (w.current_work) finish_work(w, now, cpu_ns);
  return w.rescue_wq ? rescuer_loop(w, now) : *worker_loop(w, now, false);
}

std::optional<Step> Core::worker_next_local(Worker& w, Time now, Time cpu_ns, Workqueue** flush_due) {
  *flush_due = nullptr;
  if (w.rescue_wq) return std::nullopt;  // a rescuer moves between pools
  if (w.current_work) {
    // The item's nr_active slot may go to another pool's pwq (the node's lock).
    Workqueue& wq = *w.current_pwq->wq;
    if (!wq.node_nr_active.empty()) return std::nullopt;
    bool due = false;
    finish_work(w, now, cpu_ns, &due);
    if (due) *flush_due = &wq;
  }
  return worker_loop(w, now, true);
}

std::optional<Step> Core::worker_loop(Worker& w, Time now, bool local) {
  using Phase = Worker::Phase;
  for (;;) {
    Pool& pool = *w.pool;
    switch (w.phase) {
      case Phase::Woken:
        if (w.flags & WORKER_DIE) {
          if (local) return std::nullopt;
          detach(w);
          w.dead = true;
          emit(EventKind::WorkerDestroy, now, nullptr, &w);
          return Step{Step::Die};
        }
        leave_idle(w);
        w.phase = Phase::Recheck;
        break;
      case Phase::Recheck:
        if (!need_more_worker(pool)) {
          if (stopping_) return local ? std::nullopt : std::optional(retire(w, now));
          enter_idle(w, now);
          w.phase = Phase::Woken;
          return Step{Step::Idle};
        }
        [[fallthrough]];
      case Phase::Managing:
        // need_more_worker() holds here, so this is !may_start_working() within the pool's worker limit.
        if (w.phase == Phase::Managing || need_to_create_worker(pool)) {
          if (local) return std::nullopt;  // creating workers takes wq_pool_mutex
          Step cooldown{Step::Cooldown};
          Managed m = manage(w, now, cooldown);
          if (m == Managed::Cooldown) return cooldown;
          if (m == Managed::Done) {
            w.phase = Phase::Recheck;
            break;
          }
        }
        worker_clr_flags(w, WORKER_PREP | WORKER_REBOUND);
        emit(EventKind::WorkerBusy, now, &pool, &w);
        w.phase = Phase::Processing;
        [[fallthrough]];
      case Phase::Processing:
        if (Work* first = w.scheduled.front(); local && first && first->barrier) return std::nullopt;  // wakes a flusher
        if (auto step = run_scheduled(w, now)) return *step;
        if (!keep_working(pool)) {
          if (local && stopping_) return std::nullopt;
          worker_set_flags(w, WORKER_PREP);
          if (stopping_) return retire(w, now);
          enter_idle(w, now);
          w.phase = Phase::Woken;
          return Step{Step::Idle};
        }
        assign_work(*pool.worklist.front(), w, nullptr, now);
        break;
    }
  }
}

Step Core::retire(Worker& w, Time now) {
  --w.pool->nr_workers;
  detach(w);
  w.dead = true;
  emit(EventKind::WorkerDestroy, now, nullptr, &w);
  return Step{Step::Die};
}

// --- the manager ---

Worker* Core::create_worker(Pool& pool, Time now) {
  if (now >= create_fail_from_ && now < create_fail_until_) {
    emit(EventKind::CreateFail, now, &pool);
    return nullptr;
  }
  auto worker = std::make_unique<Worker>();
  Worker& w = *worker;
  w.id = next_pid_++;
  // The lowest free index, as the kernel's ida does: kworker/0:0, 0:1, ...
  std::vector<bool> used(pool.workers.size() + 1);
  for (Worker* o : pool.workers)
    if (static_cast<std::size_t>(o->index) < used.size()) used[o->index] = true;
  w.index = static_cast<int>(std::find(used.begin(), used.end(), false) - used.begin());
  attach(w, pool);
  ++pool.nr_workers;
  all_workers_.push_back(std::move(worker));
  if (!drv_.spawn(w)) {
    --pool.nr_workers;
    detach(w);
    all_workers_.pop_back();
    emit(EventKind::CreateFail, now, &pool);
    return nullptr;
  }
  // The thread waits for the core's lock we hold: it finds itself idle, as the kernel's new worker does.
  emit(EventKind::WorkerCreate, now, &pool, &w);
  enter_idle(w, now);
  return &w;
}

Core::Managed Core::manage(Worker& w, Time now, Step& cooldown) {
  Pool& pool = *w.pool;
  if (w.phase != Worker::Phase::Managing) {
    if (pool.flags & POOL_MANAGER_ACTIVE) return Managed::NotManager;
    pool.flags |= POOL_MANAGER_ACTIVE;
    pool.manager = &w;
    w.phase = Worker::Phase::Managing;
    emit(EventKind::ManagerStart, now, &pool, &w);
    // If creation makes no progress within MAYDAY_INITIAL_TIMEOUT, call the rescuers.
    arm(pool.mayday_timer, now + MAYDAY_INITIAL_TIMEOUT);
  } else if (!need_to_create_worker(pool)) {
    goto done;  // back from a cooldown and no longer needed
  }
  while (!stopping_ && need_to_create_worker(pool)) {
    if (create_worker(pool, now)) continue;
    cooldown.until = now + CREATE_COOLDOWN;
    return Managed::Cooldown;
  }
done:
  disarm(pool.mayday_timer);
  pool.manager = nullptr;
  pool.flags &= ~POOL_MANAGER_ACTIVE;
  emit(EventKind::ManagerEnd, now, &pool, &w);
  return Managed::Done;
}

void Core::idle_timeout(Pool& pool, Time now) {
  while (too_many_workers(pool)) {
    Worker* w = pool.idle_list.back();  // idle the longest
    Time expires = w->last_active + cfg_.idle_timeout;
    if (now < expires) {
      arm(pool.idle_timer, expires);
      return;
    }
    leave_idle(*w);
    --pool.nr_workers;
    w->flags |= WORKER_DIE;
    drv_.wake(*w);
  }
}

void Core::fail_worker_creation(Time from, Time until) {
  create_fail_from_ = from;
  create_fail_until_ = until;
}

// --- mayday and the rescuer ---

void Core::send_mayday(Work& work, Time now) {
  if (work.marker || !work.pwq) return;
  Pwq& pwq = *work.pwq;
  Workqueue& wq = *pwq.wq;
  if (!wq.rescuer || pwq.on_list()) return;
  bool cursor = cfg_.rescuer_policy == RescuerPolicy::k2025;
  if (cursor && pwq.mayday_pos.on_list()) return;
  wq.maydays.push_back(&pwq);
  ++pwq.stats.mayday;
  if (cursor) pwq.pool->worklist.insert_before(&work, &pwq.mayday_pos);
  emit(EventKind::Mayday, now, pwq.pool, nullptr, &work, &wq);
  drv_.wake(*wq.rescuer);
}

void Core::mayday_timeout(Pool& pool, Time now) {
  if (need_to_create_worker(pool)) {
    // Creation has been failing: we may be in an allocation deadlock. Call the rescuers.
    for (Work* work = pool.worklist.front(); work;) {
      Work* next = pool.worklist.next(work);
      send_mayday(*work, now);
      work = next;
    }
  }
  arm(pool.mayday_timer, now + MAYDAY_INTERVAL);
}

bool Core::assign_rescue_work(Pwq& pwq, Worker& r, Time now) {
  Pool& pool = *pwq.pool;
  Work* work;
  if (!pwq.mayday_pos.on_list()) {
    work = pool.worklist.front();
  } else {
    work = pool.worklist.next(&pwq.mayday_pos);
    pwq.mayday_pos.unlink();
  }
  if (!need_to_create_worker(pool)) return false;  // normal workers are back
  for (Work* next = nullptr; work; work = next) {
    next = pool.worklist.next(work);
    if (work->pwq == &pwq && !work->marker && assign_work(*work, r, &next, now)) {
      pool.worklist.insert_before(next, &pwq.mayday_pos);  // resume here next time
      return true;
    }
  }
  return false;
}

Step Core::rescuer_loop(Worker& r, Time now) {
  Workqueue& wq = *r.rescue_wq;
  for (;;) {
    if (auto step = run_scheduled(r, now)) return *step;
    if (Pwq* pwq = r.rescue_pwq) {
      Pool& pool = *pwq->pool;
      if (cfg_.rescuer_policy == RescuerPolicy::k2025 && assign_rescue_work(*pwq, r, now)) continue;
      // 2014: stay on the mayday list while this pwq had work and the pool still needs workers.
      if (cfg_.rescuer_policy == RescuerPolicy::k2014 && r.rescued_any && need_to_create_worker(pool) &&
          !pwq->on_list()) {
        wq.maydays.push_back(pwq);
        emit(EventKind::Mayday, now, &pool, &r, nullptr, &wq);  // back on the list, no new mayday counted
      }
      kick_pool(pool);  // hand the pool back to its workers
      detach(r);
      r.rescue_pwq = nullptr;
      continue;
    }
    Pwq* pwq = wq.maydays.front();
    if (!pwq) break;
    List<Pwq, MaydayEntry>::remove(pwq);
    r.rescue_pwq = pwq;
    r.rescued_any = false;
    attach(r, *pwq->pool);
    emit(EventKind::RescuerWake, now, pwq->pool, &r, nullptr, &wq);
    if (cfg_.rescuer_policy != RescuerPolicy::k2025) {
      // 2009 and 2014: slurp every item of this pwq that is on the worklist.
      Pool& pool = *pwq->pool;
      for (Work* work = pool.worklist.front(), *next = nullptr; work; work = next) {
        next = pool.worklist.next(work);
        if (work->pwq == pwq && !work->marker) r.rescued_any |= assign_work(*work, r, &next, now);
      }
    }
  }
  if (r.flags & WORKER_DIE) {
    r.dead = true;
    emit(EventKind::WorkerDestroy, now, nullptr, &r, nullptr, &wq);
    return Step{Step::Die};
  }
  return Step{Step::Idle};
}

// --- blocking points ---

void Core::worker_sleeping(Worker& w, Time now) {
  lockdep_assert_held(w.pool);
  if (w.pool && (w.pool->flags & POOL_BH))
    throw Error(fmt::format("BUG: scheduling while atomic: BH work item {} of workqueue {} reached a blocking point; "
                            "a BH item must not sleep (queue it to a per-CPU or unbound workqueue instead)",
                            w.current_func ? w.current_func : "?", w.current_pwq ? w.current_pwq->wq->name : "?"));
  w.blocked = true;
  bool counted = !(w.flags & WORKER_NOT_RUNNING) && !w.sleeping;
  if (counted) {
    w.sleeping = true;
    --w.pool->nr_running;
  }
  emit(EventKind::WorkerSleep, now, w.pool, &w, w.current_work);  // records carry nr_running after it
  if (counted && kick_pool(*w.pool) && w.current_pwq) ++w.current_pwq->stats.cm_wakeup;
}

void Core::worker_running(Worker& w, Time now) {
  lockdep_assert_held(w.pool);
  w.blocked = false;
  if (w.sleeping) {
    if (!(w.flags & WORKER_NOT_RUNNING)) ++w.pool->nr_running;
    w.sleeping = false;
    w.current_at = now;
  }
  emit(EventKind::WorkerWake, now, w.pool, &w, w.current_work);
}

void Core::worker_tick(Worker& w, Time cpu_ns, Time now) {
  // A BH item runs in whatever task the softirq interrupted: the tick never sees it as a worker.
  if (!w.current_work || (w.flags & WORKER_NOT_RUNNING) || w.sleeping || cpu_ns < cfg_.cpu_intensive_thresh ||
      (w.pool->flags & POOL_BH))
    return;
  worker_set_flags(w, WORKER_CPU_INTENSIVE);
  cpu_intensive_report(w.current_func);
  ++w.current_pwq->stats.cpu_intensive;
  emit(EventKind::CpuIntensive, now, w.pool, &w, w.current_work, w.current_pwq->wq, cpu_ns);
  if (kick_pool(*w.pool)) ++w.current_pwq->stats.cm_wakeup;
}

void Core::cpu_intensive_report(const char* func) {
  // Report from the 4th time on, backing off exponentially, as wq_cpu_intensive_report() does.
  std::uint64_t cnt = ++hog_counts_[func];
  if (hog_report_due(cnt, static_cast<std::uint64_t>(std::max(cfg_.cpu_intensive_warning_thresh, 0)))) warn(hog_line(func, cfg_.cpu_intensive_thresh, cnt));
}

void Core::stop_all_workers(Time now) {
  stopping_ = true;
  for (auto& pool : pools_) {
    while (Worker* w = pool->idle_list.front()) {
      leave_idle(*w);
      --pool->nr_workers;
      w->flags |= WORKER_DIE;
      drv_.wake(*w);
    }
  }
  for (auto& wq : wqs_)
    if (Worker* r = wq->rescuer) {
      r->flags |= WORKER_DIE;
      drv_.wake(*r);
    }
  (void)now;
}

}  // namespace cmwq
