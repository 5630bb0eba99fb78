#include "kernel_stream.h"

#include <cmwq/constants.h>
#include <cmwq/report.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace wqscope {

template <class T>
T& KernelStream::append(std::uint16_t kind, const cmwq_kernel_event& e, std::int32_t cpu, bool in_sequence) {
  std::size_t at = out_->size();
  out_->resize(at + sizeof(T));
  auto* rec = reinterpret_cast<T*>(out_->data() + at);
  std::memset(rec, 0, sizeof(T));
  // The ring buffer keeps the order in which the CPUs made the records; their clocks may be a few
  // ns apart, and the schema's times go forward.
  last_ts_ = std::max(last_ts_, e.ts);
  rec->h = cmwq_event_header{kind, sizeof(T), 0, e.tid, cpu, last_ts_, in_sequence ? seq_++ : 0};
  ++count_;
  return *rec;
}

std::string KernelStream::function(std::uint64_t addr) const {
  if (const std::string* name = symbols_.find(addr)) return *name;
  return fmt::format("{:#x}", pointers_.hide(addr));
}

std::uint32_t KernelStream::intern(const std::string& text, std::uint32_t kind, const cmwq_kernel_event& e) {
  std::string key = text.substr(0, CMWQ_NAME_MAX - 1);
  auto [it, added] = names_.try_emplace(key, static_cast<std::uint32_t>(names_.size() + 1));
  if (added) {
    auto& rec = append<cmwq_ev_name>(CMWQ_EV_NAME, e, -1);
    rec.id = it->second;
    rec.name_kind = kind;
    std::memcpy(rec.text, key.data(), key.size());
  }
  return it->second;
}

std::uint32_t KernelStream::workqueue(std::uint64_t addr, const cmwq_kernel_event& e) {
  if (!addr) return 0;
  Workqueue& wq = wqs_[addr];
  if (!wq.id) wq.id = static_cast<std::uint32_t>(wqs_.size());
  if (addr != e.wq) return wq.id;  // a rescuer's: its name comes with its first item
  if (!wq.announced) {
    std::string name(e.wq_name, strnlen(e.wq_name, sizeof e.wq_name));
    std::uint32_t name_id = intern(name, CMWQ_NAME_WQ, e);
    auto& rec = append<cmwq_ev_state>(CMWQ_EV_WQ_CREATE, e, -1);
    rec.wq = wq.id;
    rec.func = name_id;
    rec.flags = e.wq_flags;
    rec.pool = -1;
    rec.nr_active = -1;
    rec.arg = e.max_active;
    wq.announced = true;
    wq.max_active = e.max_active;
  } else if (wq.max_active != e.max_active) {  // workqueue_set_max_active(), or a CPU's pwq capped
    auto& rec = append<cmwq_ev_state>(CMWQ_EV_MAX_ACTIVE, e, -1);
    rec.wq = wq.id;
    rec.pool = -1;
    rec.nr_active = -1;
    rec.arg = wq.max_active = e.max_active;
  }
  return wq.id;
}

void KernelStream::announce_pool(const cmwq_kernel_event& e) {
  if (e.pool.id < 0) return;
  bool added = !pools_.contains(e.pool.id);
  pools_[e.pool.id] = e.pool;
  if (!added) return;
  // An unbound pool with the CPUs and node of its attributes, as the kernel prints it (a trace has
  // no mask: all possible CPUs, the model's default).
  std::vector<int> cpus;
  for (int cpu = 0; e.pool.cpu < 0 && cpu < std::min(possible_cpus_, CMWQ_KERNEL_CPUMASK_WORDS * 64); ++cpu)
    if (e.pool.cpumask[cpu / 64] >> (cpu % 64) & 1) cpus.push_back(cpu);
  std::uint32_t identity =
      cpus.empty() ? 0 : intern(cmwq::pool_identity(cpus, e.pool.node, e.pool.flags, e.pool.nice), CMWQ_NAME_WORKER, e);
  auto& rec = append<cmwq_ev_state>(CMWQ_EV_POOL_CREATE, e, e.pool.cpu);
  rec.func = identity;
  rec.pool = e.pool.id;
  pool_fields(rec, e.pool.id);
  rec.nr_active = e.pool.node;
  rec.arg = e.pool.nice;
}

void KernelStream::pool_fields(cmwq_ev_state& rec, int pool) const {
  auto it = pools_.find(pool);
  if (it == pools_.end()) return;
  rec.pool_flags = it->second.flags;
  rec.nr_running = it->second.nr_running;
  rec.nr_idle = it->second.nr_idle;
  rec.nr_workers = it->second.nr_workers;
}

cmwq_ev_state& KernelStream::state(std::uint16_t kind, const cmwq_kernel_event& e, std::uint32_t func) {
  std::uint32_t wq = workqueue(e.wq, e);
  announce_pool(e);
  auto& rec = append<cmwq_ev_state>(kind, e, e.pool.id >= 0 ? e.pool.cpu : -1);
  rec.work = pointers_.hide(e.work);
  rec.func = func;
  rec.wq = wq;
  rec.pool = e.pool.id;
  rec.flags = e.worker_flags;
  rec.pool_flags = e.pool.flags;
  rec.nr_running = e.pool.nr_running;
  rec.nr_idle = e.pool.nr_idle;
  rec.nr_workers = e.pool.nr_workers;
  rec.nr_active = e.nr_active;
  return rec;
}

