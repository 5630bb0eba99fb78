// The pure core of cmwq: the state and policy of every pool, workqueue and
// worker, with no threads and no clock. Inputs carry a timestamp; outputs are
// the Step a worker takes next and calls on the Driver (wake a worker, finish
// a wait, print a kernel message, emit an event). The real-thread runtime and
// the virtual-time simulator are the two drivers; the core never blocks.
//
// Locking. Every field below is tagged, as kernel/workqueue.c tags its own, with the
// kernel lock that guards the field there:
//   I:  set at creation, read-only afterwards (no lock)
//   L:  pool->lock of the pool the field belongs to (a pwq's or worker's pool)
//   K:  the worker's own: written by the worker's thread, read by others under L
//   WQ: wq->mutex (flush colors, max_active), with L for what workers read
//   PL: wq_pool_mutex (pools, workqueues, attributes), with L for what workers read
//   MD: wq_mayday_lock (mayday lists)
//   N:  the node's nna->lock (6.9+ per-node nr_active)
//   T:  the timer base's lock: timer_lock_ (the core's timer list)
//   A:  atomic
//   PENDING: owned through WORK_STRUCT_PENDING (an atomic bit: whoever sets it owns the item)
//   WD: the watchdog's timer callback (wq_watchdog_timer_fn(): timers of one base run one at a time)
//   D:  the driver's own (the core only stores it)
// How a driver maps them (the runtime does; the simulator is one thread and takes none): an
// outer lock stands for WQ, PL, MD, N, WD and wci_lock, and each pool has its own lock for L. Every entry
// point runs under the outer lock held exclusively, which excludes everything else, except the
// two the kernel runs under pool->lock alone: queue_work_pending() and worker_next_local(), run
// with the outer lock held shared (so that no exclusive holder runs meanwhile) and the pool's
// lock. They return, having changed nothing that must not be, where the kernel would take more
// than the pool's lock; the driver then repeats the call under the exclusive lock. So L fields
// are written under (shared outer + L) or under exclusive, and WQ/PL/MD/N fields only under
// exclusive: a fast path may read them. Driver::assert_held(pool) is lockdep_assert_held().
#pragma once

#include <cmwq/constants.h>
#include <cmwq/event.h>
#include <cmwq/kernel_era.h>
#include <cmwq/list.h>
#include <cmwq/report.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace cmwq {

struct Pool;
struct Pwq;
struct Workqueue;
struct Worker;
struct Waiter;
struct DelayedWork;

/// Bad input to the pool API: the message names the problem and the fix.
struct Error : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct WorkEntry;    // Work on a worklist / inactive list / scheduled list
struct IdleEntry;    // Worker on its pool's idle list
struct BusyEntry;    // Worker in its pool's busy hash
struct MaydayEntry;  // Pwq on its workqueue's mayday list

/// A work item, owned by the caller like the kernel's work_struct. It must
/// outlive its execution and any wait on it.
struct Work : Link<WorkEntry> {
  explicit Work(const char* func_name = "work", std::function<void(Work&)> body = {})
      : func(func_name), fn(std::move(body)) {}

  // I: set by the owner while the item is neither pending nor running (INIT_WORK())
  const char* func;               // I: the function name dumps print (%ps)
  std::function<void(Work&)> fn;  // I: what the runtime runs, outside every lock
  void* user = nullptr;           // D: free for the driver (the simulator's script)

  // --- core state (see "Locking" above) ---
  Pwq* pwq = nullptr;             // PENDING+L: set while pending (queued, not yet started)
  /// L (the pool it names): the pool it last ran on, for non-reentrancy (work->data off queue).
  /// Set before PENDING is cleared, so whoever sets PENDING next reads it stable.
  Pool* last_pool = nullptr;
  std::uint64_t id = 0;           // PENDING: stable id for events, assigned on first queue
  int color = -1;                 // PENDING+L: flush color, -1 for barriers
  std::atomic<bool> pending{false};  // A: WORK_STRUCT_PENDING: test_and_set_bit() claims the item
  bool inactive = false;          // L: WORK_STRUCT_INACTIVE: held back by max_active
  bool linked = false;            // L: WORK_STRUCT_LINKED: the next entry is a barrier chained to it
  bool delayed = false;           // PENDING: pending on a delayed-work timer
  Waiter* barrier = nullptr;      // I: non-null: this is a flush barrier (wq_barrier)
  int queue_cpu = 0;              // PENDING: the caller's CPU, for a delayed work's timer
  DelayedWork* dwork = nullptr;   // I: the delayed work this is part of
  bool marker = false;            // I: the 2025 rescuer's positional marker
};

