#include "import/trace_stream.h"

#include "kernel_stream.h"

#include <cmwq/constants.h>

#include <algorithm>
#include <charconv>
#include <cstring>
#include <map>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace wqscope::trace {

namespace {

constexpr std::size_t kBatchBytes = 64 * 1024;
constexpr int kMaxCpus = 8192;  // NR_CPUS at most: a larger number is damage
constexpr int kMaxPoolName = 1 << 20;  // a kworker's CPU or pool id beyond this is damage (ids are ints)

/// What a kworker's comm says: "kworker/2:1H-kblockd" (per-CPU, highpri), "kworker/u8:3" (unbound
/// pool 8), "kworker/R-name" (a rescuer, 6.x); perf cuts comms at 15 characters.
struct KworkerName {
  bool kworker = false, unbound = false, highpri = false;
  int number = -1;  // the CPU, or the unbound pool's id
};

KworkerName kworker_name(std::string_view comm) {
  KworkerName k;
  if (!comm.starts_with("kworker/")) return k;
  k.kworker = true;
  comm.remove_prefix(8);
  if (comm.starts_with('u')) {
    k.unbound = true;
    comm.remove_prefix(1);
  }
  auto [end, ec] = std::from_chars(comm.data(), comm.data() + comm.size(), k.number);
  if (ec != std::errc() || k.number < 0 || k.number > kMaxPoolName || end == comm.data() + comm.size() || *end != ':') {
    k.number = -1;
    return k;
  }
  std::string_view id(end + 1, static_cast<std::size_t>(comm.data() + comm.size() - end - 1));
  std::size_t digits = id.find_first_not_of("0123456789");
  k.highpri = !k.unbound && digits != std::string_view::npos && id[digits] == 'H';
  return k;
}

bool softirq_task(const Event& e, const Names& names) {
  return e.softirq || e.pid == 0 || (e.comm && names.text(e.comm).starts_with("ksoftirqd/"));
}

class Translator {
 public:
  Translator(const Input& in, std::int64_t thresh_ns, const std::function<void(std::span<const std::byte>)>& batch)
      : in_(in), cpus_(possible_cpus(in)), stream_(symbols(in), KernelPointers(), cpus_, thresh_ns), batch_(batch) {
    learn();
  }

  Skipped run() {
    for (const Event& e : in_.events) {
      switch (e.kind) {
        case Event::Queue: queue(e); break;
        case Event::Activate: activate(e); break;
        case Event::Start: start(e); break;
        case Event::End: end(e); break;
        case Event::Switch: sched(e); break;
      }
      if (out_.size() >= kBatchBytes) flush();
    }
    flush();
    return skipped_;
  }

 private:
  struct Wq {
    bool unbound = false, highpri = false, bh = false;
    int unbound_pool = -1;  // the unbound pool its items ran in
  };
  struct Pool {
    int cpu = -1, nice = 0;
    std::uint32_t flags = 0;
    int nr_workers = 0, nr_idle = 0, nr_running = 0;
    int waiting = 0;  // activated items not started
  };
  struct Item {
    std::uint32_t wq = 0, func = 0;
    int pool = -1;
    bool active = false;
  };
  struct Worker {
    int pool = -1;
    std::uint64_t work = 0;
    std::uint32_t wq = 0, func = 0;
    int item_pool = -1;
    bool idle = false, sleeping = false;
    std::int64_t off_since = -1, off_total = 0;  // off the CPU (sched_switch)
  };

  static KernelSymbols symbols(const Input& in) {
    KernelSymbols s;  // a name's id is its "address": the trace printed names, not addresses
    for (std::uint32_t id = 1; id <= in.names.size(); ++id) s.add(id, in.names.text(id));
    return s;
  }