KernelStream::Worker& KernelStream::worker(const cmwq_kernel_event& e) {
  auto [it, added] = workers_.try_emplace(e.tid);
  Worker& w = it->second;
  if (added) {
    // First seen now: it may have existed long before the recording (the kernel says nothing at creation).
    w.pool = e.pool.id;
    std::uint32_t rescuer_of = workqueue(e.rescue_wq, e);
    auto& rec = state(CMWQ_EV_WORKER_CREATE, e);
    rec.worker = static_cast<std::int32_t>(e.tid);
    rec.work = 0;
    rec.wq = rescuer_of;
  }
  return w;
}

void KernelStream::work_event(const cmwq_kernel_event& e) {
  std::uint32_t func = e.func ? intern(function(e.func), CMWQ_NAME_FUNC, e) : 0;
  switch (e.kind) {
    case CMWQ_EV_WORK_QUEUE: {
      cancel(e.work, e, e.nr_active);  // still queued as far as we know: it was taken back unseen
      mark_missing(e);
      auto& rec = state(CMWQ_EV_WORK_QUEUE, e, func);
      rec.arg = e.req_cpu >= 0 && e.req_cpu < possible_cpus_ ? e.req_cpu : cmwq::WORK_CPU_UNBOUND;
      queued_[e.work] = Queued{rec.wq, func, rec.pool, e.nr_active};
      break;
    }
    case CMWQ_EV_WORK_ACTIVATE:
      mark_missing(e);  // as it was before this item went on it
      state(CMWQ_EV_WORK_ACTIVATE, e, func);
      if (auto it = queued_.find(e.work); it != queued_.end()) {
        it->second.active = true;
        it->second.nr_active = e.nr_active;
        active_[it->second.pool].insert(e.work);
      }
      break;
    case CMWQ_EV_WORK_CANCEL:
      announce_pool(e);
      cancel(e.work, e, e.nr_active);
      break;
    case CMWQ_EV_WORK_START: {
      if (auto it = queued_.find(e.work); it != queued_.end()) forget(it);
      Worker& w = worker(e);
      if (w.state != State::Busy) {
        state(CMWQ_EV_WORKER_BUSY, e).worker = static_cast<std::int32_t>(e.tid);
        w.state = State::Busy;
      }
      w.pool = e.pool.id;
      w.work = e.work;
      w.started_runtime = e.runtime_ns;
      state(CMWQ_EV_WORK_START, e, func).worker = static_cast<std::int32_t>(e.tid);
      break;
    }
    case CMWQ_EV_WORK_END: {
      Worker& w = worker(e);
      if (w.work != e.work) break;  // it started before the recording: the model never saw it start
      const auto cpu_ns = static_cast<std::int64_t>(e.runtime_ns - w.started_runtime);
      // wq_worker_tick() marked it CPU-intensive: its CPU time passed wq_cpu_intensive_thresh_us (not
      // its workqueue's WQ_CPU_INTENSIVE, set at start). The mark is cleared only after execute_end;
      // when, inside the item, the kernel marked it is not seen.
      if ((e.worker_flags & cmwq::WORKER_CPU_INTENSIVE) && !(e.wq_flags & cmwq::WQ_CPU_INTENSIVE)) {
        auto& hog = state(CMWQ_EV_CPU_INTENSIVE, e, func);
        hog.worker = static_cast<std::int32_t>(e.tid);
        hog.arg = cpu_ns;
      }
      auto& rec = state(CMWQ_EV_WORK_END, e, func);
      rec.worker = static_cast<std::int32_t>(e.tid);
      rec.arg = cpu_ns;
      w.work = 0;
      break;
    }
  }
}

void KernelStream::forget(std::unordered_map<std::uint64_t, Queued>::iterator it) {
  if (it->second.active) active_[it->second.pool].erase(it->first);
  if (it->second.missing_since >= 0) --missing_;
  queued_.erase(it);
}

void KernelStream::cancel(std::uint64_t work, const cmwq_kernel_event& at, std::int32_t nr_active) {
  auto it = queued_.find(work);
  if (it == queued_.end()) return;  // queued before the recording, or already started
  const Queued& q = it->second;
  auto p = pools_.find(q.pool);
  auto& rec = append<cmwq_ev_state>(CMWQ_EV_WORK_CANCEL, at, p == pools_.end() ? -1 : p->second.cpu);
  rec.work = pointers_.hide(work);
  rec.func = q.func;
  rec.wq = q.wq;
  rec.pool = q.pool;
  pool_fields(rec, q.pool);
  rec.nr_active = nr_active + (q.active ? 1 : 0);  // the record counts the slot it gave back
  forget(it);
}