/// Someone blocked in flush_work / flush_workqueue / cancel_work_sync.
struct Waiter {
  Work barrier{"wq_barrier_func"};  // the barrier work, when one is inserted (its fields: tagged above)
  int pid = 0;                       // L: set as the barrier is inserted, printed as BAR(pid)
  /// WQ: set as the flush starts and as it completes (a flush's color completes under wq->mutex,
  /// a barrier runs under the exclusive lock); the driver's flusher waits on it under the same.
  bool done = false;
  void* driver = nullptr;            // D: the driver's wake-up handle, set before the flush starts
};

struct Timer {
  enum class Kind { Mayday, Idle, Watchdog, Delayed, WatchdogReport };
  Timer(Kind k, void* o) : kind(k), owner(o) {}
  Kind kind;                      // I
  void* owner = nullptr;          // I
  Time expires = kNever;          // T
  std::multimap<Time, Timer*>::iterator pos;  // T
  bool armed = false;             // T
};

struct DelayedWork {
  explicit DelayedWork(const char* func_name = "work", std::function<void(Work&)> body = {})
      : work(func_name, std::move(body)) {
    work.dwork = this;
  }
  DelayedWork(const DelayedWork&) = delete;
  DelayedWork& operator=(const DelayedWork&) = delete;
  Work work;                      // its fields: tagged above
  Timer timer{Timer::Kind::Delayed, this};  // T (its kind and owner: I)
  Workqueue* wq = nullptr;        // PENDING: where the timer queues it (set with the timer armed)
  int cpu = WORK_CPU_UNBOUND;     // PENDING: likewise
};

enum class RescuerPolicy { k2009, k2014, k2025 };

/// Affinity scopes of unbound workqueues (WQ_AFFN_*): the CPUs of one pod share a pool.
enum class AffinityScope { Default, Cpu, Smt, Cache, Numa, System };
const char* affinity_scope_name(AffinityScope);

/// The virtual CPUs' topology: per CPU, the id of its core (SMT siblings share it), of its
/// last-level cache and of its NUMA node. Empty vectors: each CPU is its own core, each node has
/// one cache, and every CPU is on node 0.
struct Topology {
  std::vector<int> core, cache, node;
  int core_of(int cpu) const { return core.empty() ? cpu : core.at(static_cast<std::size_t>(cpu)); }
  int cache_of(int cpu) const { return cache.empty() ? node_of(cpu) : cache.at(static_cast<std::size_t>(cpu)); }
  int node_of(int cpu) const { return node.empty() ? 0 : node.at(static_cast<std::size_t>(cpu)); }
  /// The pod `cpu` belongs to in `scope` (not Default): the CPUs that share it.
  std::vector<int> pod_cpus(AffinityScope scope, int cpu, int nr_cpus) const;
  int nr_nodes(int nr_cpus) const;
};

/// Which era of the design the pools follow.
enum class Model {
  Modern,    // separate per-CPU highpri pools (kernel >= 3.8)
  Gcwq2010,  // one gcwq per CPU; highpri items go to the head of its worklist (the 2010 docs)
  Original,  // pre-cmwq: each workqueue has its own single worker per CPU
};

struct PwqStats {
  std::uint64_t started = 0, completed = 0, cpu_time_ns = 0, cpu_intensive = 0, cm_wakeup = 0,
                repatriated = 0, mayday = 0, rescued = 0;
  PwqStats& operator+=(const PwqStats& o) {
    started += o.started, completed += o.completed, cpu_time_ns += o.cpu_time_ns;
    cpu_intensive += o.cpu_intensive, cm_wakeup += o.cm_wakeup, repatriated += o.repatriated;
    mayday += o.mayday, rescued += o.rescued;
    return *this;
  }
};