  /// What the trace as a whole says of its workqueues: kinds of events present, and from the
  /// kworkers that ran their items, whether they are unbound (and in which pool) or highpri, or BH.
  void learn() {
    std::unordered_map<std::uint64_t, std::uint32_t> wq_of;  // work -> its last queueing's workqueue
    int max_unbound = -1;
    for (const Event& e : in_.events) {
      has_[e.kind] = true;
      if (e.kind == Event::Queue) {
        wq_of[e.work] = e.wq;
        Wq& w = wqs_[e.wq];
        if (e.pool_cpu < 0 || e.pool_cpu >= kMaxCpus) w.unbound = true;
        std::string_view name = in_.names.text(e.wq);
        if (name == "events_bh" || name == "events_bh_highpri") w.bh = true;
      } else if (e.kind == Event::Start) {
        auto it = wq_of.find(e.work);
        KworkerName k = kworker_name(e.comm ? in_.names.text(e.comm) : "");
        if (k.unbound && k.number >= 0) max_unbound = std::max(max_unbound, unbound_id(k.number));
        if (it == wq_of.end()) continue;
        Wq& w = wqs_[it->second];
        if (softirq_task(e, in_.names)) w.bh = true;
        if (k.unbound) {
          w.unbound = true;
          if (w.unbound_pool < 0 && k.number >= 0) w.unbound_pool = unbound_id(k.number);
        }
        if (k.highpri) w.highpri = true;
      }
    }
    unknown_unbound_ = std::max(2 * cpus_, max_unbound + 1);
  }

  /// The kernel numbers unbound pools after the per-CPU ones; an id among those is moved past them.
  int unbound_id(int n) const { return n >= 2 * cpus_ ? n : 2 * cpus_ + n; }

  int cpu_pool(int cpu, bool highpri) {
    cpu = std::clamp(cpu, 0, cpus_ - 1);
    int id = cpu * 2 + (highpri ? 1 : 0);
    Pool& p = pools_[id];
    p.cpu = cpu;
    p.nice = highpri ? -20 : 0;
    return id;
  }
  int unbound_pool(int id) {
    Pool& p = pools_[id];
    p.cpu = -1;
    p.flags = cmwq::POOL_DISASSOCIATED;
    return id;
  }

  /// The pool a queued item goes to.
  int pool_of(const Event& e, const Wq& w) {
    if (w.unbound) return unbound_pool(w.unbound_pool >= 0 ? w.unbound_pool : unknown_unbound_);
    int cpu = e.pool_cpu >= 0 && e.pool_cpu < cpus_ ? e.pool_cpu : e.req_cpu >= 0 && e.req_cpu < cpus_ ? e.req_cpu : e.cpu;
    return cpu_pool(cpu, w.highpri);
  }

  /// The pool of a kworker that runs an item queued before the trace: as its name says.
  int pool_of_worker(const Event& e) {
    KworkerName k = kworker_name(e.comm ? in_.names.text(e.comm) : "");
    if (k.unbound) return unbound_pool(k.number >= 0 ? unbound_id(k.number) : unknown_unbound_);
    return cpu_pool(k.number >= 0 ? k.number : e.cpu, k.highpri);
  }

  cmwq_kernel_event event(std::uint16_t kind, const Event& from, int pool, std::uint32_t wq) {
    cmwq_kernel_event k{};
    k.kind = kind;
    k.tid = from.pid;
    k.ts = static_cast<std::uint64_t>(std::max<std::int64_t>(0, from.ts));
    k.work = from.work;
    k.func = from.func;
    k.pool.id = -1;
    k.nr_active = -1;
    if (pool >= 0) {
      const Pool& p = pools_[pool];
      k.pool = cmwq_kernel_pool{pool, p.cpu, p.cpu >= 0 ? 0 : cmwq::NUMA_NO_NODE, p.nice, p.flags,
                                p.nr_running, p.nr_idle, p.nr_workers, 0, 0, {}};
    }
    if (wq) {
      const Wq& w = wqs_[wq];
      k.wq = wq;
      k.wq_flags = (w.unbound ? cmwq::WQ_UNBOUND : 0u) | (w.highpri ? cmwq::WQ_HIGHPRI : 0u);
      k.max_active = cmwq::WQ_DFL_ACTIVE;
      const std::string& name = in_.names.text(wq);
      std::memcpy(k.wq_name, name.data(), std::min(name.size(), sizeof k.wq_name - 1));
      if (pool >= 0) k.nr_active = nr_active_[{wq, pool}];
    }
    return k;
  }