void KernelStream::mark_missing(const cmwq_kernel_event& e) {
  if (!e.pool.worklist_empty) return;
  auto active = active_.find(e.pool.id);
  if (active == active_.end()) return;
  auto running = [&](std::uint64_t work) {  // queued again while it runs: it waits on that worker's list
    return std::any_of(workers_.begin(), workers_.end(), [&](const auto& w) { return w.second.work == work; });
  };
  for (std::uint64_t work : active->second)
    if (Queued& q = queued_.at(work); q.missing_since < 0 && !running(work)) {
      q.missing_since = static_cast<std::int64_t>(e.ts);
      ++missing_;
    }
}

void KernelStream::check_missing(const cmwq_kernel_event& e) {
  if (!missing_) return;
  std::vector<std::uint64_t> gone;
  for (auto& [work, q] : queued_)
    if (q.missing_since >= 0 && q.missing_since + kStartGraceNs <= static_cast<std::int64_t>(e.ts)) gone.push_back(work);
  for (std::uint64_t work : gone) {
    const Queued& q = queued_.at(work);
    cancel(work, e, std::max(0, q.nr_active - 1));  // its pwq's count as last seen, without it
  }
}

void KernelStream::sched_event(const cmwq_kernel_event& e) {
  if (e.kind == CMWQ_EV_WORKER_DESTROY) {
    auto it = workers_.find(e.tid);
    if (it == workers_.end()) return;
    auto& rec = append<cmwq_ev_state>(CMWQ_EV_WORKER_DESTROY, e, -1);
    rec.pool = it->second.pool;  // it has left its pool by now: the one we knew
    rec.worker = static_cast<std::int32_t>(e.tid);
    rec.nr_active = -1;
    workers_.erase(it);
    return;
  }
  Worker& w = worker(e);
  auto as_worker = [&](std::uint16_t kind) { state(kind, e).worker = static_cast<std::int32_t>(e.tid); };
  auto sched = [&](std::uint16_t kind, std::uint32_t task_state, std::int64_t arg) {
    auto& rec = append<cmwq_ev_state>(kind, e, -1, false);  // outside the sequence, as from libcmwq's tracer
    rec.pool = -1;
    rec.worker = static_cast<std::int32_t>(e.tid);
    rec.flags = task_state;
    rec.nr_active = -1;
    rec.arg = arg;
  };
  if (e.kind == CMWQ_EV_OFF_CPU) {
    if (!e.work) {  // going to sleep with WORKER_IDLE set: worker_enter_idle()
      if (w.state != State::Idle) as_worker(CMWQ_EV_WORKER_IDLE);
      w.state = State::Idle;
      w.work = 0;
    } else if (e.work == w.work) {  // every kworker's wait goes through schedule(): announced, never hidden
      as_worker(CMWQ_EV_WORKER_SLEEP);
      w.state = State::Sleeping;
      w.off_since = static_cast<std::int64_t>(e.ts);
      sched(CMWQ_EV_OFF_CPU, e.task_state, 0);
    }
  } else if (e.kind == CMWQ_EV_ON_CPU && w.state == State::Sleeping) {
    as_worker(CMWQ_EV_WORKER_WAKE);
    w.state = State::Busy;
    sched(CMWQ_EV_ON_CPU, 0, std::max<std::int64_t>(0, static_cast<std::int64_t>(e.ts) - w.off_since));
  }
}

std::uint64_t KernelStream::translate(const cmwq_kernel_event& e, std::vector<std::byte>& out) {
  out_ = &out;
  count_ = 0;
  if (seq_ == 1) {
    auto& hello = append<cmwq_ev_hello>(CMWQ_EV_HELLO, e, -1);
    hello.version = CMWQ_EVENTS_VERSION;
    hello.possible_cpus = static_cast<std::uint32_t>(possible_cpus_);
    hello.watchdog_thresh_ns = static_cast<std::uint64_t>(thresh_ns_);
    hello.system = 0;  // the kernel's own workqueues
    hello.session = 1;
    if (!traced_.empty()) {  // Model::from_report() tells it from a report's "kernel" mark
      std::uint32_t name = intern(traced_, CMWQ_NAME_WORKER, e);  // first: it appends
      auto& mark = append<cmwq_ev_state>(CMWQ_EV_REPORTED, e, -1);
      mark.func = name;
      mark.pool = -1;
      mark.nr_active = -1;
    }
  }
  check_missing(e);
  switch (e.kind) {
    case CMWQ_EV_WORK_QUEUE:
    case CMWQ_EV_WORK_ACTIVATE:
    case CMWQ_EV_WORK_CANCEL:
    case CMWQ_EV_WORK_START:
    case CMWQ_EV_WORK_END:
      work_event(e);
      break;
    case CMWQ_EV_OFF_CPU:
    case CMWQ_EV_ON_CPU:
    case CMWQ_EV_WORKER_DESTROY:
      sched_event(e);
      break;
    default:
      break;  // not a kind kernel.bpf.c makes
  }
  out_ = nullptr;
  return count_;
}

}  // namespace wqscope