/// The kernel's busy_hash: the workers executing an item, hashed by the item's address, so that
/// find_worker_executing_work() costs no allocation on the hot path (intrusive chains).
class BusyHash {
 public:
  void add(Worker& w);     // keyed by w.current_work
  void remove(Worker& w);
  Worker* find(const Work& work) const;
  template <class F>
  void for_each(F&& f) const {
    for (auto& chain : buckets_)
      for (Worker* w : chain) f(*w);
  }

 private:
  static constexpr std::size_t kOrder = 6;  // BUSY_WORKER_HASH_ORDER
  static std::size_t bucket(const Work* work) {
    return (reinterpret_cast<std::uintptr_t>(work) * 0x9E3779B97F4A7C15ULL) >> (64 - kOrder);
  }
  std::array<List<Worker, BusyEntry>, std::size_t{1} << kOrder> buckets_;  // L (its pool's)
};

struct Pool {
  int id = 0;                     // I
  int cpu = -1;                   // I: -1: unbound
  int node = 0;                   // I: NUMA_NO_NODE for unbound pools spanning nodes
  int nice = 0;                   // I
  unsigned flags = 0;             // L: POOL_* (POOL_BH: runs its items in the CPU's softirq-like context)
  std::vector<int> cpus;          // I: cpumask, printed as a list
  std::vector<int> pod_cpus;      // I: unbound, 6.5+: __pod_cpumask, the CPUs its workers prefer
  bool affn_strict = false;       // I: unbound, 6.5+: workers never leave pod_cpus
  int max_workers = 0;            // I: 0: unlimited; 1 for BH pools and in the Original model
  bool shared_highpri = false;    // I: Gcwq2010: highpri items share this pool

  List<Work, WorkEntry> worklist;  // L
  int nr_workers = 0, nr_idle = 0;  // L
  int nr_running = 0;             // L (a per-CPU int the kernel changes only on the pool's CPU)
  List<Worker, IdleEntry> idle_list;  // L
  std::vector<Worker*> workers;   // L (+ wq_pool_attach_mutex): attached workers, in creation order
  BusyHash busy;                  // L: busy_hash: work -> executing worker
  Worker* manager = nullptr;      // L
  Time watchdog_ts = 0;           // L: last_progress_ts (7.0's name): an item left the worklist, or it filled
  Timer mayday_timer{Timer::Kind::Mayday, this};  // T
  Timer idle_timer{Timer::Kind::Idle, this};      // T
  int next_worker_index = 0;      // L
  void* driver = nullptr;         // I: the driver's handle (the runtime's pool->lock), Driver::pool_created()
};

/// A pwq is on its workqueue's mayday list through its MaydayEntry link (MD).
struct Pwq : Link<MaydayEntry> {
  Workqueue* wq = nullptr;        // I
  Pool* pool = nullptr;           // I
  int nr_active = 0;              // L
  int max_active = 0;             // L (set under WQ): per-CPU and BH wqs; unbound wqs of 6.9+ count per node
  bool node_pending = false;      // N: 6.9+: waits on its node's pending_pwqs for an nr_active slot
  int nr_in_flight = 0;           // L: queued (active or inactive) + running, for refcnt
  List<Work, WorkEntry> inactive;  // L
  Work mayday_pos{"mayday_pos_func"};  // L: the 2025 rescuer's cursor
  PwqStats stats;                 // L
};

