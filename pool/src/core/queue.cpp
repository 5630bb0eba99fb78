// Queueing, activation under max_active, cancel, flush (colors and barriers)
// and delayed work: __queue_work(), pwq_dec_nr_in_flight(), try_to_grab_pending(),
// start_flush_work() and flush_workqueue() of kernel/workqueue.c.
#include <cmwq/core.h>
#include <cmwq/policy.h>

#include <fmt/format.h>

namespace cmwq {

int Core::resolve_cpu(const Workqueue& wq, int cpu, const Caller& caller) const {
  if (cpu != WORK_CPU_UNBOUND && (cpu < 0 || cpu >= cfg_.possible_cpus))
    throw Error(fmt::format("queue_work_on({}): CPU {} is not a possible CPU (0-{}); use WORK_CPU_UNBOUND or a "
                            "possible CPU",
                            wq.name, cpu, cfg_.possible_cpus - 1));
  return cpu == WORK_CPU_UNBOUND ? caller.cpu : cpu;
}

Pwq& Core::select_pwq(Workqueue& wq, Work& work, int cpu, const Caller& caller) {
  Pwq* pwq;
  if (wq.flags & WQ_UNBOUND) {
    pwq = wq.pwqs.front().get();
  } else {
    pwq = wq.pwqs.at(static_cast<std::size_t>(resolve_cpu(wq, cpu, caller))).get();
  }
  // Non-reentrancy: an item still running on another pool of this wq queues behind itself there.
  if (Pool* last = work.last_pool; last && last != pwq->pool) {
    Worker* running = last->busy.find(work);
    if (running && running->current_pwq && running->current_pwq->wq == &wq) pwq = running->current_pwq;
  }
  return *pwq;
}

void Core::insert_work(Pwq& pwq, Work& work, List<Work, WorkEntry>& list, Work* before) {
  work.pwq = &pwq;
  list.insert_before(before, &work);
  ++pwq.nr_in_flight;
}

bool Core::queue_work_on(int cpu, Workqueue& wq, Work& work, const Caller& caller, Time now) {
  if (work.pending) return false;
  work.pending = true;
  try {
    return do_queue(cpu, wq, work, caller, now);
  } catch (...) {
    work.pending = false;
    throw;
  }
}

bool Core::do_queue(int cpu, Workqueue& wq, Work& work, const Caller& caller, Time now) {
  if (wq.pwqs.empty())
    throw Error(fmt::format("queue_work: workqueue \"{}\" was destroyed; allocate a new one", wq.name));
  if (wq.flags & __WQ_DRAINING) {
    bool chained = caller.worker && caller.worker->current_pwq && caller.worker->current_pwq->wq == &wq;
    if (!chained)
      throw Error(fmt::format("queue_work: workqueue \"{}\" is being destroyed; only its own items may queue to it",
                              wq.name));
  }
  if (!work.id) work.id = next_work_id_++;
  work.queue_cpu = caller.cpu;
  work.linked = false;
  Pwq& pwq = select_pwq(wq, work, cpu, caller);
  Pool& pool = *pwq.pool;
  work.color = wq.work_color;
  ++wq.color_in_flight[work.color];
  emit(EventKind::WorkQueue, now, &pool, nullptr, &work, &wq, cpu);
  if (pwq.inactive.empty() && pwq.nr_active < pwq.max_active) {
    ++pwq.nr_active;
    work.inactive = false;
    if (pool.worklist.empty()) pool.watchdog_ts = now;
    Work* before = nullptr;
    if (pool.shared_highpri && (wq.flags & WQ_HIGHPRI)) {
      // 2010 gcwq: after the highpri items already at the head of the worklist.
      before = pool.worklist.front();
      while (before && before->pwq && (before->pwq->wq->flags & WQ_HIGHPRI)) before = pool.worklist.next(before);
    }
    insert_work(pwq, work, pool.worklist, before);
    emit(EventKind::WorkActivate, now, &pool, nullptr, &work, &wq);
    kick_pool(pool);
  } else {
    work.inactive = true;
    insert_work(pwq, work, pwq.inactive, nullptr);
  }
  return true;
}

Work* Core::move_linked_works(Work& first, List<Work, WorkEntry>& from, List<Work, WorkEntry>& to) {
  Work* last = &first;
  while (last->linked) last = static_cast<Work*>(static_cast<Link<WorkEntry>*>(last)->next);
  Work* after = from.next(last);
  for (Work* work = &first;;) {
    Work* succ = work->linked ? static_cast<Work*>(static_cast<Link<WorkEntry>*>(work)->next) : nullptr;
    work->unlink();
    to.push_back(work);
    if (!succ) break;
    work = succ;
  }
  return after;
}

void Core::activate_first_inactive(Pwq& pwq, Time now) {
  Work* work = pwq.inactive.front();
  Pool& pool = *pwq.pool;
  ++pwq.nr_active;
  work->inactive = false;
  if (pool.worklist.empty()) pool.watchdog_ts = now;
  move_linked_works(*work, pwq.inactive, pool.worklist);
  emit(EventKind::WorkActivate, now, &pool, nullptr, work, pwq.wq);
}

void Core::dec_nr_in_flight(Pwq& pwq, int color, bool was_active, Time now) {
  if (was_active) {
    --pwq.nr_active;
    if (!pwq.inactive.empty() && pwq.nr_active < pwq.max_active) activate_first_inactive(pwq, now);
  }
  --pwq.nr_in_flight;
  Workqueue& wq = *pwq.wq;
  if (color >= 0 && --wq.color_in_flight[color] == 0 && !wq.flushers.empty() && wq.flushers.front().color == color)
    flush_color_done(wq, now);
}

bool Core::grab_pending(Work& work, Time now) {
  if (!work.pending) return false;
  if (work.delayed) {
    disarm(work.dwork->timer);
    work.delayed = false;
    work.pending = false;
    return true;
  }
  Pwq& pwq = *work.pwq;
  if (work.inactive) {
    // Activate first so that barriers chained to it move to the worklist and still run.
    ++pwq.nr_active;
    work.inactive = false;
    move_linked_works(work, pwq.inactive, pwq.pool->worklist);
  }
  work.unlink();
  work.pending = false;
  work.linked = false;  // a chained barrier stays on the list and still runs
  work.pwq = nullptr;
  emit(EventKind::WorkCancel, now, pwq.pool, nullptr, &work, pwq.wq);
  dec_nr_in_flight(pwq, work.color, true, now);
  return true;
}

bool Core::cancel_work(Work& work, Time now) { return grab_pending(work, now); }

bool Core::cancel_delayed_work(DelayedWork& dw, Time now) { return grab_pending(dw.work, now); }

bool Core::is_running(const Work& work) const {
  return work.last_pool && work.last_pool->busy.find(work);
}

bool Core::queue_delayed_work_on(int cpu, Workqueue& wq, DelayedWork& dw, Time delay, const Caller& caller,
                                 Time now) {
  if (dw.work.pending) return false;
  if (delay <= 0) return queue_work_on(cpu, wq, dw.work, caller, now);
  if (wq.pwqs.empty())
    throw Error(fmt::format("queue_delayed_work: workqueue \"{}\" was destroyed; allocate a new one", wq.name));
  if (cpu != WORK_CPU_UNBOUND) resolve_cpu(wq, cpu, caller);
  dw.work.pending = true;
  dw.work.delayed = true;
  dw.work.queue_cpu = caller.cpu;
  dw.wq = &wq;
  dw.cpu = cpu;
  arm(dw.timer, now + delay);
  return true;
}

bool Core::mod_delayed_work_on(int cpu, Workqueue& wq, DelayedWork& dw, Time delay, const Caller& caller, Time now) {
  bool was_pending = grab_pending(dw.work, now);
  queue_delayed_work_on(cpu, wq, dw, delay, caller, now);
  return was_pending;
}

void Core::apply_max_active(Workqueue& wq, Time now) {
  for (auto& pwq : wq.pwqs) {
    pwq->max_active = wq.max_active;
    while (!pwq->inactive.empty() && pwq->nr_active < pwq->max_active) activate_first_inactive(*pwq, now);
    kick_pool(*pwq->pool);
  }
}

bool Core::start_flush_work(Work& work, Waiter& waiter, const Caller& caller, Time now) {
  Work& bar = waiter.barrier;
  waiter.done = false;
  waiter.pid = caller.pid ? caller.pid : (caller.worker ? caller.worker->id : 0);
  bar.barrier = &waiter;
  bar.inactive = true;  // barriers do not take part in nr_active
  bar.pending = true;
  if (!bar.id) bar.id = next_work_id_++;
  if (work.pending && !work.delayed) {
    Pwq& pwq = *work.pwq;
    bar.color = work.color;
    bar.linked = work.linked;
    work.linked = true;
    bar.pwq = &pwq;
    static_cast<Link<WorkEntry>&>(bar).insert_before(static_cast<Link<WorkEntry>*>(&work)->next);
    ++pwq.nr_in_flight;
  } else if (is_running(work)) {
    Worker& worker = *work.last_pool->busy.find(work);
    Pwq& pwq = *worker.current_pwq;
    bar.color = worker.current_color;
    bar.linked = false;
    insert_work(pwq, bar, worker.scheduled, worker.scheduled.front());
  } else {
    bar.pending = false;
    return false;
  }
  if (bar.color >= 0) ++bar.pwq->wq->color_in_flight[bar.color];
  emit(EventKind::Barrier, now, bar.pwq->pool, caller.worker, &work, bar.pwq->wq, waiter.pid);
  return true;
}

bool Core::start_flush_workqueue(Workqueue& wq, Waiter& waiter, Time now) {
  waiter.done = false;
  emit(EventKind::Flush, now, nullptr, nullptr, nullptr, &wq);
  bool idle = wq.flushers.empty();
  for (int n : wq.color_in_flight) idle = idle && n == 0;
  if (idle) return false;
  if (wq.flushers.size() >= WORK_NR_COLORS - 1) {
    wq.flush_overflow.push_back(&waiter);  // no free color: wait for the oldest flush to finish
    return true;
  }
  int color = wq.work_color;
  wq.work_color = (color + 1) % WORK_NR_COLORS;
  wq.flushers.push_back({&waiter, color});
  flush_color_done(wq, now);
  return !waiter.done;
}

void Core::flush_color_done(Workqueue& wq, Time now) {
  for (;;) {
    while (!wq.flushers.empty() && wq.color_in_flight[wq.flushers.front().color] == 0) {
      Waiter* w = wq.flushers.front().waiter;
      wq.flushers.erase(wq.flushers.begin());
      w->done = true;
      drv_.complete(*w);
    }
    if (wq.flush_overflow.empty() || wq.flushers.size() >= WORK_NR_COLORS - 1) return;
    // Everyone who overflowed shares the next color: it covers everything queued meanwhile.
    int color = wq.work_color;
    wq.work_color = (color + 1) % WORK_NR_COLORS;
    for (Waiter* w : wq.flush_overflow) wq.flushers.push_back({w, color});
    wq.flush_overflow.clear();
    (void)now;
  }
}

}  // namespace cmwq