  void emit(const cmwq_kernel_event& k) { stream_.translate(k, out_); }

  void flush() {
    if (!out_.empty()) batch_(out_);
    out_.clear();
  }

  /// An item of ours leaves its lists unstarted (queued again: the kernel took it back unseen).
  void drop_item(std::unordered_map<std::uint64_t, Item>::iterator it) {
    if (it->second.active) {
      --nr_active_[{it->second.wq, it->second.pool}];
      --pools_[it->second.pool].waiting;
    }
    items_.erase(it);
  }

  void queue(const Event& e) {
    const Wq& w = wqs_[e.wq];
    if (w.bh) {
      ++skipped_.bh;
      bh_items_.insert(e.work);
      return;
    }
    bh_items_.erase(e.work);
    if (auto it = items_.find(e.work); it != items_.end()) drop_item(it);
    int pool = pool_of(e, w);
    cmwq_kernel_event k = event(CMWQ_EV_WORK_QUEUE, e, pool, e.wq);
    k.req_cpu = e.req_cpu;
    emit(k);
    items_[e.work] = Item{e.wq, e.func, pool, false};
    if (!has_[Event::Activate]) activate(e);
  }

  void activate(const Event& e) {
    auto it = items_.find(e.work);
    if (it == items_.end() || it->second.active) {
      ++(bh_items_.contains(e.work) ? skipped_.bh : skipped_.before);
      return;
    }
    Item& item = it->second;
    item.active = true;
    ++nr_active_[{item.wq, item.pool}];
    ++pools_[item.pool].waiting;
    Event with = e;
    with.func = e.func ? e.func : item.func;
    emit(event(CMWQ_EV_WORK_ACTIVATE, with, item.pool, item.wq));
  }

  void start(const Event& e) {
    auto it = items_.find(e.work);
    if (softirq_task(e, in_.names) || (it != items_.end() && wqs_[it->second.wq].bh)) {
      ++skipped_.bh;
      return;
    }
    Worker* w = worker(e.pid);
    std::uint32_t wq = 0;
    int pool = -1;
    if (it != items_.end()) {
      wq = it->second.wq;
      pool = it->second.pool;
      if (it->second.active) --pools_[pool].waiting;
      else ++nr_active_[{wq, pool}];  // activated before the trace (or unseen): it holds a slot while it runs
      items_.erase(it);
    } else {
      pool = w ? w->pool : pool_of_worker(e);
    }
    Worker& wk = workers_[e.pid];
    if (!w) {
      wk.pool = pool;
      ++pools_[pool].nr_workers;
      ++pools_[pool].nr_running;
    } else {
      if (wk.idle) --pools_[wk.pool].nr_idle, ++pools_[wk.pool].nr_running;
      else if (wk.sleeping) ++pools_[wk.pool].nr_running;
      if (wk.work) ++skipped_.before;  // its end was not traced (or lost): the item is over
    }
    wk.idle = wk.sleeping = false;
    wk.work = e.work;
    wk.wq = wq;
    wk.item_pool = pool;
    wk.func = e.func;
    cmwq_kernel_event k = event(CMWQ_EV_WORK_START, e, pool, wq);
    k.runtime_ns = runtime(wk, e.ts);
    if (pools_[pool].flags & cmwq::POOL_DISASSOCIATED) k.worker_flags = cmwq::WORKER_UNBOUND;
    emit(k);
  }

  void end(const Event& e) {
    auto it = workers_.find(e.pid);
    if (it == workers_.end() || it->second.work != e.work) {
      ++(softirq_task(e, in_.names) ? skipped_.bh : skipped_.before);
      return;
    }
    Worker& wk = it->second;
    Event with = e;
    with.func = e.func ? e.func : wk.func;
    cmwq_kernel_event k = event(CMWQ_EV_WORK_END, with, wk.item_pool, wk.wq);
    k.runtime_ns = runtime(wk, e.ts);
    if (pools_[wk.item_pool].flags & cmwq::POOL_DISASSOCIATED) k.worker_flags = cmwq::WORKER_UNBOUND;
    emit(k);
    if (wk.wq) --nr_active_[{wk.wq, wk.item_pool}];
    wk.work = 0;
    Pool& p = pools_[wk.pool];
    if (p.waiting > 0) return;  // worker_thread() goes on with the next item
    // Nothing to do: worker_enter_idle(), as kernel mode sees it (off the CPU with WORKER_IDLE).
    --p.nr_running;
    ++p.nr_idle;
    wk.idle = true;
    cmwq_kernel_event idle = event(CMWQ_EV_OFF_CPU, e, wk.pool, 0);
    idle.work = 0;
    idle.func = 0;
    idle.worker_flags = cmwq::WORKER_IDLE;
    idle.task_state = 0x402;  // TASK_IDLE
    emit(idle);
  }