struct Workqueue {
  std::uint32_t id = 0;           // I: stable, from 1, in creation order
  std::string name;               // I
  unsigned flags = 0;             // WQ (__WQ_DESTROYING, __WQ_DRAINING); the rest I
  int saved_max_active = 0;       // WQ: as requested (clamped)
  int max_active = 0;             // WQ: effective: 0 while frozen
  /// PL+WQ: per possible CPU, or one for unbound (6.5+: per CPU, then the default one)
  std::vector<std::unique_ptr<Pwq>> pwqs;
  std::vector<Pwq*> cpu_pwq;      // PL+WQ (read under RCU in the kernel): the pwq queue_work_on(cpu) uses
  AffinityScope affn_scope = AffinityScope::Default;  // PL: unbound, 6.5+
  bool affn_strict = false;       // PL
  /// 6.9+ unbound: wq_node_nr_active, per node and one more for pools without a node.
  struct NodeNrActive {
    int nr = 0;                   // N (atomic in the kernel): active items of the wq's pwqs on this node
    int max = 0;                  // WQ: the node's share of max_active, at least min_active
    std::vector<Pwq*> pending_pwqs;  // N: pwqs waiting for a slot, served round-robin
  };
  std::vector<NodeNrActive> node_nr_active;  // PL
  int min_active = 0;             // WQ: 6.9+: min(max_active, WQ_DFL_MIN_ACTIVE)
  Worker* rescuer = nullptr;      // I (PL at destroy)
  List<Pwq, MaydayEntry> maydays;  // MD

  // flush colors: WQ (pwq->nr_in_flight[color] and nr_pwqs_to_flush in the kernel)
  int work_color = 0;             // WQ: queueing reads it
  /// A: items queued with each color and not yet done, over all pools (queueing adds, workers
  /// drop); flush_color_done() needs WQ, so a worker finishing an item of a workqueue with a
  /// flush in progress takes the exclusive lock.
  std::array<std::atomic<int>, WORK_NR_COLORS> color_in_flight{};
  struct Flusher {
    Waiter* waiter;
    int color;
  };
  std::vector<Flusher> flushers;  // WQ: FIFO, each owns one color
  std::vector<Waiter*> flush_overflow;  // WQ: waiting for a free color
};

/// On its pool's idle list (IdleEntry, L) or in its busy hash (BusyEntry, L).
struct Worker : Link<IdleEntry>, Link<BusyEntry> {
  int id = 0;                     // I: the pid dumps print
  int index = 0;                  // I: the N of kworker/CPU:N
  Pool* pool = nullptr;           // L (wq_pool_attach_mutex): the pool it is attached to
  unsigned flags = WORKER_PREP;   // L
  Workqueue* rescue_wq = nullptr; // I: set for rescuers
  Work* current_work = nullptr;   // L
  Pwq* current_pwq = nullptr;     // L
  const char* current_func = nullptr;  // L
  Time current_at = 0;            // K: start of the current item or of its last wake-up
  Time work_started = 0;          // L: start of the current item (the 7.0 dump's ` for Ns`)
  Time last_active = 0;           // L: entered idle
  bool sleeping = false;          // K (L to change nr_running)
  bool dead = false;              // L
  List<Work, WorkEntry> scheduled;  // L
  int current_color = -1;         // L
  bool blocked = false;           // K: in a blocking point, whether or not nr_running counts it
  Pwq* rescue_pwq = nullptr;      // K: rescuer: the pwq it is rescuing
  bool rescued_any = false;       // K
  enum class Phase { Woken, Recheck, Managing, Processing } phase = Phase::Woken;  // K
  void* driver = nullptr;         // I: the driver's thread handle
  int last_cpu = -1;              // K: the CPU it last ran on, if the driver knows (the task's wake_cpu)

  std::string name() const;       // kworker/0:1, kworker/0:1H, kworker/u8:2, or the rescuer's wq name
};

/// What a worker does next (the worker_thread / rescuer_thread loop, turned inside out).
struct Step {
  enum Kind {
    Run,       // run `work` outside the lock, then call worker_next() again
    Idle,      // sleep until Driver::wake(), then call worker_next()
    Cooldown,  // creation failed: sleep until `until`, then call worker_next()
    Die,       // leave; the driver ends the thread and calls Core::reap()
  } kind;
  Work* work = nullptr;
  Time until = 0;
};

