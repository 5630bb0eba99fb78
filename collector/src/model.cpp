#include "model.h"

#include "untrusted.h"

#include <cmwq/constants.h>
#include <cmwq/report.h>

#include <algorithm>
#include <cstring>

namespace wqscope {

namespace {

/// `w = WorkInstance{}`, copied from an empty one: the strings keep their buffers (a worker's current
/// item ends at every WORK_END, and the next one's names fill them again).
void reset(WorkInstance& w) {
  static const WorkInstance kNone;
  w = kNone;
}

}  // namespace

std::pair<Model::Items::iterator, bool> Model::item(std::uint64_t work) {
  if (!items_.placed) reindex();
  return items_.map.try_emplace(work);
}

Model::Items::iterator Model::find_item(std::uint64_t work) {
  if (!items_.placed) reindex();
  return items_.map.find(work);
}

EntryList::iterator Model::unlist(Item& i) {
  auto after = i.list->erase(i.it);
  i.list = nullptr;
  return after;
}

void Model::release(Items::iterator i) {
  if (i != items_.map.end() && i->second.idle()) items_.map.erase(i);
}

EntryList::iterator Model::find_work(EntryList& list, std::uint64_t work) {
  auto i = find_item(work);
  return i != items_.map.end() && i->second.list == &list ? i->second.it : list.end();
}

EntryList::iterator Model::insert_work(EntryList& list, EntryList::iterator pos, const Entry& e) {
  auto it = list.insert(pos, e);
  if (e.work) {
    Item& i = item(e.work).first->second;
    i.list = &list;
    i.it = it;
  }
  return it;
}

EntryList::iterator Model::erase_work(EntryList& list, EntryList::iterator it) {
  if (it->work)
    if (auto i = find_item(it->work); i != items_.map.end() && i->second.list && i->second.it == it) {
      i->second.list = nullptr;
      release(i);
    }
  return list.erase(it);
}

void Model::move_linked(EntryList& from, EntryList::iterator it, EntryList& to, EntryList::iterator to_pos, Item* first) {
  auto last = it;
  while (last->linked && std::next(last) != from.end()) ++last;
  auto end = std::next(last);
  if (first) first->list = &to;
  for (auto x = first ? std::next(it) : it; x != end; ++x)  // splice keeps iterators valid: only their list changes
    if (x->work)
      if (auto i = find_item(x->work); i != items_.map.end() && i->second.list && i->second.it == x) i->second.list = &to;
  to.splice(to_pos, from, it, end);
}

void Model::clear_list(EntryList& list) {
  while (!list.empty()) erase_work(list, list.begin());
}

void Model::reindex() {
  items_.placed = true;
  for (auto& [work, i] : items_.map) i.list = nullptr;
  auto add = [&](EntryList& list) {
    for (auto it = list.begin(); it != list.end(); ++it)
      if (it->work) {
        Item& i = items_.map[it->work];
        i.list = &list;
        i.it = it;
      }
  };
  for (auto& [key, q] : pwqs_) add(q.inactive);
  for (auto& [id, p] : pools_) add(p.worklist);
  for (auto& [pid, w] : workers_) add(w.scheduled);
  std::erase_if(items_.map, [](const auto& kv) { return kv.second.idle(); });
}

const Name& Model::interned(std::uint32_t id) const {
  static const Name unknown;
  auto it = names_.find(id);
  return it == names_.end() ? unknown : it->second;
}

std::string Model::name(std::uint32_t id) const { return interned(id).str(); }

void Model::describe(WorkInstance& w, const cmwq_ev_state& e, const WorkqueueInfo* wq) const {
  w.work = e.work;
  w.func = interned(e.func);
  if (wq) w.wq = wq->name;
  w.wq_id = e.wq;
  w.pool = e.pool;
}

PoolInfo* Model::pool_state(const cmwq_ev_state& e) {
  if (e.pool < 0) return nullptr;
  PoolInfo& p = pool_at_(pools_, e.pool);
  p.id = e.pool;
  p.cpu = e.h.cpu;
  p.flags = e.pool_flags;
  p.nr_running = e.nr_running;
  p.nr_idle = e.nr_idle;
  p.nr_workers = e.nr_workers;
  return &p;
}

void Model::apply(const cmwq::Record& r) {
  ++records_;
  const cmwq_event_header& h = *r.h;
  if (h.ts > static_cast<std::uint64_t>(INT64_MAX)) {  // damage: the model's times are signed, and differences of them
    ++anomalies_;
    return;
  }
  last_ts_ = static_cast<std::int64_t>(h.ts);
  if (h.kind == CMWQ_EV_HELLO) {
    // A new session of this System (another tracer attached): its ids go on, and it announces the
    // state again. A model that followed the last session without a gap knows that state already
    // and more (the counters): it keeps what it knew until ANNOUNCED. Otherwise the announcement
    // is what it learns the state from.
    possible_cpus_ = static_cast<int>(r.hello()->possible_cpus);
    restating_ = following_;
    following_ = true;
    last_seq_ = h.seq;
    return;
  }
  if (h.kind == CMWQ_EV_ANNOUNCED) {
    restating_ = false;
    last_seq_ = h.seq;
    return;
  }
  if (h.kind == CMWQ_EV_GAP) {
    apply_gap(*r.state());
    return;
  }
  if (h.kind == CMWQ_EV_OFF_CPU || h.kind == CMWQ_EV_ON_CPU) {  // the kernel's, outside the pool's sequence
    apply_sched(*r.state());
    return;
  }
  if (h.seq) last_seq_ = h.seq;
  if (restating_ && h.kind != CMWQ_EV_NAME) {
    ++restated_;
    return;
  }
  if (h.kind == CMWQ_EV_NAME) {
    const cmwq_ev_name& n = *r.name();
    std::string text(n.text, strnlen(n.text, sizeof n.text));
    // The target writes these, and everything downstream prints them: kept printable (untrusted.h).
    // Observers get the bytes as sent: a recording replays them through here again, and escaped
    // they could outgrow the record's CMWQ_NAME_MAX.
    names_[n.id] = Name(printable(text));
    notify([&](ModelObserver& o) { o.on_name(n.id, n.name_kind, text); });
    return;
  }
  const cmwq_ev_state& e = *r.state();
  PoolInfo* pool = pool_state(e);
  const auto ts = static_cast<std::int64_t>(h.ts);
  switch (h.kind) {
    case CMWQ_EV_WQ_CREATE: {
      WorkqueueInfo& wq = wqs_[e.wq];
      wq = WorkqueueInfo{};
      wq.id = e.wq;
      wq.name = interned(e.func);
      wq.flags = e.flags;
      wq.max_active = e.arg;
      wq.created_ns = ts;
      wq.counters.name = wq.name;
      wq.counters.flags = wq.flags;
      wq.counters.cm_known = false;
      wq.counters.internals_known = h.pid != 0;  // pid 0: kernel mode
      notify([&](ModelObserver& o) { o.on_workqueue(wq); });
      break;
    }
    case CMWQ_EV_WQ_DESTROY:
      if (auto it = wqs_.find(e.wq); it != wqs_.end()) {
        it->second.destroyed_ns = ts;
        notify([&](ModelObserver& o) { o.on_workqueue(it->second); });
      }
      break;
    case CMWQ_EV_MAX_ACTIVE:
      if (auto it = wqs_.find(e.wq); it != wqs_.end()) it->second.max_active = e.arg;
      break;
    case CMWQ_EV_POOL_CREATE: {
      PoolInfo& p = pools_[e.pool];
      p.nice = static_cast<int>(e.arg);
      p.node = e.nr_active >= 0 ? e.nr_active : PoolInfo::kNodeNotSaid;
      if (e.func) p.identity = name(e.func);
      notify([&](ModelObserver& o) { o.on_pool(p); });
      break;
    }
    case CMWQ_EV_CPU_OFFLINE:
    case CMWQ_EV_CPU_ONLINE:
      for (auto& [id, p] : pools_)
        if (p.cpu == e.arg && !(p.flags & cmwq::POOL_BH)) {  // BH pools stay DISASSOCIATED: hotplug leaves them
          if (h.kind == CMWQ_EV_CPU_OFFLINE) p.flags |= cmwq::POOL_DISASSOCIATED;
          else p.flags &= ~cmwq::POOL_DISASSOCIATED;
        }
      break;
    case CMWQ_EV_MANAGER_START:
      pools_[e.pool].manager = e.worker;
      pools_[e.pool].idle.remove(e.worker);  // it left the idle list to manage, without a record of its own
      break;
    case CMWQ_EV_MANAGER_END:
      pools_[e.pool].manager = 0;
      end_episode(pools_[e.pool], ts);  // its workers are back: calling for rescue is over
      break;
    case CMWQ_EV_WORKER_CREATE:
    case CMWQ_EV_WORKER_DESTROY:
    case CMWQ_EV_WORKER_IDLE:
    case CMWQ_EV_WORKER_BUSY:
    case CMWQ_EV_WORKER_SLEEP:
    case CMWQ_EV_WORKER_WAKE:
      apply_worker(e);
      break;
    case CMWQ_EV_MAYDAY:
    case CMWQ_EV_RESCUER_WAKE:
    case CMWQ_EV_RESCUE:
      apply_rescue(e);
      break;
    case CMWQ_EV_BARRIER:
    case CMWQ_EV_BARRIER_DONE:
      apply_barrier(e);
      break;
    case CMWQ_EV_REPORTED:
      apply_reported(e);
      break;
    case CMWQ_EV_CPU_INTENSIVE:
      if (auto w = workers_.find(e.worker); w != workers_.end() && w->second.current.work == e.work) {
        if (auto q = wqs_.find(e.wq); q != wqs_.end()) ++q->second.counters.cpu_intensive;
        std::uint64_t n = ++hogs_[w->second.current.func];
        notify([&](ModelObserver& o) { o.on_cpu_hog(w->second.current, n, ts); });
      }
      break;
    default:
      apply_work(e, pool);
      break;
  }
}

void Model::apply_worker(const cmwq_ev_state& e) {
  const auto ts = static_cast<std::int64_t>(e.h.ts);
  WorkerInfo& w = workers_[e.worker];
  w.pid = e.worker;
  auto leave_idle = [&] {
    if (PoolInfo* p = pool_at_.find(pools_, w.pool)) p->idle.remove(w.pid);
  };
  auto set_state = [&](WorkerState s) {
    if (w.state != s) w.state_since_ns = ts;
    w.state = s;
  };
  switch (e.h.kind) {
    case CMWQ_EV_WORKER_CREATE:
      clear_list(w.scheduled);  // a pid used again: what the old worker held is gone from the index too
      w = WorkerInfo{};
      w.pid = e.worker;
      w.pool = e.pool;
      w.rescuer_of = e.wq;
      w.created_ns = w.state_since_ns = ts;
      notify([&](ModelObserver& o) { o.on_worker(w); });
      break;
    case CMWQ_EV_WORKER_DESTROY:
      leave_idle();
      w.destroyed_ns = ts;
      notify([&](ModelObserver& o) { o.on_worker(w); });
      clear_list(w.scheduled);
      workers_.erase(e.worker);  // its row has it; kept here, workers that come and go for hours add up
      break;
    case CMWQ_EV_WORKER_IDLE:
      leave_idle();
      w.pool = e.pool;
      {
        std::list<int>& idle = pool_at_(pools_, e.pool).idle;
        idle.push_front(w.pid);
        // After lost records it may hold workers whose leaving was not seen: the record counts the
        // pool's idle workers, and the stale ones are the longest idle.
        if (lost_)
          while (static_cast<int>(idle.size()) > std::max(1, e.nr_idle)) idle.pop_back();
      }
      set_state(WorkerState::Idle);
      break;
    case CMWQ_EV_WORKER_BUSY:
      leave_idle();
      set_state(WorkerState::Busy);
      break;
    case CMWQ_EV_WORKER_SLEEP:
      set_state(WorkerState::Sleeping);
      break;
    case CMWQ_EV_WORKER_WAKE:
      set_state(WorkerState::Busy);
      break;
  }
}

void Model::apply_sched(const cmwq_ev_state& e) {
  auto it = workers_.find(e.worker);
  if (it == workers_.end() || it->second.destroyed_ns >= 0) return;  // not a worker: the app's own threads
  WorkerInfo& w = it->second;
  const auto ts = static_cast<std::int64_t>(e.h.ts);
  if (e.h.kind == CMWQ_EV_OFF_CPU) {
    w.off_cpu_since = ts;
    w.off_cpu_state = e.flags;
    w.hidden_block = w.current.work && w.state == WorkerState::Busy;  // not a sleep it announced
    return;
  }
  if (w.off_cpu_since < 0) return;  // went off before the recording began
  // Saturating: a damaged stream may put an ON_CPU at the end of time, again and again.
  std::int64_t& off = w.current.off_cpu_ns;
  if (w.current.work && __builtin_add_overflow(off, std::max<std::int64_t>(0, ts - w.off_cpu_since), &off))
    off = INT64_MAX;
  notify([&](ModelObserver& o) { o.on_off_cpu(w, ts); });
  w.off_cpu_since = -1;
  w.hidden_block = false;
}

void Model::apply_reported(const cmwq_ev_state& e) {
  // A kernel report's numbers: what it printed is the state, whatever the items on the lists add up to.
  if (e.wq) {
    PwqInfo& q = pwq(e);
    q.nr_active = std::max(0, e.nr_active);
    q.refcnt = static_cast<int>(std::clamp<std::int64_t>(e.arg, -1, INT32_MAX));
    q.max_active = static_cast<int>(std::min<std::uint32_t>(e.flags, INT32_MAX));
    q.printed = std::max(0, e.worker);
    q.mayday = false;  // a MAYDAY record follows if the line said so
  } else if (e.pool >= 0) {
    pools_[e.pool].last_progress_ns = e.arg;
    pools_[e.pool].printed = static_cast<int>(std::min<std::uint32_t>(e.flags, INT32_MAX));
  } else {
    dialect_ = name(e.func);
  }
}

void Model::apply_rescue(const cmwq_ev_state& e) {
  const auto ts = static_cast<std::int64_t>(e.h.ts);
  auto q = wqs_.find(e.wq);
  switch (e.h.kind) {
    case CMWQ_EV_MAYDAY: {
      pwq(e).mayday = true;
      if (!e.work) break;  // the rescuer put it back on the list: no new call
      if (q != wqs_.end()) ++q->second.counters.mayday;
      PoolInfo& p = pools_[e.pool];
      MaydayEpisode& ep = p.episode;
      if (ep.started_ns < 0) {
        ep = MaydayEpisode{};
        ep.pool = e.pool;
        ep.started_ns = ts;
      }
      ++ep.maydays;
      if (q != wqs_.end() && std::find(ep.workqueues.begin(), ep.workqueues.end(), q->second.name) == ep.workqueues.end())
        ep.workqueues.push_back(q->second.name);
      notify([&](ModelObserver& o) { o.on_mayday(p, ts); });
      break;
    }
    case CMWQ_EV_RESCUER_WAKE: {
      pwq(e).mayday = false;  // the rescuer took it off the list
      WorkerInfo& r = workers_[e.worker];
      r.pool = e.pool;
      break;
    }
    case CMWQ_EV_RESCUE:
      if (q != wqs_.end()) ++q->second.counters.rescued;
      if (auto p = pools_.find(e.pool); p != pools_.end() && p->second.episode.started_ns >= 0)
        ++p->second.episode.rescued;
      break;
  }
}

void Model::end_episode(PoolInfo& p, std::int64_t ts) {
  if (p.episode.started_ns < 0) return;
  p.episode.ended_ns = ts;
  notify([&](ModelObserver& o) { o.on_mayday_episode(p.episode); });
  p.episode = MaydayEpisode{};
}

void Model::apply_barrier(const cmwq_ev_state& e) {
  PoolInfo& p = pools_[e.pool];
  PwqInfo& q = pwq(e);
  if (e.h.kind == CMWQ_EV_BARRIER_DONE) {
    // The barrier left the worklist with the item it follows and ran on this worker.
    auto is_bar = [&](const Entry& x) { return x.barrier_pid == e.arg && !x.work; };
    auto& sched = workers_[e.worker].scheduled;
    if (auto it = std::find_if(sched.begin(), sched.end(), is_bar); it != sched.end()) sched.erase(it);
    else if (auto jt = std::find_if(p.worklist.begin(), p.worklist.end(), is_bar); jt != p.worklist.end())
      p.worklist.erase(jt);
    else ++anomalies_;
    p.pending = static_cast<int>(p.worklist.size());
    q.nr_in_flight = std::max(0, q.nr_in_flight - 1);
    return;
  }
  // insert_wq_barrier(): right after a queued item, taking over its link; first on the running worker's list.
  Entry bar{0, static_cast<int>(e.arg), e.wq, e.pool, false};
  ++q.nr_in_flight;
  for (EntryList* list : {&q.inactive, &p.worklist})
    if (auto it = find_work(*list, e.work); it != list->end()) {
      bar.linked = it->linked;
      it->linked = true;
      insert_work(*list, std::next(it), bar);
      p.pending = static_cast<int>(p.worklist.size());
      return;
    }
  for (auto& [pid, w] : workers_)
    if (w.current.work == e.work && w.pool == e.pool && w.destroyed_ns < 0) {
      w.scheduled.push_front(bar);
      return;
    }
  ++anomalies_;
}

void Model::apply_work(const cmwq_ev_state& e, PoolInfo* p) {
  const auto ts = static_cast<std::int64_t>(e.h.ts);
  WorkqueueInfo* q = wq_at_.find(wqs_, e.wq);
  const bool was_empty = p && p->worklist.empty();
  const bool needs_pool = e.h.kind == CMWQ_EV_WORK_ACTIVATE || e.h.kind == CMWQ_EV_WORK_ASSIGN ||
                          e.h.kind == CMWQ_EV_WORK_START || e.h.kind == CMWQ_EV_WORK_CANCEL;
  if (!p && needs_pool) {  // only a damaged stream moves work without a pool
    ++anomalies_;
    return;
  }
  switch (e.h.kind) {
    case CMWQ_EV_WORK_QUEUE: {
      auto [i, fresh] = this->item(e.work);
      Item& item = i->second;
      WorkInstance& w = item.queued;  // filled in place: an item's instance is the model's busiest object
      if (item.is_queued) ++anomalies_;  // queued twice without starting
      if (!fresh) reset(w);
      item.is_queued = true;
      describe(w, e, q);
      w.queued_ns = ts;
      w.queued_by = static_cast<int>(e.h.tid);
      notify([&](ModelObserver& o) { o.on_queue(w); });
      // Inactive until WORK_ACTIVATE says otherwise (it follows at once when max_active allows).
      PwqInfo& pq = pwq(e);
      if (item.list) unlist(item);  // its start or cancel was lost
      item.list = &pq.inactive;
      item.it = pq.inactive.insert(pq.inactive.end(), Entry{e.work, 0, e.wq, e.pool});
      ++pq.nr_in_flight;
      break;
    }
    case CMWQ_EV_WORK_ACTIVATE: {
      PwqInfo& pq = pwq(e);
      pq.nr_active = std::max(0, e.nr_active);
      // After the highpri items at the head (the 2010 shared pool), otherwise at the tail.
      auto pos = p->worklist.end();
      if (q && (q->flags & cmwq::WQ_HIGHPRI)) {
        pos = std::find_if(p->worklist.begin(), p->worklist.end(), [&](const Entry& x) {
          auto xq = wqs_.find(x.wq);
          return xq == wqs_.end() || !(xq->second.flags & cmwq::WQ_HIGHPRI);
        });
      }
      Item* item = nullptr;  // a pointer: insert_work may rehash, which keeps elements but not iterators
      if (auto i = find_item(e.work); i != items_.map.end()) item = &i->second;
      if (item && item->is_queued) item->queued.activated_ns = ts;
      if (item && item->list == &pq.inactive)
        move_linked(pq.inactive, item->it, p->worklist, pos, item);
      else
        insert_work(p->worklist, pos, Entry{e.work, 0, e.wq, e.pool});
      if (was_empty) p->last_progress_ns = ts;
      break;
    }
    case CMWQ_EV_WORK_ASSIGN: {
      WorkerInfo& to = workers_[e.worker];
      if (auto i = find_item(e.work); i != items_.map.end() && i->second.list == &p->worklist)
        move_linked(p->worklist, i->second.it, to.scheduled, to.scheduled.end(), &i->second);
      if (to.current.work != e.work) p->last_progress_ns = ts;  // not a collision: it left for good
      break;
    }
    case CMWQ_EV_WORK_START: {
      WorkerInfo& wk = workers_[e.worker];
      auto i = find_item(e.work);
      Item* at = i == items_.map.end() ? nullptr : &i->second;
      if (at && at->list == &wk.scheduled) {
        unlist(*at);  // assigned earlier; its barriers are already on the list
      } else if (at && at->list == &p->worklist) {
        bool linked = at->it->linked;
        auto after = unlist(*at);
        if (linked && after != p->worklist.end())  // its barriers go to the worker's list
          move_linked(p->worklist, after, wk.scheduled, wk.scheduled.end());
      }
      p->last_progress_ns = ts;
      WorkInstance& w = wk.current;
      if (at && at->is_queued) {
        w = std::move(at->queued);
        at->is_queued = false;
      } else {
        w = WorkInstance{};
        describe(w, e, q);
      }
      release(i);
      if (q) {
        ++q->in_flight;
        ++q->counters.started;
        q->last_progress_ns = ts;
      }
      w.started_ns = ts;
      w.worker = e.worker;
      w.pool = e.pool;
      wk.pool = e.pool;
      if (wk.state != WorkerState::Busy) wk.state_since_ns = ts;
      wk.state = WorkerState::Busy;
      break;
    }
    case CMWQ_EV_WORK_END: {
      PwqInfo& pq = pwq(e);
      pq.nr_active = std::max(1, e.nr_active) - 1;  // the record counts the item's slot still
      pq.nr_in_flight = std::max(0, pq.nr_in_flight - 1);
      if (q) {
        q->in_flight = std::max(0, q->in_flight - 1);
        ++q->counters.completed;
        q->counters.cpu_time_ns += static_cast<std::uint64_t>(std::max<std::int64_t>(0, e.arg));
        q->last_progress_ns = ts;
      }
      auto it = workers_.find(e.worker);
      if (it == workers_.end() || it->second.current.work != e.work) {
        ++anomalies_;
        break;
      }
      WorkInstance& w = it->second.current;
      w.ended_ns = ts;
      w.cpu_ns = e.arg;
      notify([&](ModelObserver& o) { o.on_work_done(w); });
      reset(w);
      break;
    }
    case CMWQ_EV_WORK_CANCEL: {
      PwqInfo& pq = pwq(e);
      pq.nr_active = std::max(1, e.nr_active) - 1;
      pq.nr_in_flight = std::max(0, pq.nr_in_flight - 1);
      // A chained barrier stays and still runs; an inactive item's barriers move to the worklist.
      auto i = find_item(e.work);
      if (i == items_.map.end()) break;
      Item& item = i->second;
      if (item.list == &pq.inactive || item.list == &p->worklist) {
        if (item.list == &pq.inactive && item.it->linked)
          move_linked(pq.inactive, item.it, p->worklist, p->worklist.end());
        unlist(item);
      }
      if (item.is_queued) {
        item.queued.canceled = true;
        notify([&](ModelObserver& o) { o.on_work_done(item.queued); });
        item.is_queued = false;
      }
      release(i);
      break;
    }
    default:
      break;
  }
  if (p) p->pending = static_cast<int>(p->worklist.size());
}

void Model::apply_gap(const cmwq_ev_state& e) {
  // Off/on-CPU records lost (counted in the recording's anomalies): the pool's lists are whole.
  if (e.flags == CMWQ_GAP_SCHED) return;
  if (e.arg > 0) lost_ += static_cast<std::uint64_t>(e.arg);
  forget_lists();
  // The next session's announcement is news again: the state it restates was partly lost.
  following_ = restating_ = false;
}

void Model::forget_lists() {
  // What left the lists while records were lost was not seen, and nothing would ever remove it: a
  // long recording with drops grew without bound, and the stale items looked stuck to the watchdog.
  // The lists start over from the records after the gap (the counters come with every record).
  for (auto& [id, p] : pools_) {
    p.worklist.clear();
    p.pending = 0;
  }
  for (auto& [key, q] : pwqs_) q.inactive.clear();
  for (auto& [pid, w] : workers_) w.scheduled.clear();
  items_.map.clear();  // an item queued before the gap starts without its queue time
  items_.placed = true;
}

void Model::finish() {
  for (auto& w : open_instances()) notify([&](ModelObserver& o) { o.on_work_done(w); });
  for (auto& [id, p] : pools_)  // clang 14 cannot capture structured bindings: capture the episode itself
    if (p.episode.started_ns >= 0) notify([&ep = p.episode](ModelObserver& o) { o.on_mayday_episode(ep); });
}

}  // namespace wqscope