  void sched(const Event& e) {
    if (auto it = workers_.find(e.pid); it != workers_.end()) {  // prev
      Worker& wk = it->second;
      wk.off_since = e.ts;
      if (e.prev_state && wk.work && !wk.sleeping) {  // waits inside an item
        wk.sleeping = true;
        --pools_[wk.pool].nr_running;
        cmwq_kernel_event k = event(CMWQ_EV_OFF_CPU, e, wk.pool, 0);
        k.work = wk.work;
        k.task_state = e.prev_state;
        emit(k);
      }
    }
    if (auto it = workers_.find(e.next_pid); it != workers_.end()) {
      Worker& wk = it->second;
      // Both below kMaxTs: the sum stays in range, and is kept there (a damaged trace's times jump about).
      if (wk.off_since >= 0 && e.ts >= wk.off_since) wk.off_total = std::min(kMaxTs, wk.off_total + (e.ts - wk.off_since));
      wk.off_since = -1;
      if (wk.sleeping) {
        wk.sleeping = false;
        ++pools_[wk.pool].nr_running;
        Event as = e;
        as.pid = e.next_pid;
        cmwq_kernel_event k = event(CMWQ_EV_ON_CPU, as, wk.pool, 0);
        k.work = wk.work;
        emit(k);
      }
    }
  }

  Worker* worker(std::uint32_t pid) {
    auto it = workers_.find(pid);
    return it == workers_.end() ? nullptr : &it->second;
  }

  /// The thread's CPU time so far, as far as the trace shows: on the CPU unless sched_switch took it off.
  static std::uint64_t runtime(const Worker& w, std::int64_t ts) {
    return static_cast<std::uint64_t>(std::max<std::int64_t>(0, ts - w.off_total));
  }

  const Input& in_;
  int cpus_;
  KernelStream stream_;
  const std::function<void(std::span<const std::byte>)>& batch_;
  std::vector<std::byte> out_;
  bool has_[Event::Switch + 1] = {};
  int unknown_unbound_ = 0;  // the pool of unbound items whose kworker's name said none
  std::unordered_map<std::uint32_t, Wq> wqs_;  // by name id
  std::map<int, Pool> pools_;
  std::map<std::pair<std::uint32_t, int>, int> nr_active_;  // by (wq, pool)
  std::unordered_map<std::uint64_t, Item> items_;            // queued, not started: by work_struct
  std::unordered_set<std::uint64_t> bh_items_;               // queued on a BH workqueue, not queued elsewhere since
  std::unordered_map<std::uint32_t, Worker> workers_;        // by pid
  Skipped skipped_;
};

}  // namespace

int possible_cpus(const Input& in) {
  int cpus = in.cpus > 0 && in.cpus <= kMaxCpus ? in.cpus : 0;
  for (const Event& e : in.events) {
    if (e.cpu >= 0 && e.cpu < kMaxCpus) cpus = std::max(cpus, e.cpu + 1);
    if (e.kind == Event::Queue && e.pool_cpu >= 0 && e.pool_cpu < kMaxCpus) cpus = std::max(cpus, e.pool_cpu + 1);
  }
  return std::max(cpus, 1);
}

Skipped translate(const Input& in, const std::function<void(std::span<const std::byte>)>& batch,
                  std::int64_t watchdog_thresh_ns) {
  return Translator(in, watchdog_thresh_ns, batch).run();
}

}  // namespace wqscope::trace