class Driver {
 public:
  virtual ~Driver() = default;
  virtual void wake(Worker&) = 0;          // an idle worker or rescuer must call worker_next()
  /// Start a thread for a new worker (already attached and idle) that loops on worker_next().
  /// Called under the core lock: must not block on it. Returns false if no thread could start.
  virtual bool spawn(Worker&) = 0;
  virtual void complete(Waiter&) = 0;      // a waiter's condition is met (waiter.done is set)
  virtual void message(std::string_view line) = 0;  // a kernel log line, without newline
  virtual void timers_changed() {}         // the earliest deadline may have moved earlier (under T)
  virtual void emit(const Event&) {}       // one state transition
  virtual void pool_created(Pool&) {}      // a new pool (PL): the driver may set Pool::driver
  /// lockdep_assert_held(&pool->lock), or the exclusive lock for pool == nullptr. Called by the
  /// core in debug builds only (NDEBUG off), as lockdep is a debug option of the kernel.
  virtual void assert_held(const Pool*) const {}
};

struct Config {
  int possible_cpus = 1;
  std::vector<int> online_cpus;   // empty: all possible CPUs are online
  Model model = Model::Modern;
  Kernel kernel = Kernel::Seeds;
  Topology topology;              // for affinity scopes and per-node max_active (6.5+)
  AffinityScope default_affn_scope = AffinityScope::Cache;  // workqueue.default_affinity_scope
  RescuerPolicy rescuer_policy = RescuerPolicy::k2025;
  Time watchdog_thresh = WQ_WATCHDOG_THRESH;  // 0 disables the watchdog
  /// workqueue.panic_on_stall: panic at the Nth watchdog check that reports a stall (0: never).
  int panic_on_stall = 0;
  /// 7.0 workqueue.panic_on_stall_time: panic once a reported stall has lasted this long (0: never).
  Time panic_on_stall_time = 0;
  /// The panic: gets the panic line after it was logged. Empty: std::abort().
  std::function<void(std::string_view)> on_panic;
  /// workqueue.cpu_intensive_warning_thresh: hog warnings at counts t, t+1, t+3, t+7, ...
  int cpu_intensive_warning_thresh = WQ_CPU_INTENSIVE_WARNING_THRESH;
  Time cpu_intensive_thresh = WQ_CPU_INTENSIVE_THRESH;
  Time idle_timeout = IDLE_WORKER_TIMEOUT;
  int first_pid = 100;            // the first worker id when the driver does not assign them
};

/// Per-CPU context of a caller, needed where the kernel uses the current CPU.
struct Caller {
  int cpu = 0;                    // the CPU the caller runs on
  Worker* worker = nullptr;       // the worker the caller is, if any
  int pid = 0;                    // for BAR(pid)
};

class Core {
 public:
  Core(Config, Driver&, Time now);
  ~Core();
  Core(const Core&) = delete;
  Core& operator=(const Core&) = delete;

  // --- workqueues ---
  /// `scope` and `strict`: an unbound workqueue's affinity (6.5+; Default: Config::default_affn_scope).
  Workqueue* alloc_workqueue(std::string_view name, unsigned flags, int max_active, Time now,
                             AffinityScope scope = AffinityScope::Default, bool strict = false);
  Workqueue* alloc_ordered_workqueue(std::string_view name, unsigned flags, Time now);
  /// Marks the workqueue draining; the driver then flushes until !busy(), then calls destroy_finish().
  void destroy_begin(Workqueue&, Time now);
  void destroy_finish(Workqueue&, Time now);
  void set_max_active(Workqueue&, int max_active, Time now);
  /// 6.5+: an unbound workqueue's affinity scope (Default: Config::default_affn_scope) and
  /// strictness, as its sysfs `affinity_scope` and `affinity_strict` set them. Only while idle.
  void set_affinity(Workqueue&, AffinityScope, bool strict, Time now);
  /// drain_workqueue(): while draining only the workqueue's own items may queue to it.
  void set_draining(Workqueue& wq, bool on) { wq.flags = on ? wq.flags | __WQ_DRAINING : wq.flags & ~__WQ_DRAINING; }
  bool busy(const Workqueue&) const;

