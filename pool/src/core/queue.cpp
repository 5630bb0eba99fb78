// Queueing, activation under max_active, cancel, flush (colors and barriers)
// and delayed work: __queue_work(), pwq_dec_nr_in_flight(), try_to_grab_pending(),
// start_flush_work() and flush_workqueue() of kernel/workqueue.c.
#include <cmwq/core.h>
#include <cmwq/policy.h>

#include <fmt/format.h>

#include <algorithm>

namespace cmwq {

int Core::resolve_cpu(const Workqueue& wq, int cpu, const Caller& caller) const {
  if (cpu != WORK_CPU_UNBOUND && (cpu < 0 || cpu >= cfg_.possible_cpus))
    throw Error(fmt::format("queue_work_on({}): CPU {} is not a possible CPU (0-{}); use WORK_CPU_UNBOUND or a "
                            "possible CPU",
                            wq.name, cpu, cfg_.possible_cpus - 1));
  return cpu == WORK_CPU_UNBOUND ? caller.cpu : cpu;
}

Pwq& Core::default_pwq(const Workqueue& wq, int cpu, const Caller& caller) const {
  if ((wq.flags & WQ_UNBOUND) && wq.pwqs.size() == 1) return *wq.pwqs.front();  // the seeds' unbound, or ordered
  return *wq.cpu_pwq.at(static_cast<std::size_t>(resolve_cpu(wq, cpu, caller)));
}

Pool* Core::queue_pool(const Workqueue& wq, int cpu, const Caller& caller) const {
  if (wq.pwqs.empty() || (wq.flags & __WQ_DRAINING) || !wq.node_nr_active.empty()) return nullptr;
  return default_pwq(wq, cpu, caller).pool;
}

Pwq& Core::select_pwq(Workqueue& wq, Work& work, int cpu, const Caller& caller) {
  Pwq* pwq = &default_pwq(wq, cpu, caller);
  // Non-reentrancy: an item still running on another pool of this wq queues behind itself there.
  if (Pool* last = work.last_pool; last && last != pwq->pool) {
    lockdep_assert_held(last);
    Worker* running = last->busy.find(work);
    if (running && running->current_pwq && running->current_pwq->wq == &wq) pwq = running->current_pwq;
  }
  return *pwq;
}

void Core::insert_work(Pwq& pwq, Work& work, List<Work, WorkEntry>& list, Work* before) {
  lockdep_assert_held(pwq.pool);
  work.pwq = &pwq;
  list.insert_before(before, &work);
  ++pwq.nr_in_flight;
}

bool Core::queue_work_on(int cpu, Workqueue& wq, Work& work, const Caller& caller, Time now) {
  if (work.pending.exchange(true)) return false;
  return queue_work_pending(cpu, wq, work, caller, now);
}

bool Core::queue_work_pending(int cpu, Workqueue& wq, Work& work, const Caller& caller, Time now) {
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
  if (!work.id) work.id = next_work_id_.fetch_add(1, std::memory_order_relaxed);
  work.queue_cpu = caller.cpu;
  work.linked = false;
  Pwq& pwq = select_pwq(wq, work, cpu, caller);
  Pool& pool = *pwq.pool;
  work.color = wq.work_color;
  ++wq.color_in_flight[work.color];
  emit(EventKind::WorkQueue, now, &pool, nullptr, &work, &wq, cpu);
  if (pwq.inactive.empty() && pwq_tryinc_nr_active(pwq)) {
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

void Core::activate_work(Pwq& pwq, Work& work, Time now) {
  Pool& pool = *pwq.pool;
  lockdep_assert_held(&pool);
  work.inactive = false;
  if (pool.worklist.empty()) pool.watchdog_ts = now;
  move_linked_works(work, pwq.inactive, pool.worklist);
  emit(EventKind::WorkActivate, now, &pool, nullptr, &work, pwq.wq);
}

bool Core::activate_first_inactive(Pwq& pwq, Time now) {
  Work* work = pwq.inactive.front();
  if (!work || !pwq_tryinc_nr_active(pwq)) return false;
  activate_work(pwq, *work, now);
  return true;
}

Workqueue::NodeNrActive* Core::node_nr_active(const Pwq& pwq) {
  // wq_node_nr_active(): only unbound workqueues of 6.9+ count per node; a pool without a node
  // counts in the last slot.
  auto& nna = pwq.wq->node_nr_active;
  if (nna.empty()) return nullptr;
  int node = pwq.pool->node;
  return &nna[node == NUMA_NO_NODE ? nna.size() - 1 : static_cast<std::size_t>(node)];
}

bool Core::pwq_tryinc_nr_active(Pwq& pwq) {
  Workqueue::NodeNrActive* nna = node_nr_active(pwq);
  bool obtained;
  if (!nna) {
    obtained = pwq.nr_active < pwq.max_active;  // per-CPU and BH: the pwq's own count suffices
  } else if (pwq.node_pending) {
    obtained = false;  // already waiting its turn on the node: do not steal from the others
  } else {
    obtained = nna->nr < nna->max;
    if (obtained) {
      ++nna->nr;
    } else {
      pwq.node_pending = true;
      nna->pending_pwqs.push_back(&pwq);
    }
  }
  if (obtained) ++pwq.nr_active;
  return obtained;
}

void Core::pwq_dec_nr_active(Pwq& pwq, Time now) {
  --pwq.nr_active;
  Workqueue::NodeNrActive* nna = node_nr_active(pwq);
  if (!nna) {
    activate_first_inactive(pwq, now);
    return;
  }
  // The node's slot goes to the pwq that has waited longest, which may be on another pool.
  if (--nna->nr < nna->max) node_activate_pending_pwq(*nna, now);
}

void Core::node_activate_pending_pwq(Workqueue::NodeNrActive& nna, Time now) {
  auto unpend = [&](Pwq& p) {
    p.node_pending = false;
    nna.pending_pwqs.erase(std::find(nna.pending_pwqs.begin(), nna.pending_pwqs.end(), &p));
  };
  while (!nna.pending_pwqs.empty() && nna.nr < nna.max) {
    Pwq& pwq = *nna.pending_pwqs.front();
    Work* work = pwq.inactive.front();
    if (!work) {  // cancelled meanwhile
      unpend(pwq);
      continue;
    }
    ++nna.nr;
    ++pwq.nr_active;
    activate_work(pwq, *work, now);
    unpend(pwq);
    if (!pwq.inactive.empty()) {  // round-robin: to the back of the line
      pwq.node_pending = true;
      nna.pending_pwqs.push_back(&pwq);
    }
    kick_pool(*pwq.pool);
  }
}

void Core::update_node_max_active(Workqueue& wq) {
  // wq_update_node_max_active(): each node gets max_active in proportion to its online CPUs, at
  // least min_active; pools without a node get the whole max_active.
  auto& nna = wq.node_nr_active;
  if (nna.empty()) return;
  wq.min_active = std::min(wq.max_active, WQ_DFL_MIN_ACTIVE);
  int total = 0;
  std::vector<int> node_cpus(nna.size() - 1, 0);
  for (int cpu = 0; cpu < cfg_.possible_cpus; ++cpu)
    if (online_[cpu]) {
      ++total;
      ++node_cpus[static_cast<std::size_t>(cfg_.topology.node_of(cpu))];
    }
  for (std::size_t node = 0; node + 1 < nna.size(); ++node)
    nna[node].max = total == 0 ? wq.min_active
                               : std::clamp((wq.max_active * node_cpus[node] + total - 1) / total, wq.min_active,
                                            wq.max_active);
  nna.back().max = wq.max_active;
}

void Core::dec_nr_in_flight(Pwq& pwq, int color, bool was_active, Time now, bool* flush_due) {
  if (was_active) pwq_dec_nr_active(pwq, now);
  --pwq.nr_in_flight;
  Workqueue& wq = *pwq.wq;
  // A color only drops once its flush began (work_color moved on), so whoever empties it owes the
  // flusher its completion; flush_color_done() re-checks, so a late call completes nothing twice.
  if (color >= 0 && --wq.color_in_flight[color] == 0 && !wq.flushers.empty() && wq.flushers.front().color == color) {
    if (flush_due) *flush_due = true;
    else flush_color_done(wq, now);
  }
}

bool Core::grab_pending(Work& work, Time now) {
  lockdep_assert_held(nullptr);  // PENDING is taken from its owner under the exclusive lock only
  if (!work.pending) return false;
  if (work.delayed) {
    disarm(work.dwork->timer);
    work.delayed = false;
    work.pending = false;
    return true;
  }
  Pwq& pwq = *work.pwq;
  const bool was_active = !work.inactive;
  // Barriers chained to an inactive item move to the worklist and still run; the item itself
  // never held an nr_active slot.
  if (work.inactive) move_linked_works(work, pwq.inactive, pwq.pool->worklist);
  work.inactive = false;
  work.unlink();
  work.pending = false;
  work.linked = false;  // a chained barrier stays on the list and still runs
  work.pwq = nullptr;
  emit(EventKind::WorkCancel, now, pwq.pool, nullptr, &work, pwq.wq);
  dec_nr_in_flight(pwq, work.color, was_active, now);
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
  update_node_max_active(wq);
  for (auto& pwq : wq.pwqs) {
    pwq->max_active = wq.max_active;
    if (node_nr_active(*pwq)) continue;
    while (activate_first_inactive(*pwq, now)) {
    }
    kick_pool(*pwq->pool);
  }
  for (auto& nna : wq.node_nr_active) node_activate_pending_pwq(nna, now);
}

bool Core::start_flush_work(Work& work, Waiter& waiter, const Caller& caller, Time now) {
  Work& bar = waiter.barrier;
  waiter.done = false;
  waiter.pid = caller.pid ? caller.pid : (caller.worker ? caller.worker->id : 0);
  bar.barrier = &waiter;
  bar.inactive = true;  // barriers do not take part in nr_active
  bar.pending = true;
  if (!bar.id) bar.id = next_work_id_.fetch_add(1, std::memory_order_relaxed);
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
  lockdep_assert_held(nullptr);  // wq->mutex
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
