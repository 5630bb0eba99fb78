#include "import/report_stream.h"

#include <cmwq/constants.h>

#include <algorithm>
#include <cstring>
#include <set>

namespace wqscope::kernel_log {

using cmwq::report::InFlight;
using cmwq::report::Pool;
using cmwq::report::Pwq;
using cmwq::report::Workqueue;

namespace {

constexpr std::int64_t kSec = 1'000'000'000;

// Times and ages come from the log: a damaged one says anything. Ages past a century and instants
// past 2^62 ns (146 years of uptime) are cut there, so that no sum of them overflows.
constexpr std::int64_t kLongestAge = 100LL * 365 * 86400, kLatest = std::int64_t{1} << 62;

/// A BH pool's worker has no pid ("bh"): one per pool, numbered below zero.
int worker_pid(const InFlight& f, int pool) { return f.pid > 0 ? f.pid : -(pool + 1); }

/// sched_show_task's state letter as the task state bits of OFF_CPU records (TASK_INTERRUPTIBLE 1, ...).
std::uint32_t task_state(char c) {
  switch (c) {
    case 'S': return 1;
    case 'D': return 2;
    case 'T': return 4;
    case 't': return 8;
    case 'I': return 0x402;  // TASK_IDLE: uninterruptible, not counted as load
    default: return 0;
  }
}

}  // namespace

std::int64_t ReportStream::age_ns(std::int64_t seconds) {
  return std::clamp<std::int64_t>(seconds, 0, kLongestAge) * kSec;
}

std::int64_t ReportStream::lookback_ns(const Report& r) {
  std::int64_t oldest = 0;
  for (const Lockup& l : r.lockups) oldest = std::max(oldest, l.stuck_s);
  for (const Pool& p : r.dump.pools) oldest = std::max(oldest, p.hung_s);
  for (const Workqueue& w : r.dump.workqueues)
    for (const Pwq& p : w.pwqs)
      for (const InFlight& f : p.in_flight) oldest = std::max(oldest, f.for_s);
  return age_ns(oldest) + 2 * kSec;
}

/// The CPUs the reports' pools name: the pool identities print CPU lists ("0-3,8").
int ReportStream::possible_cpus(const Log& log) {
  int top = 0;
  auto scan = [&](const std::string& identity) {
    std::size_t at = identity.find("cpus=");
    if (at == std::string::npos) return;
    int n = 0;
    for (std::size_t i = at + 5; i < identity.size() && identity[i] != ' '; ++i) {
      char c = identity[i];
      if (c >= '0' && c <= '9') n = std::min(8191, n * 10 + (c - '0'));
      else n = 0;
      top = std::max(top, n);
    }
  };
  for (const Report& r : log.reports) {
    for (const Workqueue& w : r.dump.workqueues)
      for (const Pwq& p : w.pwqs) scan(p.identity);
    for (const Pool& p : r.dump.pools) scan(p.identity);
    for (const Lockup& l : r.lockups) scan(l.pool);
  }
  return top + 1;
}

/// Where each report goes on the recording's time line: at its time in the log if it has one, but
/// late enough that the ages it states (hung, stuck, " for") reach back no further than the report before.
std::vector<std::int64_t> ReportStream::instants(const Log& log) {
  std::vector<std::int64_t> out;
  std::int64_t last = 0;
  for (const Report& r : log.reports) {
    std::int64_t back = lookback_ns(r);
    std::int64_t at = std::min(kLatest, std::max({r.ts_ns, last + back + kSec / 1000, back + kSec}));
    out.push_back(at);
    last = at;
  }
  return out;
}

int ReportStream::pool_of(const Report& r, const Lockup& l) {
  for (const Pool& p : r.dump.pools)
    if (p.identity == l.pool) return p.id;
  for (const Workqueue& w : r.dump.workqueues)
    for (const Pwq& p : w.pwqs)
      if (p.identity == l.pool) return p.pool;
  return -1;
}

// The record is in timed_: the reference is good until the next emit() (which may grow it).
cmwq_ev_state& ReportStream::emit(std::uint16_t kind, std::int64_t ts, int pool, bool in_sequence) {
  Timed& t = timed_.emplace_back();
  t.ts = ts;
  t.order = order_++;
  std::memset(&t.rec, 0, sizeof t.rec);
  cmwq_ev_state& rec = t.rec;
  rec.h.kind = kind;
  rec.h.size = sizeof rec;
  rec.h.seq = in_sequence ? 1 : 0;  // numbered in time order by flush()
  rec.pool = pool;
  rec.nr_active = -1;
  rec.h.cpu = -1;
  if (auto it = pool_fields_.find(pool); pool >= 0 && it != pool_fields_.end()) {
    // Every record of a pool carries its counters: the model takes them from each.
    rec.h.cpu = it->second.cpu;
    rec.pool_flags = it->second.flags;
    rec.nr_workers = it->second.nr_workers;
    rec.nr_idle = it->second.nr_idle;
    rec.nr_running = it->second.nr_running;
  }
  return rec;
}

std::uint32_t ReportStream::intern(const std::string& text, std::uint32_t kind, std::int64_t ts) {
  std::string key = text.substr(0, CMWQ_NAME_MAX - 1);
  auto [it, added] = names_.try_emplace(key, static_cast<std::uint32_t>(names_.size() + 1));
  if (added) {
    cmwq_ev_state& st = emit(CMWQ_EV_NAME, ts, -1);
    static_assert(sizeof(cmwq_ev_name) > sizeof(cmwq_ev_state));
    // A name is longer than a state record: its text goes in a side table until flush().
    st.work = it->second;
    st.flags = kind;
    name_text_[it->second] = key;
  }
  return it->second;
}

std::uint32_t ReportStream::workqueue(const Workqueue& w, std::int64_t ts) {
  int max = 0;
  for (const Pwq& p : w.pwqs) max = std::max(max, p.max_active);
  auto [it, added] = wq_ids_.try_emplace(w.name, static_cast<std::uint32_t>(wq_ids_.size() + 1));
  std::uint32_t id = it->second;
  if (added) {
    std::uint32_t name = intern(w.name, CMWQ_NAME_WQ, ts);
    cmwq_ev_state& rec = emit(CMWQ_EV_WQ_CREATE, ts, -1);
    rec.wq = id;
    rec.func = name;
    rec.flags = w.flags;
    rec.arg = max;
    wq_max_[id] = max;
  } else if (max && wq_max_[id] != max) {
    cmwq_ev_state& rec = emit(CMWQ_EV_MAX_ACTIVE, ts, -1);
    rec.wq = id;
    rec.arg = wq_max_[id] = max;
  }
  return id;
}

void ReportStream::take_down(std::int64_t ts) {
  for (int pid : off_cpu_) {
    cmwq_ev_state& rec = emit(CMWQ_EV_ON_CPU, ts, -1, false);
    rec.worker = pid;
    rec.arg = ts - off_since_;
  }
  for (const LiveItem& i : items_) {
    cmwq_ev_state& rec = emit(i.worker ? CMWQ_EV_WORK_END : CMWQ_EV_WORK_CANCEL, ts, i.pool);
    rec.work = i.work;
    rec.func = i.func;
    rec.wq = i.wq;
    rec.worker = i.worker;
    rec.nr_active = 1;  // the slot it gives back
  }
  // Barriers "run": those left on the worklist by the cancel of the item they follow, and those on a
  // worker's list (the pwq counts them in flight until they do).
  for (const LiveBarrier& b : barriers_) {
    cmwq_ev_state& rec = emit(CMWQ_EV_BARRIER_DONE, ts, b.pool);
    rec.wq = b.wq;
    // By a worker the model knows: a flusher that is no worker would become one there.
    bool known = std::find(workers_.begin(), workers_.end(), b.pid) != workers_.end();
    rec.worker = b.worker ? b.worker : known || workers_.empty() ? b.pid : workers_.front();
    rec.arg = b.pid;
  }
  for (int pid : managers_) emit(CMWQ_EV_MANAGER_END, ts, -1).worker = pid;
  for (auto& [pool, f] : pool_fields_) f.nr_workers = f.nr_idle = f.nr_running = 0;
  for (int pid : workers_) emit(CMWQ_EV_WORKER_DESTROY, ts, -1).worker = pid;
  for (auto [wq, pool] : pwqs_) {
    cmwq_ev_state& rec = emit(CMWQ_EV_REPORTED, ts, pool);
    rec.wq = wq;
    rec.nr_active = 0;
    rec.arg = -1;
  }
  for (auto& [pool, f] : pool_fields_) emit(CMWQ_EV_REPORTED, ts, pool).arg = -1;  // no stamp: not stuck
  items_.clear();
  barriers_.clear();
  managers_.clear();
  workers_.clear();
  off_cpu_.clear();
  pwqs_.clear();
}

void ReportStream::pools(const Report& r, std::int64_t ts) {
  std::map<int, PoolIdentity> identities;  // the dump's own: parsed when it was read
  std::map<int, std::int32_t> in_flight, running;
  std::set<int> sleeping;
  for (const Task& t : r.tasks)
    if (t.state != 'R') sleeping.insert(t.pid);
  for (const Workqueue& w : r.dump.workqueues)
    for (const Pwq& p : w.pwqs) {
      if (!identities.count(p.pool)) parse_identity(p.identity, identities[p.pool]);
      in_flight[p.pool] += static_cast<std::int32_t>(p.in_flight.size());
      for (const InFlight& f : p.in_flight) running[p.pool] += !sleeping.count(worker_pid(f, p.pool));
    }
  for (const Pool& p : r.dump.pools) parse_identity(p.identity, identities[p.id]);
  for (auto& [id, ident] : identities) {
    const PoolIdentity* identity = &ident;
    PoolFields& f = pool_fields_[id];
    f.cpu = identity->cpu;
    f.flags = identity->flags;
    f.nr_running = running[id];
    f.nr_workers = in_flight[id];  // without a pool line: the workers the pwqs show
    auto line = std::find_if(r.dump.pools.begin(), r.dump.pools.end(), [pool = id](const Pool& p) { return p.id == pool; });
    if (line != r.dump.pools.end()) {
      f.nr_workers = line->nr_workers;
      f.nr_idle = static_cast<std::int32_t>(line->idle.size());
    }
    if (pool_identity_[id] == identity->text) continue;
    pool_identity_[id] = identity->text;
    std::uint32_t name = intern(identity->text, CMWQ_NAME_WORKER, ts);
    cmwq_ev_state& rec = emit(CMWQ_EV_POOL_CREATE, ts, id);
    rec.func = name;
    rec.arg = identity->nice;
  }
}

void ReportStream::workers(const Report& r, std::int64_t ts) {
  std::set<int> created;
  auto create = [&](int pid, int pool, std::uint32_t rescuer_of) {
    if (!pool_fields_.count(pool) || !created.insert(pid).second) return false;
    cmwq_ev_state& rec = emit(CMWQ_EV_WORKER_CREATE, ts, pool);
    rec.worker = pid;
    rec.wq = rescuer_of;
    workers_.push_back(pid);
    return true;
  };
  for (const Workqueue& w : r.dump.workqueues)
    for (const Pwq& p : w.pwqs)
      for (const InFlight& f : p.in_flight) create(worker_pid(f, p.pool), p.pool, f.rescuer ? wq_ids_.at(w.name) : 0);
  for (const Pool& p : r.dump.pools) {
    if (p.manager && create(p.manager, p.id, 0)) {
      emit(CMWQ_EV_MANAGER_START, ts, p.id).worker = p.manager;
      managers_.push_back(p.manager);
    }
    for (auto it = p.idle.rbegin(); it != p.idle.rend(); ++it)  // the model puts each at the head
      if (create(*it, p.id, 0)) emit(CMWQ_EV_WORKER_IDLE, ts, p.id).worker = *it;
  }
}

void ReportStream::sleepers(const Report& r, std::int64_t at) {
  // Tasks of the backtrace section: a worker that waits inside its item sleeps (the pool stops counting
  // it as running) and is off the CPU in that task state; since when, the report does not say.
  off_since_ = at - 100;
  for (const Task& t : r.tasks) {
    std::uint32_t state = task_state(t.state);
    int pool = -1;
    for (const LiveItem& i : items_)
      if (i.worker == t.pid) pool = i.pool;
    if (!state || pool < 0) continue;
    emit(CMWQ_EV_WORKER_SLEEP, off_since_, pool).worker = t.pid;
    cmwq_ev_state& rec = emit(CMWQ_EV_OFF_CPU, off_since_, -1, false);
    rec.worker = t.pid;
    rec.flags = state;
    off_cpu_.push_back(t.pid);
  }
}

void ReportStream::items(const Report& r, std::int64_t ts, std::int64_t at) {
  auto queue = [&](const std::string& func, std::uint32_t wq, int pool, bool activate) {
    std::uint32_t f = intern(func, CMWQ_NAME_FUNC, ts);
    std::uint64_t work = next_work_++;
    for (auto kind : {CMWQ_EV_WORK_QUEUE, CMWQ_EV_WORK_ACTIVATE}) {
      if (kind == CMWQ_EV_WORK_ACTIVATE && !activate) break;
      cmwq_ev_state& rec = emit(static_cast<std::uint16_t>(kind), ts, pool);
      rec.work = work;
      rec.func = f;
      rec.wq = wq;
      rec.arg = pool_fields_[pool].cpu >= 0 ? pool_fields_[pool].cpu : cmwq::WORK_CPU_UNBOUND;
    }
    items_.push_back({work, f, wq, pool, 0});
    return work;
  };
  auto barrier = [&](std::uint64_t after, int pid, std::uint32_t wq, int pool, std::int64_t when, int worker) {
    cmwq_ev_state& rec = emit(CMWQ_EV_BARRIER, when, pool);
    rec.work = after;
    rec.wq = wq;
    rec.arg = pid;
    barriers_.push_back({pid, pool, wq, worker});
  };
  // A list as the model builds it: each item queued (and activated), its barriers inserted after it
  // last first, since each goes right after the item.
  auto list = [&](const std::vector<cmwq::report::Item>& entries, std::uint32_t wq, int pool, bool activate) {
    for (std::size_t i = 0; i < entries.size();) {
      if (entries[i].barrier_pid) {  // no item of this pwq before it: nothing to chain it to
        ++i;
        continue;
      }
      std::uint64_t work = queue(entries[i].func, wq, pool, activate);
      std::size_t end = i + 1;
      while (end < entries.size() && entries[end].barrier_pid && entries[end - 1].linked) ++end;
      for (std::size_t b = end; b-- > i + 1;) barrier(work, entries[b].barrier_pid, wq, pool, ts, 0);
      i = end;
    }
  };
  std::set<std::string> hogs;
  for (const Hog& h : r.hogs) hogs.insert(h.func);
  std::int64_t starts = 0;
  for (const Workqueue& w : r.dump.workqueues) {
    std::uint32_t wq = wq_ids_.at(w.name);
    for (const Pwq& p : w.pwqs) {
      pwqs_.emplace_back(wq, p.pool);
      for (const InFlight& f : p.in_flight) {
        int pid = worker_pid(f, p.pool);
        std::uint64_t work = queue(f.func, wq, p.pool, true);
        items_.back().worker = pid;
        // Started " for" seconds ago if the report says, else as early as the report's records go.
        // (A microsecond before the instant at the latest: its barriers and a sleep come after.)
        // Without it, one ns apart in the printed order: the model lists a report's in-flight workers by start.
        std::int64_t started = std::min(at - 1000, std::max(ts, f.for_s >= 0 ? at - age_ns(f.for_s) : ts + ++starts));
        const std::uint32_t func = items_.back().func;
        cmwq_ev_state& rec = emit(CMWQ_EV_WORK_START, started, p.pool);  // valid until the next emit()
        rec.work = work;
        rec.func = func;
        rec.wq = wq;
        rec.worker = pid;
        // Barriers right after the function go first on the worker's list (the model puts each at
        // its head): last first. Items it was handed later (a collision) follow them.
        std::size_t bars = 0;
        while (bars < f.scheduled.size() && f.scheduled[bars].barrier_pid) ++bars;
        for (std::size_t b = bars; b-- > 0;)
          barrier(work, f.scheduled[b].barrier_pid, wq, p.pool, started + 1, pid);
        for (std::size_t s = bars; s < f.scheduled.size(); ++s) {
          if (f.scheduled[s].barrier_pid) continue;
          std::uint64_t next = queue(f.scheduled[s].func, wq, p.pool, true);
          cmwq_ev_state& assign = emit(CMWQ_EV_WORK_ASSIGN, started + 2, p.pool);
          assign.work = next;
          assign.func = items_.back().func;
          assign.wq = wq;
          assign.worker = pid;
        }
        if (hogs.count(f.func)) {
          cmwq_ev_state& hog = emit(CMWQ_EV_CPU_INTENSIVE, at - 1, p.pool);
          hog.work = work;
          hog.func = func;
          hog.wq = wq;
          hog.worker = pid;
        }
      }
      list(p.pending, wq, p.pool, true);
      list(p.inactive, wq, p.pool, false);
    }
  }
}

void ReportStream::add(const Report& r, std::int64_t at, std::int64_t number) {
  std::int64_t ts = at - lookback_ns(r);
  if (!hello_) {
    cmwq_ev_state& st = emit(CMWQ_EV_HELLO, ts, -1);
    st.work = static_cast<std::uint64_t>(possible_cpus_);
    hello_ = true;
  }
  take_down(ts);
  pools(r, ts);
  for (const Workqueue& w : r.dump.workqueues) workqueue(w, ts);
  workers(r, ts);  // emitted before the items they run: records of one time keep their order
  items(r, ts, at);
  sleepers(r, at);
  for (const Workqueue& w : r.dump.workqueues)
    for (std::size_t i = 0; i < w.pwqs.size(); ++i) {
      const Pwq& p = w.pwqs[i];
      cmwq_ev_state& rec = emit(CMWQ_EV_REPORTED, at, p.pool);
      rec.wq = wq_ids_.at(w.name);
      rec.nr_active = p.nr_active;
      rec.arg = p.refcnt;
      rec.flags = static_cast<std::uint32_t>(p.max_active);
      rec.worker = static_cast<std::int32_t>(i + 1);
      if (!p.mayday) continue;
      emit(CMWQ_EV_MAYDAY, at, p.pool).wq = wq_ids_.at(w.name);  // work 0: on the mayday list, no new call
    }
  std::map<int, std::int64_t> stamps;
  for (const Lockup& l : r.lockups)
    if (int pool = pool_of(r, l); pool >= 0) stamps[pool] = at - age_ns(l.stuck_s);
  for (const Pool& p : r.dump.pools) stamps[p.id] = at - age_ns(p.hung_s);
  // A pool the report does not call stuck gets no stamp: no alert of ours where the kernel gave none.
  for (auto& [pool, fields] : pool_fields_) {
    auto stamp = stamps.find(pool);
    cmwq_ev_state& rec = emit(CMWQ_EV_REPORTED, at, pool);
    rec.arg = stamp == stamps.end() ? -1 : stamp->second;
    auto line = std::find_if(r.dump.pools.begin(), r.dump.pools.end(), [id = pool](const Pool& p) { return p.id == id; });
    rec.flags = line == r.dump.pools.end() ? 0 : static_cast<std::uint32_t>(line->printed);
  }
  // "kernel" first: the model then knows its state came from a kernel report (Dialect::parse skips it).
  std::string dialect = r.dump.dialect.text();
  std::uint32_t name = intern(dialect.empty() ? "kernel" : "kernel " + dialect, CMWQ_NAME_WORKER, ts);
  cmwq_ev_state& mark = emit(CMWQ_EV_REPORTED, at, -1);
  mark.func = name;
  mark.arg = number;
  flush();
}

void ReportStream::finish(std::int64_t end) {
  for (int pid : off_cpu_) {
    cmwq_ev_state& rec = emit(CMWQ_EV_ON_CPU, end, -1, false);
    rec.worker = pid;
    rec.arg = end - off_since_;
  }
  off_cpu_.clear();
  flush();
}

void ReportStream::flush() {
  std::stable_sort(timed_.begin(), timed_.end(), [](const Timed& a, const Timed& b) { return a.ts < b.ts; });
  for (Timed& t : timed_) {
    t.rec.h.ts = static_cast<std::uint64_t>(t.ts);
    if (t.rec.h.seq) t.rec.h.seq = seq_++;
    std::size_t at = out_.size();
    if (t.rec.h.kind == CMWQ_EV_NAME) {
      cmwq_ev_name n{};
      n.h = t.rec.h;
      n.h.size = sizeof n;
      n.id = static_cast<std::uint32_t>(t.rec.work);
      n.name_kind = t.rec.flags;
      const std::string& text = name_text_.at(n.id);
      std::memcpy(n.text, text.data(), std::min(text.size(), sizeof n.text - 1));
      out_.resize(at + sizeof n);
      std::memcpy(out_.data() + at, &n, sizeof n);
    } else if (t.rec.h.kind == CMWQ_EV_HELLO) {
      cmwq_ev_hello hello{};
      hello.h = t.rec.h;
      hello.h.size = sizeof hello;
      hello.version = CMWQ_EVENTS_VERSION;
      hello.possible_cpus = static_cast<std::uint32_t>(t.rec.work);
      hello.watchdog_thresh_ns = 30 * kSec;  // the kernel's default; the log does not say
      out_.resize(at + sizeof hello);
      std::memcpy(out_.data() + at, &hello, sizeof hello);
    } else {
      out_.resize(at + sizeof t.rec);
      std::memcpy(out_.data() + at, &t.rec, sizeof t.rec);
    }
  }
  timed_.clear();
}

}  // namespace wqscope::kernel_log