  // --- work ---
  /// queue_work_on(); cpu WORK_CPU_UNBOUND means "the caller's CPU" for per-CPU workqueues.
  /// Returns false if the work was already pending. Throws Error on a destroyed workqueue.
  bool queue_work_on(int cpu, Workqueue&, Work&, const Caller&, Time now);
  /// The pool queue_work_on(cpu) takes the item to when it needs no more than that pool's lock
  /// (no per-node nr_active, not draining, not destroyed); nullptr otherwise. Throws Error on an
  /// impossible CPU. Reads only what changes under the exclusive lock.
  Pool* queue_pool(const Workqueue&, int cpu, const Caller&) const;
  /// queue_work_on() after the caller set work.pending itself (it was clear), with the lock of
  /// queue_pool() held and, if the item last ran on another pool (work.last_pool, stable once
  /// PENDING is ours), that pool's lock too (the kernel's last_pool check). Clears PENDING on Error.
  bool queue_work_pending(int cpu, Workqueue&, Work&, const Caller&, Time now);
  bool queue_delayed_work_on(int cpu, Workqueue&, DelayedWork&, Time delay, const Caller&, Time now);
  bool mod_delayed_work_on(int cpu, Workqueue&, DelayedWork&, Time delay, const Caller&, Time now);
  /// Removes a pending work; returns true if it was pending.
  bool cancel_work(Work&, Time now);
  bool cancel_delayed_work(DelayedWork&, Time now);
  /// Inserts a barrier behind `work` if it is pending or running. Returns false when there is
  /// nothing to wait for; otherwise the driver waits until Driver::complete(waiter).
  bool start_flush_work(Work&, Waiter&, const Caller&, Time now);
  /// Returns false when nothing is in flight; otherwise wait for Driver::complete(waiter).
  bool start_flush_workqueue(Workqueue&, Waiter&, Time now);
  bool is_pending(const Work& w) const { return w.pending; }
  bool is_running(const Work&) const;

  // --- the worker loop ---
  /// The next step of a worker or rescuer; finishes its current item first.
  Step worker_next(Worker&, Time now, Time cpu_ns = 0);
  /// worker_next() for a normal worker under its pool's lock alone; nullopt where the step needs
  /// more (per-node nr_active on finishing, a barrier, the manager, leaving): then worker_next()
  /// goes on from where this stopped (the worker's phase). `*flush_due`: set to the workqueue
  /// when finishing the item emptied the color its first flusher waits for; the caller then calls
  /// flush_done() under the exclusive lock (the kernel completes the flusher under pool->lock,
  /// through the atomic nr_pwqs_to_flush; here the flusher list needs wq->mutex).
  std::optional<Step> worker_next_local(Worker&, Time now, Time cpu_ns, Workqueue** flush_due);
  /// Completes the flushes whose colors are done (flush_color_done()), after worker_next_local().
  void flush_done(Workqueue& wq, Time now) { flush_color_done(wq, now); }
  /// Cooperative blocking point: the worker is about to block / has woken.
  void worker_sleeping(Worker&, Time now);
  void worker_running(Worker&, Time now);
  /// The driver observed the worker's item run `cpu_ns` on CPU since it last woke.
  void worker_tick(Worker&, Time cpu_ns, Time now);
  /// Frees a worker after Step::Die once its thread is gone.
  void reap(Worker&);

  // --- time ---
  Time next_deadline() const;
  void advance(Time now);

  // --- system events ---
  void cpu_offline(int cpu, Time now);
  void cpu_online(int cpu, Time now);
  void freeze(Time now);
  bool freeze_busy() const;
  void thaw(Time now);
  /// touch_softlockup_watchdog(): the CPU (or, for -1, the system) could not run.
  void touch_watchdog(int cpu, Time now);
  /// Creation fails while the window is open (models memory pressure).
  void fail_worker_creation(Time from, Time until);
  void set_watchdog_thresh(Time thresh, Time now);
  /// Workers of `pool` ask for exit on their next step; used at shutdown.
  void stop_all_workers(Time now);

