// libcmwq: the kernel's concurrency-managed workqueues for user-space programs.
//
//   cmwq::System sys;                                   // virtual CPUs = hardware threads
//   auto* wq = sys.alloc_workqueue("io", cmwq::WQ_MEM_RECLAIM, 16);
//   cmwq::Work w{"my_io_fn", [](cmwq::Work&) { cmwq::sleep_for(5ms); }};
//   sys.queue_work(wq, w);
//   sys.flush_work(w);
//
// Concurrency management needs to know when an item blocks: call cmwq::sleep_for(),
// use cmwq::Completion, or wrap a blocking call in cmwq::blocking([&] { ... }).
#pragma once

#include <cmwq/core.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace cmwq {

/// The core's locks' counters (Options::lock_stats), in total: the outer lock (wq_pool_mutex,
/// wq->mutex, wq_mayday_lock: taken exclusively by everything but the fast paths, shared by them)
/// and each pool's lock (pool->lock: queueing, and workers between items).
struct LockStats {
  std::uint64_t acquisitions = 0;  // all of them
  std::uint64_t wait_ns = 0;       // waiting for any of them
  std::uint64_t hold_ns = 0;       // held where it serialises: the outer lock exclusively, and pool locks
  std::uint64_t exclusive_acquisitions = 0;  // of which the outer lock exclusively (the slow paths)
  std::uint64_t pool_acquisitions = 0, pool_wait_ns = 0, pool_hold_ns = 0;  // of which the pools' locks
};

struct Options {
  int cpus = 0;                   // virtual CPUs; 0: std::thread::hardware_concurrency()
  std::vector<int> online;        // online at start; empty: all
  RescuerPolicy rescuer_policy = RescuerPolicy::k2025;
  /// The kernel release the pools follow where the design changed after the seeds: 6.5 affinity
  /// scopes, 6.9 BH workqueues and per-node max_active, 7.0 system_percpu_wq/system_dfl_wq as
  /// workqueues of their own (WQ_PERCPU) and the 7.0 watchdog.
  Kernel kernel = Kernel::Seeds;
  Topology topology;              // SMT siblings, caches and NUMA nodes of the virtual CPUs
  AffinityScope default_affinity_scope = AffinityScope::Cache;  // of unbound workqueues (6.5+)
  std::chrono::nanoseconds watchdog_thresh = std::chrono::seconds(30);  // 0 disables
  /// workqueue.panic_on_stall: panic at the Nth watchdog check that reports a stall (0: never).
  int panic_on_stall = 0;
  /// kernel 7.0's workqueue.panic_on_stall_time: panic once a reported stall lasted this long.
  std::chrono::nanoseconds panic_on_stall_time{0};
  /// The panic action, given the panic line (already logged); runs with the pool's lock held.
  /// Empty: std::abort().
  std::function<void(std::string_view)> on_panic;
  /// workqueue.cpu_intensive_warning_thresh: hog warnings at counts t, t+1, t+3, t+7, ...
  int cpu_intensive_warning_thresh = 4;
  std::chrono::nanoseconds cpu_intensive_thresh = std::chrono::milliseconds(10);
  std::chrono::nanoseconds idle_timeout = std::chrono::seconds(300);
  /// Kernel log lines (warnings, lockups, dumps). Default: stderr. Runs with the pool's lock
  /// held, like printk under pool->lock: it must not call back into the System.
  std::function<void(std::string_view)> log;
  /// Receives the pool's event records (cmwq/events.h) in batches, in-process, as the
  /// cmwq:batch probe does; called from the pool's deliverer thread without its lock held.
  std::function<void(std::span<const std::byte> records, std::uint64_t count)> on_events;
  /// Count the core's locks' wait and hold times (System::lock_stats()); costs three clock reads
  /// per acquisition.
  bool lock_stats = false;
  /// How often pending events are handed over while tracing (a stuck pool stays visible).
  std::chrono::nanoseconds event_flush_period = std::chrono::milliseconds(20);
};

class Runtime;

/// One set of virtual CPUs, their pools and workqueues, run by real threads.
class System {
 public:
  explicit System(Options = {});
  ~System();  // destroys every workqueue (draining it) and stops all workers
  System(const System&) = delete;
  System& operator=(const System&) = delete;

