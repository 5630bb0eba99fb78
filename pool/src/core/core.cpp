// Setup of pools and workqueues, timers, and the kernel-format dump.
#include <cmwq/core.h>
#include <cmwq/report.h>
#include <cmwq/policy.h>

#include <fmt/format.h>

#include <algorithm>
#include <bit>

namespace cmwq {

const char* affinity_scope_name(AffinityScope s) {
  switch (s) {
    case AffinityScope::Default: return "default";
    case AffinityScope::Cpu: return "cpu";
    case AffinityScope::Smt: return "smt";
    case AffinityScope::Cache: return "cache";
    case AffinityScope::Numa: return "numa";
    case AffinityScope::System: return "system";
  }
  return "?";
}

std::vector<int> Topology::pod_cpus(AffinityScope scope, int cpu, int nr_cpus) const {
  std::vector<int> pod;
  for (int c = 0; c < nr_cpus; ++c) {
    bool same = scope == AffinityScope::System                 ? true
                : scope == AffinityScope::Numa                 ? node_of(c) == node_of(cpu)
                : scope == AffinityScope::Cache                ? cache_of(c) == cache_of(cpu)
                : scope == AffinityScope::Smt                  ? core_of(c) == core_of(cpu)
                                                               : c == cpu;
    if (same) pod.push_back(c);
  }
  return pod;
}

int Topology::nr_nodes(int nr_cpus) const {
  int n = 0;
  for (int c = 0; c < nr_cpus; ++c) n = std::max(n, node_of(c) + 1);
  return n;
}


std::string Worker::name() const {
  if (rescue_wq) return rescue_wq->name;
  if (!pool) return "kworker/dying";
  if (pool->flags & POOL_BH) return fmt::format("{}/{}", pool->nice < 0 ? "bh-hi" : "bh", pool->cpu);
  if (pool->cpu >= 0) return fmt::format("kworker/{}:{}{}", pool->cpu, index, pool->nice < 0 ? "H" : "");
  return fmt::format("kworker/u{}:{}", pool->id, index);
}

Core::Core(Config cfg, Driver& drv, Time now) : cfg_(std::move(cfg)), drv_(drv), next_pid_(cfg_.first_pid) {
  if (cfg_.possible_cpus < 1 || cfg_.possible_cpus > 4096)
    throw Error(fmt::format("cmwq: {} possible CPUs requested; use 1 to 4096", cfg_.possible_cpus));
  online_.assign(cfg_.possible_cpus, cfg_.online_cpus.empty());
  for (int cpu : cfg_.online_cpus) {
    if (cpu < 0 || cpu >= cfg_.possible_cpus)
      throw Error(fmt::format("cmwq: online CPU {} is not a possible CPU (0-{})", cpu, cfg_.possible_cpus - 1));
    online_[cpu] = true;
  }
  for (auto* ids : {&cfg_.topology.core, &cfg_.topology.cache, &cfg_.topology.node}) {
    if (!ids->empty() && ids->size() != static_cast<std::size_t>(cfg_.possible_cpus))
      throw Error(fmt::format("cmwq: the topology describes {} CPUs, not the {} possible ones", ids->size(),
                              cfg_.possible_cpus));
    for (int id : *ids)
      if (id < 0 || id >= cfg_.possible_cpus)
        throw Error(fmt::format("cmwq: topology id {} is out of range (0 to {})", id, cfg_.possible_cpus - 1));
  }
  watchdog_touched_cpu_.assign(cfg_.possible_cpus, now);
  watchdog_touched_ = now;
  if (has_bh_pools() && cfg_.model != Model::Modern)
    throw Error("cmwq: kernel 6.9 and later have separate highpri pools; use model modern");
  if (cfg_.model != Model::Original) {
    for (int cpu = 0; cpu < cfg_.possible_cpus; ++cpu) {
      // workqueue_init_early(): a CPU's BH pools first, then its normal and highpri pools.
      if (has_bh_pools()) {
        new_pool(cpu, 0, {cpu}, POOL_BH);
        new_pool(cpu, HIGHPRI_NICE_LEVEL, {cpu}, POOL_BH);
      }
      new_pool(cpu, 0, {cpu});
      if (cfg_.model == Model::Modern) new_pool(cpu, HIGHPRI_NICE_LEVEL, {cpu});
    }
    for (auto& pool : pools_) {
      pool->shared_highpri = cfg_.model == Model::Gcwq2010;
      if (online_[pool->cpu]) create_worker(*pool, now);
    }
  }
  if (cfg_.watchdog_thresh > 0) arm(watchdog_timer_, now + cfg_.watchdog_thresh);
}

Core::~Core() = default;

Pool& Core::new_pool(int cpu, int nice, std::vector<int> cpus, unsigned flags, int node) {
  auto pool = std::make_unique<Pool>();
  pool->id = static_cast<int>(pools_.size());
  pool->cpu = cpu;
  pool->nice = nice;
  pool->cpus = std::move(cpus);
  pool->flags = flags;
  pool->node = cpu >= 0 ? cfg_.topology.node_of(cpu) : node;  // before POOL_CREATE tells it
  // A BH pool has one worker, the CPU's softirq-like context: it never sleeps, so never needs another.
  if (flags & POOL_BH) pool->max_workers = 1;
  // Unbound pools and pools of offline CPUs are not bound to a CPU; BH pools, while per-CPU, never
  // are (their workers are the CPU's softirq, not kworkers bound to it): hotplug leaves them alone.
  if (cpu < 0 || !online_[cpu] || (flags & POOL_BH)) pool->flags |= POOL_DISASSOCIATED;
  if (cfg_.model == Model::Original) pool->max_workers = 1;
  pools_.push_back(std::move(pool));
  drv_.pool_created(*pools_.back());
  emit(EventKind::PoolCreate, 0, pools_.back().get(), nullptr, nullptr, nullptr, nice);
  return *pools_.back();
}

Pool& Core::cpu_pool(int cpu, bool highpri) const {
  auto c = static_cast<std::size_t>(cpu);
  if (has_bh_pools()) return *pools_.at(c * 4 + 2 + (highpri ? 1 : 0));
  if (cfg_.model == Model::Modern) return *pools_.at(c * 2 + (highpri ? 1 : 0));
  return *pools_.at(c);
}

Pool& Core::bh_pool(int cpu, bool highpri) const {
  if (!has_bh_pools()) throw Error("cmwq: BH pools exist from kernel 6.9 on (Config::kernel)");
  return *pools_.at(static_cast<std::size_t>(cpu) * 4 + (highpri ? 1 : 0));
}

Pool& Core::unbound_pool(int nice) {
  for (auto& pool : pools_)
    if (pool->cpu < 0 && pool->nice == nice && cfg_.model != Model::Original) return *pool;
  std::vector<int> all(cfg_.possible_cpus);
  for (int i = 0; i < cfg_.possible_cpus; ++i) all[i] = i;
  Pool& pool = new_pool(-1, nice, std::move(all));
  create_worker(pool, 0);
  return pool;
}

Workqueue* Core::alloc_workqueue(std::string_view name, unsigned flags, int max_active, Time now,
                                 AffinityScope scope, bool strict) {
  if (name.empty()) throw Error("alloc_workqueue: the name is empty; give the workqueue a name");
  if ((flags & WQ_BH) && !has_bh_pools())
    throw Error(fmt::format("alloc_workqueue(\"{}\"): WQ_BH needs kernel 6.9 or later (Config::kernel, `kernel 6.9` "
                            "in a scenario)",
                            name));
  if ((flags & WQ_BH) && (flags & ~kWqBhAllows))
    throw Error(fmt::format("alloc_workqueue(\"{}\"): WQ_BH combines only with WQ_HIGHPRI and WQ_PERCPU, not 0x{:x}",
                            name, flags & ~kWqBhAllows));
  if ((flags & WQ_BH) && max_active)
    throw Error(fmt::format("alloc_workqueue(\"{}\"): a BH workqueue takes max_active 0 (the default), not {}", name,
                            max_active));
  if (unsigned bad = flags & ~kWqUserFlags)
    throw Error(fmt::format("alloc_workqueue(\"{}\"): unknown flags 0x{:x}; valid flags are 0x{:x}", name, bad,
                            kWqUserFlags));
  if ((flags & WQ_UNBOUND) && (flags & WQ_PERCPU))
    throw Error(fmt::format("alloc_workqueue(\"{}\"): WQ_UNBOUND and WQ_PERCPU exclude each other", name));
  auto wq = std::make_unique<Workqueue>();
  wq->name = std::string(name.substr(0, WQ_NAME_LEN - 1));
  if (name.size() >= WQ_NAME_LEN) warn(fmt::format("workqueue: name exceeds WQ_NAME_LEN. Truncating to: {}", wq->name));
  wq->flags = flags;
  int lim = (flags & WQ_UNBOUND) ? WQ_UNBOUND_MAX_ACTIVE : WQ_MAX_ACTIVE;
  if (max_active == 0) max_active = WQ_DFL_ACTIVE;
  if (max_active < 1 || max_active > lim) {
    warn(fmt::format("workqueue: max_active {} requested for {} is out of range, clamping between {} and {}",
                     max_active, wq->name, 1, lim));
    max_active = std::clamp(max_active, 1, lim);
  }
  wq->saved_max_active = max_active;
  wq->max_active = (freezing_ && (flags & WQ_FREEZABLE)) ? 0 : max_active;
  if ((scope != AffinityScope::Default || strict) && (!(flags & WQ_UNBOUND) || cfg_.kernel < Kernel::V6_5))
    throw Error(fmt::format("alloc_workqueue(\"{}\"): affinity scopes are for unbound workqueues of kernel 6.5 and "
                            "later",
                            wq->name));
  wq->affn_scope = scope;
  wq->affn_strict = strict;

  auto add_pwq = [&](Pool& pool) { new_pwq(*wq, pool); };
  bool highpri = flags & WQ_HIGHPRI;
  int nice = highpri ? HIGHPRI_NICE_LEVEL : 0;
  if (cfg_.model == Model::Original) {
    // Before cmwq every workqueue had its own threads: one per CPU, or one for a single-threaded wq.
    if (flags & WQ_UNBOUND) {
      std::vector<int> all(cfg_.possible_cpus);
      for (int i = 0; i < cfg_.possible_cpus; ++i) all[i] = i;
      Pool& pool = new_pool(-1, nice, std::move(all));
      create_worker(pool, now);
      add_pwq(pool);
    } else {
      for (int cpu = 0; cpu < cfg_.possible_cpus; ++cpu) {
        Pool& pool = new_pool(cpu, nice, {cpu});
        if (online_[cpu]) create_worker(pool, now);
        add_pwq(pool);
      }
    }
  } else if ((flags & WQ_UNBOUND) && cfg_.kernel >= Kernel::V6_5) {
    alloc_unbound_pwqs(*wq, now);
  } else if (flags & WQ_UNBOUND) {
    add_pwq(unbound_pool(nice));
  } else if (flags & WQ_BH) {
    for (int cpu = 0; cpu < cfg_.possible_cpus; ++cpu) add_pwq(bh_pool(cpu, highpri));
  } else {
    for (int cpu = 0; cpu < cfg_.possible_cpus; ++cpu) add_pwq(cpu_pool(cpu, highpri));
  }
  if (wq->cpu_pwq.empty()) {
    // Per-CPU: CPU N's pwq is the Nth; one unbound pwq serves every CPU.
    for (int cpu = 0; cpu < cfg_.possible_cpus; ++cpu)
      wq->cpu_pwq.push_back(wq->pwqs.size() == 1 ? wq->pwqs.front().get() : wq->pwqs.at(cpu).get());
  }
  Workqueue* w = wq.get();
  if (flags & WQ_MEM_RECLAIM) {
    // init_rescuer() before the workqueue is listed, as the kernel's: one whose rescuer cannot start is
    // never seen (no WQ_CREATE, not on the list), and nothing points at the rescuer it drops.
    auto rescuer = std::make_unique<Worker>();
    rescuer->id = next_pid_++;
    rescuer->rescue_wq = w;
    rescuer->flags = WORKER_PREP;  // never cleared: a rescuer is outside concurrency management
    if (!drv_.spawn(*rescuer))
      throw Error(fmt::format("alloc_workqueue(\"{}\"): could not start the rescuer thread", w->name));
    w->rescuer = rescuer.get();
    all_workers_.push_back(std::move(rescuer));
  }
  w->id = static_cast<std::uint32_t>(wqs_.size() + 1);
  wqs_.push_back(std::move(wq));
  emit(EventKind::WqCreate, now, nullptr, nullptr, nullptr, w, w->saved_max_active);
  if (w->rescuer) emit(EventKind::WorkerCreate, now, nullptr, w->rescuer, nullptr, w);
  return w;
}

Pwq& Core::new_pwq(Workqueue& wq, Pool& pool) {
  auto pwq = std::make_unique<Pwq>();
  pwq->wq = &wq;
  pwq->pool = &pool;
  pwq->max_active = wq.max_active;
  pwq->mayday_pos.marker = true;
  pwq->mayday_pos.pwq = pwq.get();
  wq.pwqs.push_back(std::move(pwq));
  return *wq.pwqs.back();
}

Pool& Core::unbound_pod_pool(int nice, const std::vector<int>& pod, bool strict, Time now) {
  // get_unbound_pool(): pools are shared by attributes (nice, the pod's CPUs, strictness).
  for (auto& pool : pools_)
    if (pool->cpu < 0 && pool->nice == nice && pool->pod_cpus == pod && pool->affn_strict == strict) return *pool;
  std::vector<int> all(cfg_.possible_cpus);
  for (int i = 0; i < cfg_.possible_cpus; ++i) all[i] = i;
  // The pool's node is the NUMA node that holds its whole pod, if one does.
  int node = cfg_.topology.node_of(pod.front());
  bool one_node = std::all_of(pod.begin(), pod.end(), [&](int c) { return cfg_.topology.node_of(c) == node; });
  Pool& pool = new_pool(-1, nice, std::move(all), 0, one_node ? node : NUMA_NO_NODE);
  pool.pod_cpus = pod;
  pool.affn_strict = strict;
  create_worker(pool, now);
  return pool;
}

void Core::alloc_unbound_pwqs(Workqueue& wq, Time now) {
  // apply_wqattrs_prepare(): a default pwq over all CPUs, and one pwq per CPU on the pool of the
  // CPU's pod (an ordered workqueue uses the default one everywhere).
  const int nice = (wq.flags & WQ_HIGHPRI) ? HIGHPRI_NICE_LEVEL : 0;
  const AffinityScope scope = wq.affn_scope == AffinityScope::Default ? cfg_.default_affn_scope : wq.affn_scope;
  std::vector<int> all(cfg_.possible_cpus);
  for (int i = 0; i < cfg_.possible_cpus; ++i) all[i] = i;
  std::vector<std::unique_ptr<Pwq>> old = std::move(wq.pwqs);  // idle (set_affinity checks): freed below
  for (auto& pwq : old) {
    if (pwq->on_list()) List<Pwq, MaydayEntry>::remove(pwq.get());
    if (pwq->mayday_pos.on_list()) List<Work, WorkEntry>::remove(&pwq->mayday_pos);
  }
  wq.pwqs.clear();
  wq.cpu_pwq.assign(cfg_.possible_cpus, nullptr);
  Pool& dfl_pool = unbound_pod_pool(nice, all, wq.affn_strict, now);
  if (wq.flags & __WQ_ORDERED) {
    Pwq& dfl = new_pwq(wq, dfl_pool);
    wq.cpu_pwq.assign(cfg_.possible_cpus, &dfl);
  } else {
    for (int cpu = 0; cpu < cfg_.possible_cpus; ++cpu)
      wq.cpu_pwq[cpu] = &new_pwq(wq, unbound_pod_pool(nice, cfg_.topology.pod_cpus(scope, cpu, cfg_.possible_cpus),
                                                      wq.affn_strict, now));
    new_pwq(wq, dfl_pool);  // dfl_pwq, linked last; used when a pod has no CPU left
  }
  if (cfg_.kernel >= Kernel::V6_9) {
    wq.node_nr_active.assign(static_cast<std::size_t>(cfg_.topology.nr_nodes(cfg_.possible_cpus)) + 1, {});
    update_node_max_active(wq);
  }
}

void Core::set_affinity(Workqueue& wq, AffinityScope scope, bool strict, Time now) {
  if (!(wq.flags & WQ_UNBOUND) || cfg_.kernel < Kernel::V6_5 || cfg_.model == Model::Original)
    throw Error(fmt::format("workqueue {}: affinity scopes are for unbound workqueues of kernel 6.5 and later",
                            wq.name));
  if (busy(wq))
    throw Error(fmt::format("workqueue {}: set its affinity scope while nothing is queued on it", wq.name));
  wq.affn_scope = scope;
  wq.affn_strict = strict;
  alloc_unbound_pwqs(wq, now);
}

Workqueue* Core::alloc_ordered_workqueue(std::string_view name, unsigned flags, Time now) {
  return alloc_workqueue(name, flags | WQ_UNBOUND | __WQ_ORDERED, 1, now);
}

void Core::set_max_active(Workqueue& wq, int max_active, Time now) {
  if (wq.flags & __WQ_ORDERED)
    throw Error(fmt::format("workqueue_set_max_active({}): an ordered workqueue keeps max_active 1", wq.name));
  int lim = (wq.flags & WQ_UNBOUND) ? WQ_UNBOUND_MAX_ACTIVE : WQ_MAX_ACTIVE;
  if (max_active < 1 || max_active > lim) {
    warn(fmt::format("workqueue: max_active {} requested for {} is out of range, clamping between {} and {}",
                     max_active, wq.name, 1, lim));
    max_active = std::clamp(max_active, 1, lim);
  }
  wq.saved_max_active = max_active;
  if (freezing_ && (wq.flags & WQ_FREEZABLE)) return;
  wq.max_active = max_active;
  apply_max_active(wq, now);
  emit(EventKind::MaxActive, now, nullptr, nullptr, nullptr, &wq, max_active);
}

bool Core::busy(const Workqueue& wq) const {
  return std::any_of(wq.pwqs.begin(), wq.pwqs.end(), [](auto& pwq) { return pwq->nr_in_flight > 0; });
}

void Core::destroy_begin(Workqueue& wq, Time now) {
  if (wq.flags & __WQ_DESTROYING)
    throw Error(fmt::format("destroy_workqueue({}): the workqueue is already being destroyed", wq.name));
  wq.flags |= __WQ_DESTROYING | __WQ_DRAINING;
  emit(EventKind::Flush, now, nullptr, nullptr, nullptr, &wq);
}

void Core::destroy_finish(Workqueue& wq, Time now) {
  if (busy(wq)) throw Error(fmt::format("destroy_workqueue({}): work is still in flight after draining", wq.name));
  for (auto& pwq : wq.pwqs) {
    if (pwq->on_list()) List<Pwq, MaydayEntry>::remove(pwq.get());
    if (pwq->mayday_pos.on_list()) List<Work, WorkEntry>::remove(&pwq->mayday_pos);
  }
  if (Worker* r = wq.rescuer) {
    r->flags |= WORKER_DIE;
    wq.rescuer = nullptr;
    drv_.wake(*r);
  }
  wq.pwqs.clear();
  wq.cpu_pwq.clear();
  wq.node_nr_active.clear();
  wq.flags &= ~__WQ_DRAINING;
  emit(EventKind::WqDestroy, now, nullptr, nullptr, nullptr, &wq);
}

void Core::reap(Worker& w) {
  auto it = std::find_if(all_workers_.begin(), all_workers_.end(), [&](auto& p) { return p.get() == &w; });
  if (it != all_workers_.end()) all_workers_.erase(it);
}

// --- timers ---

void Core::arm(Timer& t, Time expires) {
  std::lock_guard lk(timer_lock_);
  arm_locked(t, expires);
}

void Core::arm_if_idle(Timer& t, Time expires) {
  std::lock_guard lk(timer_lock_);
  if (!t.armed) arm_locked(t, expires);
}

void Core::disarm(Timer& t) {
  std::lock_guard lk(timer_lock_);
  disarm_locked(t);
}

void Core::arm_locked(Timer& t, Time expires) {
  disarm_locked(t);
  t.expires = expires;
  t.pos = timers_.emplace(expires, &t);
  t.armed = true;
  if (t.pos == timers_.begin()) drv_.timers_changed();
}

void Core::disarm_locked(Timer& t) {
  if (!t.armed) return;
  timers_.erase(t.pos);
  t.armed = false;
}

Time Core::next_deadline() const {
  std::lock_guard lk(timer_lock_);
  return timers_.empty() ? kNever : timers_.begin()->first;
}

void Core::advance(Time now) {
  for (;;) {
    Timer* due;
    {
      // A callback arms timers itself: it runs without timer_lock_.
      std::lock_guard lk(timer_lock_);
      if (timers_.empty() || timers_.begin()->first > now) return;
      due = timers_.begin()->second;
      disarm_locked(*due);
    }
    Timer& t = *due;
    switch (t.kind) {
      case Timer::Kind::Mayday: mayday_timeout(*static_cast<Pool*>(t.owner), now); break;
      case Timer::Kind::Idle: idle_timeout(*static_cast<Pool*>(t.owner), now); break;
      case Timer::Kind::Watchdog: watchdog_check(now); break;
      case Timer::Kind::WatchdogReport: watchdog_report(now, true); break;
      case Timer::Kind::Delayed: {
        auto& dw = *static_cast<DelayedWork*>(t.owner);
        dw.work.delayed = false;
        do_queue(dw.cpu, *dw.wq, dw.work, Caller{dw.work.queue_cpu, nullptr, 0}, now);
        break;
      }
    }
  }
}

// --- output ---

void Core::announce_state(Time now) {
  for (auto& pool : pools_) emit(EventKind::PoolCreate, now, pool.get(), nullptr, nullptr, nullptr, pool->nice);
  for (auto& wq : wqs_)
    if (!wq->pwqs.empty()) emit(EventKind::WqCreate, now, nullptr, nullptr, nullptr, wq.get(), wq->saved_max_active);
  for (auto& w : all_workers_) {
    if (w->dead) continue;
    emit(EventKind::WorkerCreate, now, w->pool, w.get(), nullptr, w->rescue_wq);
    if (w->flags & WORKER_IDLE) emit(EventKind::WorkerIdle, now, w->pool, w.get());
    if (w->current_work)
      emit(EventKind::WorkStart, now, w->pool, w.get(), w->current_work, w->current_pwq->wq);
    if (w->blocked) emit(EventKind::WorkerSleep, now, w->pool, w.get(), w->current_work);
    for (Work* s : w->scheduled) {
      if (s->barrier) {
        emit(EventKind::Barrier, now, w->pool, nullptr, w->current_work, s->pwq->wq, s->barrier->pid);
        continue;
      }
      emit(EventKind::WorkQueue, now, w->pool, nullptr, s, s->pwq->wq, w->pool->cpu);
      emit(EventKind::WorkAssign, now, w->pool, w.get(), s, s->pwq->wq);
    }
  }
  // Queued items, in list order, each barrier after the item it flushes.
  auto announce_list = [&](auto& list, bool active) {
    Work* prev = nullptr;
    for (Work* w : list) {
      if (w->marker) continue;
      if (w->barrier) {
        if (prev) emit(EventKind::Barrier, now, w->pwq->pool, nullptr, prev, w->pwq->wq, w->barrier->pid);
        continue;
      }
      emit(EventKind::WorkQueue, now, w->pwq->pool, nullptr, w, w->pwq->wq, w->pwq->pool->cpu);
      if (active) emit(EventKind::WorkActivate, now, w->pwq->pool, nullptr, w, w->pwq->wq);
      prev = w;
    }
  };
  for (auto& pool : pools_) announce_list(pool->worklist, true);
  for (auto& wq : wqs_)
    for (auto& pwq : wq->pwqs) announce_list(pwq->inactive, false);
}

void Core::warn(std::string line) { drv_.message(line); }

std::string Core::pool_info(const Pool& pool) { return pool_identity(pool.cpus, pool.node, pool.flags, pool.nice); }

namespace {

report::Item describe(const Work& w) { return {w.func ? w.func : "", w.barrier ? w.barrier->pid : 0, w.linked}; }

}  // namespace

std::vector<std::string> Core::show_all_workqueues(Time now) const {
  report::Busy busy;
  busy.dialect = dialect_of(cfg_.kernel);
  for (auto& wq : wqs_) {
    report::Workqueue& rw = busy.workqueues.emplace_back(report::Workqueue{wq->name, wq->flags, {}});
    for (auto& pwqp : wq->pwqs) {
      const Pwq& pwq = *pwqp;
      const Pool& pool = *pwq.pool;
      report::Pwq& rp = rw.pwqs.emplace_back();
      rp.pool = pool.id;
      rp.identity = pool_info(pool);
      rp.nr_active = pwq.nr_active;
      rp.max_active = pwq.max_active;
      rp.refcnt = 1 + pwq.nr_in_flight + (pwq.on_list() ? 1 : 0);
      rp.mayday = pwq.on_list();
      std::vector<Worker*> busy_workers;
      pool.busy.for_each([&](Worker& worker) {
        if (worker.current_pwq == &pwq) busy_workers.push_back(&worker);
      });
      std::sort(busy_workers.begin(), busy_workers.end(), [](Worker* a, Worker* b) { return a->id < b->id; });
      for (Worker* worker : busy_workers) {
        report::InFlight& f = rp.in_flight.emplace_back(report::InFlight{worker->id, worker->rescue_wq != nullptr,
                                                                         worker->current_func, {}, {}});
        if (pool.flags & POOL_BH) f.pid = -1;  // a BH pool's worker is its CPU's softirq: "bh" (pr_cont_worker_id)
        f.for_s = (now - worker->work_started) / kSec;
        for (Work* w : worker->scheduled) f.scheduled.push_back(describe(*w));
      }
      for (Work* w : pool.worklist)
        if (w->pwq == &pwq && !w->marker) rp.pending.push_back(describe(*w));
      for (Work* w : pwq.inactive) rp.inactive.push_back(describe(*w));
    }
  }
  for (auto& poolp : pools_) {
    const Pool& pool = *poolp;
    report::Pool& rp = busy.pools.emplace_back();
    rp.id = pool.id;
    rp.identity = pool_info(pool);
    rp.hung_s = pool.worklist.empty() ? 0 : (now - pool.watchdog_ts) / kSec;
    rp.nr_workers = pool.nr_workers;
    rp.nr_idle = pool.nr_idle;
    rp.manager = pool.manager ? pool.manager->id : 0;
    for (Worker* w : pool.idle_list) rp.idle.push_back(w->id);
  }
  return report::show_busy(busy);
}

PwqStats Core::stats(const Workqueue& wq) {
  PwqStats s;
  for (auto& pwq : wq.pwqs) s += pwq->stats;
  return s;
}

std::vector<std::string> Core::wq_monitor_table() const {
  std::vector<report::Monitor> rows;
  for (auto& wq : wqs_) {
    PwqStats s = stats(*wq);
    rows.push_back({wq->name, wq->flags, s.started, s.completed, s.cpu_time_ns, s.cpu_intensive, s.cm_wakeup,
                    s.repatriated, s.mayday, s.rescued});
  }
  return report::wq_monitor_table(rows);
}

}  // namespace cmwq