  // --- inspection ---
  const Config& config() const { return cfg_; }
  const std::vector<std::unique_ptr<Pool>>& pools() const { return pools_; }
  const std::vector<std::unique_ptr<Workqueue>>& workqueues() const { return wqs_; }
  Pool& cpu_pool(int cpu, bool highpri) const;
  /// 6.9+: the CPU's BH pools (ids 4N and 4N+1).
  Pool& bh_pool(int cpu, bool highpri) const;
  bool has_bh_pools() const { return cfg_.kernel >= Kernel::V6_9; }
  bool cpu_online_now(int cpu) const { return online_.at(cpu); }
  /// "Showing busy workqueues and worker pools:" and what follows, one line per entry.
  std::vector<std::string> show_all_workqueues(Time now) const;
  /// A workqueue's statistics summed over its pwqs.
  static PwqStats stats(const Workqueue&);
  /// The wq_monitor table (tools/workqueue/wq_monitor.py), one row per workqueue.
  std::vector<std::string> wq_monitor_table() const;
  /// " cpus=0 node=0 flags=0x4 nice=0" (pr_cont_pool_info).
  static std::string pool_info(const Pool&);
  std::uint64_t lockups_reported() const { return lockups_; }
  /// 7.0: stalls the lockless pass saw that the re-check under the pool's lock dropped.
  std::uint64_t lockups_dropped() const { return lockups_dropped_; }

  // --- events ---
  /// Events cost a predicted branch while nobody listens.
  void set_tracing(bool on) { tracing_ = on; }
  bool tracing() const { return tracing_; }
  /// Emits create events for everything that exists now, so a reader that starts late
  /// knows the pools, workqueues and workers (and what each worker runs).
  void announce_state(Time now);

 private:
  friend struct CoreAccess;
  // queueing and activation
  Pwq& select_pwq(Workqueue&, Work&, int cpu, const Caller&);
  void insert_work(Pwq&, Work&, List<Work, WorkEntry>& list, Work* before);


  void activate_work(Pwq&, Work&, Time now);
  bool activate_first_inactive(Pwq&, Time now);
  /// `flush_due` non-null: only the pool's lock is held; set instead of finishing a flush.
  void dec_nr_in_flight(Pwq&, int color, bool was_active, Time now, bool* flush_due = nullptr);
  bool grab_pending(Work&, Time now);

  // the worker loop
  /// `local`: only the pool's lock is held; nullopt where more is needed.
  std::optional<Step> worker_loop(Worker&, Time now, bool local);
  Pwq& default_pwq(const Workqueue&, int cpu, const Caller&) const;
  Step rescuer_loop(Worker&, Time now);
  /// Takes `work` (and its chain) off the pool's worklist for `worker`, or for the worker
  /// already running it. Sets *next to what followed the chain.
  bool assign_work(Work&, Worker&, Work** next, Time now);
  bool do_queue(int cpu, Workqueue&, Work&, const Caller&, Time now);
  /// Moves `work` and the barriers chained to it; returns what followed them on `from`.
  Work* move_linked_works(Work&, List<Work, WorkEntry>& from, List<Work, WorkEntry>& to);
  std::optional<Step> run_scheduled(Worker&, Time now);
  void start_work(Worker&, Work&, Time now);
  void finish_work(Worker&, Time now, Time cpu_ns, bool* flush_due = nullptr);
  void run_barrier(Worker&, Work&, Time now);
  void worker_set_flags(Worker&, unsigned);
  void worker_clr_flags(Worker&, unsigned);
  void enter_idle(Worker&, Time now);
  void leave_idle(Worker&);
  bool kick_pool(Pool&);

  // workers and their manager
  Worker* create_worker(Pool&, Time now);
  enum class Managed { NotManager, Done, Cooldown };
  Managed manage(Worker&, Time now, Step& cooldown);
  void attach(Worker&, Pool&);
  void detach(Worker&);
  void idle_timeout(Pool&, Time now);
  void mayday_timeout(Pool&, Time now);
  void send_mayday(Work&, Time now);
  bool assign_rescue_work(Pwq&, Worker&, Time now);
  Step retire(Worker&, Time now);
  void cpu_intensive_report(const char* func);

  // flush colors
  void flush_color_done(Workqueue&, Time now);
  /// Gives every pwq the workqueue's max_active and activates what now fits.
  void apply_max_active(Workqueue&, Time now);