  /// `scope` and `strict`: an unbound workqueue's affinity (kernel 6.5 on; Default:
  /// Options::default_affinity_scope), as its sysfs affinity_scope and affinity_strict set them.
  Workqueue* alloc_workqueue(std::string_view name, unsigned flags = 0, int max_active = 0,
                             AffinityScope scope = AffinityScope::Default, bool strict = false);
  Workqueue* alloc_ordered_workqueue(std::string_view name, unsigned flags = 0);
  void destroy_workqueue(Workqueue*);
  void workqueue_set_max_active(Workqueue*, int max_active);
  /// Writing an unbound workqueue's sysfs affinity_scope and affinity_strict (kernel 6.5 on); only
  /// while nothing is queued on it (throws Error otherwise).
  void workqueue_set_affinity(Workqueue*, AffinityScope scope, bool strict = false);

  Workqueue* system_wq() const;            // "events"
  Workqueue* system_percpu_wq() const;     // "events" (7.0: a workqueue of its own, WQ_PERCPU)
  Workqueue* system_highpri_wq() const;    // "events_highpri"
  Workqueue* system_long_wq() const;       // "events_long"
  Workqueue* system_unbound_wq() const;    // "events_unbound"
  Workqueue* system_dfl_wq() const;        // "events_unbound" (7.0: a workqueue of its own)
  Workqueue* system_freezable_wq() const;  // "events_freezable"
  Workqueue* system_power_efficient_wq() const;  // "events_power_efficient"
  /// "events_freezable_pwr_efficient" (kernel 6.5 on; null for the seeds)
  Workqueue* system_freezable_power_efficient_wq() const;
  Workqueue* system_bh_wq() const;         // "events_bh" (kernel 6.9 on; null before)
  Workqueue* system_bh_highpri_wq() const; // "events_bh_highpri" (kernel 6.9 on; null before)

  bool queue_work(Workqueue*, Work&);
  bool queue_work_on(int cpu, Workqueue*, Work&);
  bool queue_delayed_work(Workqueue*, DelayedWork&, std::chrono::nanoseconds delay);
  bool queue_delayed_work_on(int cpu, Workqueue*, DelayedWork&, std::chrono::nanoseconds delay);
  bool mod_delayed_work(Workqueue*, DelayedWork&, std::chrono::nanoseconds delay);
  bool schedule_work(Work& w) { return queue_work(system_wq(), w); }

  bool cancel_work(Work&);
  bool cancel_work_sync(Work&);
  bool cancel_delayed_work(DelayedWork&);
  bool cancel_delayed_work_sync(DelayedWork&);
  bool flush_work(Work&);
  bool flush_delayed_work(DelayedWork&);
  void flush_workqueue(Workqueue*);
  void drain_workqueue(Workqueue*);
  bool work_pending(const Work&) const;
  bool work_busy(const Work&) const;  // pending or running

  // The system around the pools.
  int possible_cpus() const;
  void cpu_offline(int cpu);
  void cpu_online(int cpu);
  void freeze();
  bool freeze_busy() const;
  void thaw();
  void touch_watchdog(int cpu = -1);
  void set_watchdog_thresh(std::chrono::nanoseconds);
  /// Worker creation fails for the next `d` (models memory pressure).
  void fail_worker_creation(std::chrono::nanoseconds d);

  std::vector<std::string> show_workqueues() const;  // the kernel's busy dump
  std::vector<std::string> wq_monitor() const;       // the wq_monitor table
  /// The core's locks' counters since the start or the last reset (zeros unless Options::lock_stats).
  LockStats lock_stats() const;
  void reset_lock_stats();
  /// Event records that could not be handed over in time and were dropped (a gap in seq).
  std::uint64_t events_lost() const;
  /// Runs `f` on the core with its lock held (tests, inspection).
  void inspect(const std::function<void(const Core&)>& f) const;

 private:
  std::unique_ptr<Runtime> rt_;
};

/// Blocks the calling thread for `d`; inside a work item the pool knows the worker sleeps.
void sleep_for(std::chrono::nanoseconds d);

/// Runs a blocking call; inside a work item the pool counts the worker as sleeping meanwhile.
void blocking(const std::function<void()>& call);

/// The kernel's struct completion; waiting in a work item is a blocking point.
class Completion {
 public:
  void complete();
  void complete_all();
  void wait();
  bool wait_for(std::chrono::nanoseconds timeout);  // false on timeout
  void reinit();

 private:
  std::mutex mu_;               // a leaf lock (the kernel's wait.lock)
  std::condition_variable cv_;  // with mu_
  unsigned done_ = 0;           // mu_
  bool all_ = false;            // mu_: complete_all()
};

/// The current worker's name ("kworker/0:1"), or "" outside work items.
std::string current_worker_name();

}  // namespace cmwq