  // timers (each takes timer_lock_)
  void arm(Timer&, Time expires);
  /// add_timer() of a timer that may be armed: leaves an armed one as it is.
  void arm_if_idle(Timer&, Time expires);
  void disarm(Timer&);
  void arm_locked(Timer&, Time expires);
  void disarm_locked(Timer&);
  void lockdep_assert_held([[maybe_unused]] const Pool* pool) const {
#ifndef NDEBUG
    drv_.assert_held(pool);
#endif
  }
  void watchdog_check(Time now);
  /// Reports the pools the lockless pass found stalled; 7.0 first re-checks each one's progress.
  void watchdog_report(Time now, bool recheck);
  void show_cpu_pools_hogs(const std::vector<const Pool*>& stalled) const;
  void panic(const std::string& line);

  // helpers
  /// `node`: an unbound pool's (a CPU's pool is on its CPU's).
  Pool& new_pool(int cpu, int nice, std::vector<int> cpus, unsigned flags = 0, int node = NUMA_NO_NODE);
  Pool& unbound_pool(int nice);
  /// 6.5+: the unbound pool of one pod (get_unbound_pool(): shared by attributes).
  Pool& unbound_pod_pool(int nice, const std::vector<int>& pod, bool strict, Time now);
  void alloc_unbound_pwqs(Workqueue&, Time now);
  Pwq& new_pwq(Workqueue&, Pool&);
  // 6.9+ per-node max_active of unbound workqueues
  Workqueue::NodeNrActive* node_nr_active(const Pwq&);
  void update_node_max_active(Workqueue&);
  bool pwq_tryinc_nr_active(Pwq&);
  void pwq_dec_nr_active(Pwq&, Time now);
  void node_activate_pending_pwq(Workqueue::NodeNrActive&, Time now);
  int resolve_cpu(const Workqueue&, int cpu, const Caller&) const;
  void emit(EventKind kind, Time t, const Pool* pool = nullptr, const Worker* worker = nullptr,
            const Work* work = nullptr, const Workqueue* wq = nullptr, std::int64_t arg = 0) {
    if (tracing_) drv_.emit(Event{t, kind, pool, worker, work, wq, arg});
  }
  void warn(std::string line);

  Config cfg_;                    // I; watchdog_thresh: WD (set_watchdog_thresh() runs under the outer lock)
  Driver& drv_;                   // I
  std::vector<bool> online_;      // cpu_hotplug_lock + PL
  std::vector<std::unique_ptr<Pool>> pools_;  // PL (worker_pool_idr)
  std::vector<std::unique_ptr<Workqueue>> wqs_;  // PL (the workqueues list)
  std::vector<std::unique_ptr<Worker>> all_workers_;  // PL (wq_pool_attach_mutex)
  mutable std::mutex timer_lock_;  // T: the workers' idle timers are armed under pool->lock alone
  std::multimap<Time, Timer*> timers_;  // T
  Timer watchdog_timer_{Timer::Kind::Watchdog, nullptr};  // T
  /// 7.0: the pools the lockless pass found stalled, with the progress stamp it read; reported once
  /// the pool's lock is ours (the report timer, an instant later).
  struct StallCandidate {
    Pool* pool;
    Time seen_ts;
  };
  std::vector<StallCandidate> stall_candidates_;  // WD
  Timer watchdog_report_timer_{Timer::Kind::WatchdogReport, nullptr};  // T
  std::uint64_t lockups_dropped_ = 0;  // WD
  std::uint64_t stall_reports_ = 0;  // WD: checks that reported a stall (panic_on_stall)
  /// WD: READ_ONCE/WRITE_ONCE in the kernel, whoever touches it; touch_watchdog() runs under the
  /// outer lock here, as the watchdog does.
  Time watchdog_touched_ = 0;
  std::vector<Time> watchdog_touched_cpu_;  // WD: per-CPU, likewise
  Time create_fail_from_ = 0, create_fail_until_ = 0;  // PL
  bool freezing_ = false;         // PL (workqueue_freezing)
  bool tracing_ = false;          // PL: set under it, read on the fast paths too (a static key in the kernel)
  bool stopping_ = false;         // PL
  int next_pid_;                  // PL
  std::atomic<std::uint64_t> next_work_id_{1};  // A: any queueing caller takes one
  std::uint64_t lockups_ = 0;     // WD
  std::unordered_map<const char*, std::uint64_t> hog_counts_;  // wci_lock (the hog report's hash)
};

}  // namespace cmwq
