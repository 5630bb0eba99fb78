// The real-thread driver of the core: one thread per worker, one timer thread for the core's
// timers and for spotting CPU hogs, and one deliverer that hands event batches to the probe. The
// core's locks (core.h, "Locking") are a lock per pool (pool->lock: L) under one outer lock that
// stands for wq_pool_mutex, wq->mutex, wq_mayday_lock and the nodes' nr_active locks: a
// writer-preferring rwlock (CoreLock) that every entry point takes exclusively, except
// queue_work_on(), a worker between two items and a worker's blocking points, which take it shared
// with their pool's lock (FastGuard). Event records take a leaf lock (rec_mu_).
#include <cmwq/cmwq.h>
#include <cmwq/probes.h>
#include <cmwq/recorder.h>

#include "handover.h"

#include <fmt/format.h>

#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <deque>
#include <future>
#include <list>
#include <mutex>
#include <thread>

namespace cmwq {

namespace {

Time mono_now() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// A clock that is read, not computed: it lags by up to a tick (1-4 ms), for the watchdog only.
Time coarse_now() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return static_cast<Time>(ts.tv_sec) * kSec + ts.tv_nsec;
}

Time thread_cpu_ns(clockid_t clock) {
  timespec ts{};
  if (clock_gettime(clock, &ts) != 0) return 0;
  return static_cast<Time>(ts.tv_sec) * kSec + ts.tv_nsec;
}

int gettid_() {
  thread_local int tid = static_cast<int>(::syscall(SYS_gettid));  // a syscall costs microseconds in VMs
  return tid;
}

struct Current {
  Runtime* rt = nullptr;
  Worker* worker = nullptr;
};
thread_local Current current;

/// lockdep_assert_held() failed: a driver callback or a "called with the lock held" path without it
/// is a bug in the runtime, not in the program using it.
[[noreturn]] void lock_not_held(const char* where, const char* lock) {
  std::fprintf(stderr, "cmwq: %s called without %s held\n", where, lock);
  std::abort();
}

}  // namespace

/// One lock's counters, summed over the threads that take it.
struct LockCounters {
  std::atomic<std::uint64_t> acquisitions{0}, wait_ns{0}, hold_ns{0};  // A (relaxed: totals only)
  void acquired(Time waited) {
    acquisitions.fetch_add(1, std::memory_order_relaxed);
    wait_ns.fetch_add(static_cast<std::uint64_t>(waited), std::memory_order_relaxed);
  }
  void released(Time held) { hold_ns.fetch_add(static_cast<std::uint64_t>(held), std::memory_order_relaxed); }
  void reset() {
    acquisitions.store(0, std::memory_order_relaxed);
    wait_ns.store(0, std::memory_order_relaxed);
    hold_ns.store(0, std::memory_order_relaxed);
  }
};

class CoreLock;
/// Whether this thread is a deliverer (Runtime::deliverer_main): it never waits for room in ready_.
static thread_local bool t_delivers = false;
/// The outer lock this thread holds shared, if any: a fast path never takes a second one.
static thread_local const CoreLock* t_shared_outer = nullptr;

/// The outer lock: the runtime's wq_pool_mutex, wq->mutex, wq_mayday_lock and nna->lock in one
/// (core.h: PL, WQ, MD, N). Every entry point takes it exclusively but the two fast paths, which
/// take it shared with a pool's lock (core.h's "Locking" says why that is sound). A pthread rwlock
/// that prefers writers, so that producers queueing without pause do not starve the timer thread
/// or a flush; it knows its exclusive owner and its shared holders, for lockdep_assert_held()-style
/// checks, and counts its waits and holds when asked (Options::lock_stats). Shared holds are not
/// counted as held: they do not serialise one another.
class CoreLock {
 public:
  explicit CoreLock(bool counting) : counting_(counting) {
    pthread_rwlockattr_t attr;
    pthread_rwlockattr_init(&attr);
    pthread_rwlockattr_setkind_np(&attr, PTHREAD_RWLOCK_PREFER_WRITER_NONRECURSIVE_NP);
    pthread_rwlock_init(&rw_, &attr);
    pthread_rwlockattr_destroy(&attr);
  }
  ~CoreLock() { pthread_rwlock_destroy(&rw_); }
  CoreLock(const CoreLock&) = delete;
  CoreLock& operator=(const CoreLock&) = delete;

  void lock() {
    Time t0 = counting_ ? mono_now() : 0;
    pthread_rwlock_wrlock(&rw_);
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    if (counting_) {
      held_since_ = mono_now();
      exclusive_.acquired(held_since_ - t0);
    }
  }
  void unlock() {
    if (counting_) exclusive_.released(mono_now() - held_since_);
    owner_.store(std::thread::id(), std::memory_order_relaxed);
    pthread_rwlock_unlock(&rw_);
  }
  void lock_shared() {
    Time t0 = counting_ ? mono_now() : 0;
    pthread_rwlock_rdlock(&rw_);
    t_shared_outer = this;
    if (counting_) shared_.acquired(mono_now() - t0);
  }
  void unlock_shared() {
    t_shared_outer = nullptr;
    pthread_rwlock_unlock(&rw_);
  }
  bool held() const { return owner_.load(std::memory_order_relaxed) == std::this_thread::get_id(); }
  bool held_shared() const { return t_shared_outer == this; }
  /// lockdep_assert_held() of the exclusive hold.
  void assert_held(const char* where) const {
    if (!held()) lock_not_held(where, "the core's outer lock exclusively");
  }
  /// The lock held either way: exclusively, or shared by a fast path.
  void assert_held_any(const char* where) const {
    if (!held() && !held_shared()) lock_not_held(where, "the core's outer lock (shared or exclusively)");
  }
  bool counting() const { return counting_; }
  LockCounters& exclusive() { return exclusive_; }
  LockCounters& shared() { return shared_; }

 private:
  pthread_rwlock_t rw_;                   // the lock itself
  const bool counting_;                   // I
  std::atomic<std::thread::id> owner_{};  // A: the exclusive holder, for held(); written by it
  Time held_since_ = 0;                   // the exclusive hold's
  LockCounters exclusive_, shared_;       // A
};
using Guard = std::unique_lock<CoreLock>;

/// A mutex that knows its holder (lockdep_assert_held()) and, given counters, counts its waits and
/// holds: a pool's lock (pool->lock, core.h: L), or the recorder's.
class OwnedMutex {
 public:
  explicit OwnedMutex(LockCounters* counters = nullptr) : counters_(counters) {}
  void lock() {
    Time t0 = counters_ ? mono_now() : 0;
    m_.lock();
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    if (counters_) {
      held_since_ = mono_now();
      counters_->acquired(held_since_ - t0);
    }
  }
  void unlock() {
    if (counters_) counters_->released(mono_now() - held_since_);
    owner_.store(std::thread::id(), std::memory_order_relaxed);
    m_.unlock();
  }
  bool held() const { return owner_.load(std::memory_order_relaxed) == std::this_thread::get_id(); }
  /// lockdep_assert_held(); `name` says which lock it is.
  void assert_held(const char* where, const char* name) const {
    if (!held()) lock_not_held(where, name);
  }

 private:
  std::mutex m_;                          // the lock itself
  LockCounters* counters_;                // I
  std::atomic<std::thread::id> owner_{};  // A: the holder, for held(); written by it
  Time held_since_ = 0;                   // m_
};

static OwnedMutex& lock_of(const Pool& pool) { return *static_cast<OwnedMutex*>(pool.driver); }

/// The fast paths' locks, as the kernel takes pool->lock: the outer lock shared (no exclusive
/// holder runs meanwhile), then a pool's lock, or two in pool-id order when queueing must look
/// at the pool the item last ran on; released in reverse.
class FastGuard {
 public:
  explicit FastGuard(CoreLock& outer) : outer_(outer) { outer_.lock_shared(); }
  ~FastGuard() {
    if (second_) second_->unlock();
    if (first_) first_->unlock();
    outer_.unlock_shared();
  }
  FastGuard(const FastGuard&) = delete;
  FastGuard& operator=(const FastGuard&) = delete;
  void lock(const Pool& pool, const Pool* also = nullptr) {
    const Pool* a = &pool;
    const Pool* b = also != &pool ? also : nullptr;
    if (b && b->id < a->id) std::swap(a, b);
    first_ = &lock_of(*a);
    first_->lock();
    if (b) {
      second_ = &lock_of(*b);
      second_->lock();
    }
  }

 private:
  CoreLock& outer_;
  OwnedMutex* first_ = nullptr;
  OwnedMutex* second_ = nullptr;
};


/// The system workqueues, in workqueue_init_early()'s order.
enum class SystemIndex {
  Wq, PercpuWq, HighpriWq, LongWq, UnboundWq, DflWq, FreezableWq, PowerEfficientWq, FreezablePowerEfficientWq,
  BhWq, BhHighpriWq, Count
};

class Runtime final : public Driver {
 public:
  explicit Runtime(Options opt)
      : opt_(std::move(opt)),
        mu_(opt_.lock_stats),
        recorder_(static_cast<std::uint32_t>(::getpid()), next_system(), possible_cpus(opt_), opt_.watchdog_thresh.count(),
                  opt_.kernel) {
    if (!opt_.log) opt_.log = [](std::string_view line) { fmt::print(stderr, "{}\n", line); };
    Config cfg;
    cfg.possible_cpus = possible_cpus(opt_);
    cfg.online_cpus = opt_.online;
    cfg.rescuer_policy = opt_.rescuer_policy;
    cfg.watchdog_thresh = opt_.watchdog_thresh.count();
    cfg.cpu_intensive_thresh = opt_.cpu_intensive_thresh.count();
    cfg.idle_timeout = opt_.idle_timeout.count();
    cfg.kernel = opt_.kernel;
    cfg.panic_on_stall = opt_.panic_on_stall;
    cfg.panic_on_stall_time = opt_.panic_on_stall_time.count();
    cfg.on_panic = opt_.on_panic;
    cfg.cpu_intensive_warning_thresh = opt_.cpu_intensive_warning_thresh;
    cfg.topology = opt_.topology;
    cfg.default_affn_scope = opt_.default_affinity_scope;
    Guard lk(mu_);
    core_ = std::make_unique<Core>(cfg, *this, mono_now());
    // workqueue_init_early()'s system workqueues, in its order, as the era has them.
    const Kernel k = cfg.kernel;
    const unsigned percpu = k >= Kernel::V7_0 ? unsigned{WQ_PERCPU} : 0u;
    struct SystemWq {
      SystemIndex index;
      const char* name;
      unsigned flags;
      bool exists;
    };
    const SystemWq system_wqs[] = {
        {SystemIndex::Wq, "events", percpu, true},
        {SystemIndex::PercpuWq, "events", percpu, k >= Kernel::V7_0},
        {SystemIndex::HighpriWq, "events_highpri", WQ_HIGHPRI | percpu, true},
        {SystemIndex::LongWq, "events_long", percpu, true},
        {SystemIndex::UnboundWq, "events_unbound", WQ_UNBOUND, true},
        {SystemIndex::DflWq, "events_unbound", WQ_UNBOUND, k >= Kernel::V7_0},
        {SystemIndex::FreezableWq, "events_freezable", WQ_FREEZABLE | percpu, true},
        {SystemIndex::PowerEfficientWq, "events_power_efficient", WQ_POWER_EFFICIENT | percpu, true},
        {SystemIndex::FreezablePowerEfficientWq, "events_freezable_pwr_efficient",
         WQ_FREEZABLE | WQ_POWER_EFFICIENT | percpu, k > Kernel::Seeds},
        {SystemIndex::BhWq, "events_bh", WQ_BH | percpu, k >= Kernel::V6_9},
        {SystemIndex::BhHighpriWq, "events_bh_highpri", WQ_BH | WQ_HIGHPRI | percpu, k >= Kernel::V6_9},
    };
    system_.fill(nullptr);
    for (auto& d : system_wqs)
      if (d.exists)
        system_[static_cast<std::size_t>(d.index)] =
            core_->alloc_workqueue(d.name, d.flags, (d.flags & WQ_UNBOUND) ? WQ_MAX_ACTIVE : 0, mono_now());
    // Before 7.0 the new names are the old workqueues.
    if (!system_wq(SystemIndex::PercpuWq)) system_[std::size_t(SystemIndex::PercpuWq)] = system_wq(SystemIndex::Wq);
    if (!system_wq(SystemIndex::DflWq)) system_[std::size_t(SystemIndex::DflWq)] = system_wq(SystemIndex::UnboundWq);
    // A tracer attached before we started (wqscope -- CMD holds the command until it is) is ready.
    tracers_ = probes::tracers();
    newest_tracer_ = mono_now() - kAttachGrace;
    check_tracing();
    timer_ = std::thread([this] { timer_main(); });
    deliverer_ = std::thread([this] { deliverer_main(); });
  }

  /// Systems of one process are numbered from 1 in the order they start: each is its own stream.
  static std::uint32_t next_system() {
    static std::atomic<std::uint32_t> systems{0};
    return ++systems;
  }

  static int possible_cpus(const Options& o) {
    return o.cpus > 0 ? o.cpus : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  }

  /// Tracing is on while a tracer holds the probe's semaphore or an in-process sink listens.
  /// Each new tracer gets a stream that starts with a HELLO and the current state. The kernel
  /// raises the semaphore when the uprobe is registered, a moment before the tracer's BPF program
  /// is attached to it, so that stream starts once that moment has surely passed. Called with mu_.
  void check_tracing() {
    mu_.assert_held("check_tracing");
    Time now = mono_now();
    unsigned tracers = probes::tracers();
    if (tracers > tracers_) newest_tracer_ = now;
    tracers_ = tracers;
    bool sink = static_cast<bool>(opt_.on_events);
    if (tracers == 0) handover::forget();
    if (!sink && tracers == 0) {
      core_->set_tracing(false);
      return;
    }
    bool settled = tracers > 0 && now - newest_tracer_ >= kAttachGrace;
    if (!sink && !settled) return;  // a tracer is attaching: wait for it
    bool stale = settled && stream_started_ < newest_tracer_;
    if (core_->tracing() && !stale) return;
    {
      std::lock_guard rec(rec_mu_);
      cut_batch();  // what the old stream still holds goes to its readers
      recorder_.restart(now);
    }
    core_->set_tracing(true);
    stream_started_ = now;
    core_->announce_state(now);
    std::lock_guard rec(rec_mu_);
    recorder_.announced(now);
  }

  /// The time of a queue_work(). Untraced, it only stamps an empty worklist's watchdog, which
  /// measures seconds: the coarse clock costs a tenth of the precise one. Called with mu_ (either way).
  Time queue_now() const {
    mu_.assert_held_any("queue_now");
    return core_->tracing() ? mono_now() : coarse_now();
  }

  /// The hot path's look at the probe: one load and a predicted branch; the timer thread does the rest.
  void notice_tracers() {
    if (__builtin_expect(probes::tracers() != tracers_, 0)) check_tracing();
  }

  /// Moves the pending records to the hand-over queue (bounded: beyond it records are dropped
  /// and counted; readers see the gap in seq). A `producer` that finds it full makes room first
  /// (make_room): full-speed producers outrun a deliverer that is off the CPU. Called with rec_mu_
  /// held.
  void cut_batch(bool producer = false) {
    rec_mu_.assert_held("cut_batch", "the recorder's lock");
    if (!recorder_.pending_bytes()) return;
    const bool lossless = handover::lossless();
    if (ready_.size() >= kMaxReadyBatches && producer) {
      make_room(lossless);
      if (!recorder_.pending_bytes()) return;  // another thread cut them meanwhile, in order
    }
    Batch b;
    b.stream = recorder_.stream_id();
    b.bytes = recorder_.take(&b.count);
    // The deliverer's own records (an in-process sink that queues work: it cannot wait for itself) go
    // in beyond the bound while a lossless tracer is attached.
    if (ready_.size() >= kMaxReadyBatches && !(lossless && t_delivers)) {
      lost_ += ready_.front().count;
      ready_.pop_front();
    }
    ready_.push_back(std::move(b));
  }

  /// A producer's room in the full ready_. If nobody is handing over, the producer hands the oldest
  /// batch to the probe itself (but not to an in-process sink, which is called from the deliverer
  /// alone). If someone is, it waits for them: up to kDeliveryWait, or handover::kWait while a
  /// `lossless` tracer is attached. Without --lossless nobody waits for the collector (the probe drops what its
  /// ring buffer has no room for): the wait is for the target's own hand-over, and it gives the CPU
  /// to a deliverer that its producers crowded off it. Called with rec_mu_ held.
  void make_room(bool lossless) {
    rec_mu_.assert_held("make_room", "the recorder's lock");
    auto until =
        std::chrono::steady_clock::now() + std::chrono::nanoseconds(lossless ? handover::kWait : kDeliveryWait);
    deliver_cv_.notify_one();
    while (ready_.size() >= kMaxReadyBatches) {
      if (!opt_.on_events && deliver_mu_.try_lock()) {
        Batch b = std::move(ready_.front());
        ready_.pop_front();
        rec_mu_.unlock();
        if (probes::attached()) {
          handover::batch(b.bytes.data(), b.bytes.size(), b.stream);
          handover::flush();
        }
        rec_mu_.lock();
        deliver_mu_.unlock();
        continue;
      }
      if (std::chrono::steady_clock::now() >= until) return;
      ready_cv_.wait_for(rec_mu_, std::chrono::milliseconds(1));
    }
  }

  /// Hands the ready batches to the probe and the in-process sink, without the outer lock. The probe
  /// gets them packed together (handover::batch), so the deliver lock is held until they are
  /// flushed: no batch overtakes them.
  void deliver() {
    std::lock_guard hand(deliver_mu_);
    for (;;) {
      Batch b;
      {
        std::lock_guard rec(rec_mu_);
        if (ready_.empty()) break;
        b = std::move(ready_.front());
        ready_.pop_front();
      }
      ready_cv_.notify_all();
      if (probes::attached()) handover::batch(b.bytes.data(), b.bytes.size(), b.stream);
      if (opt_.on_events) opt_.on_events(b.bytes, b.count);
    }
    handover::flush();
  }

  /// The deliverer: delivers when producers have cut kBatchesPerWake batches, and when the timer
  /// thread has cut what was pending (every flush period while tracing). It never takes the outer
  /// lock: the timer thread, which delivered before, takes it exclusively at every wake, and woken
  /// for every few batches it stopped the producers as often. A lossless wait for the collector
  /// (handover.cpp) holds up no timer either.
  void deliverer_main() {
    t_delivers = true;
    std::unique_lock rec(rec_mu_);
    while (!deliverer_stop_) {
      deliver_cv_.wait(rec, [&] { return deliver_now_ || ready_.size() >= kBatchesPerWake || deliverer_stop_; });
      deliver_now_ = false;
      rec.unlock();
      deliver();
      rec.lock();
    }
  }
  std::uint64_t lost() {
    std::lock_guard rec(rec_mu_);
    return lost_;
  }

  ~Runtime() override {
    Guard lk(mu_);
    for (auto& wq : core_->workqueues())
      if (!(wq->flags & __WQ_DESTROYING)) destroy(lk, *wq);
    core_->stop_all_workers(mono_now());
    stopping_ = true;
    timer_cv_.notify_all();
    lk.unlock();
    timer_.join();
    {
      std::lock_guard rec(rec_mu_);
      deliverer_stop_ = true;
    }
    deliver_cv_.notify_one();
    deliverer_.join();
    {
      std::lock_guard rec(rec_mu_);
      cut_batch();
    }
    deliver();
    // Every worker sees DIE or stopping on its next step; join them all.
    for (;;) {
      lk.lock();
      for (auto& t : threads_) {
        std::lock_guard wl(t.wake_mu);
        t.woken = true;
        t.cv.notify_all();
      }
      if (threads_.empty()) break;
      Thread& t = threads_.front();
      lk.unlock();
      t.th.join();
      lk.lock();
      if (t.worker) core_->reap(*t.worker);
      threads_.pop_front();
      lk.unlock();
    }
  }

  // --- Driver: called with mu_ held exclusively, or shared with the lock of the pool concerned ---
  void wake(Worker& w) override {
    assert_held(w.pool);
    auto& t = *static_cast<Thread*>(w.driver);
    std::lock_guard wl(t.wake_mu);
    if (t.woken) return;  // woken and not yet back: kick_pool() on every queue needs no more
    t.woken = true;
    t.cv.notify_one();
  }
  bool spawn(Worker& w) override {
    mu_.assert_held("Driver::spawn");
    threads_.emplace_back();
    Thread& t = threads_.back();
    t.worker = &w;
    w.driver = &t;
    std::promise<int> tid;
    try {
      t.th = std::thread([this, &t, &tid] {
        tid.set_value(gettid_());
        worker_main(t);
      });
    } catch (const std::system_error&) {
      w.driver = nullptr;  // not left pointing at the Thread popped here
      threads_.pop_back();
      return false;
    }
    // The worker's id is its thread's from its first record on (WORKER_CREATE follows), as the
    // kernel's create_worker() knows its kthread's pid. The thread reports it before taking mu_.
    w.id = tid.get_future().get();
    return true;
  }
  void complete(Waiter&) override {
    mu_.assert_held("Driver::complete");  // flushes finish under the exclusive lock only
    waiters_cv_.notify_all();
  }
  void message(std::string_view line) override {
    mu_.assert_held("Driver::message");
    opt_.log(line);
  }
  /// Records get their seq under the recorder's lock, taken inside the pool's lock (or the
  /// exclusive one): one pool's records are in the order of its changes, and the stream is one
  /// sequence per System, as readers expect. Per-thread buffers merged later would need a
  /// global order anyway (a seq counter or timestamps): a short leaf lock costs less here.
  void emit(const Event& e) override {
    assert_held(e.pool ? e.pool : e.worker ? e.worker->pool : nullptr);
    std::lock_guard rec(rec_mu_);
    // Cut before a record that might not fit: while a producer waits for room in ready_ (lossless),
    // others that would append wait too, and no batch outgrows CMWQ_BATCH_MAX.
    if (recorder_.pending_bytes() + sizeof(cmwq_ev_name) + sizeof(cmwq_ev_state) > CMWQ_BATCH_MAX) {
      cut_batch(!t_delivers);
      if (ready_.size() % kBatchesPerWake == 0) deliver_cv_.notify_one();
    }
    recorder_.record(e, static_cast<std::uint32_t>(gettid_()));
  }
  void timers_changed() override { timer_cv_.notify_one(); }
  void pool_created(Pool& pool) override {
    mu_.assert_held("Driver::pool_created");
    pool.driver = &pool_locks_.emplace_back(mu_.counting() ? &pool_counters_ : nullptr);
  }
  /// lockdep_assert_held(&pool->lock): the exclusive outer lock, or the shared one with the pool's.
  void assert_held(const Pool* pool) const override {
    if (mu_.held() || (pool && mu_.held_shared() && lock_of(*pool).held())) return;
    std::fprintf(stderr, "cmwq: the lock of pool %d is not held\n", pool ? pool->id : -1);
    std::abort();
  }

  // --- API, each under mu_ ---
  Guard lock() const { return std::unique_lock(mu_); }
  Core& core() { return *core_; }
  Workqueue* system_wq(SystemIndex i) const { return system_.at(static_cast<std::size_t>(i)); }

  Caller caller() const {
    Caller c;
    c.pid = gettid_();
    if (current.rt == this && current.worker) {
      c.worker = current.worker;
      const Pool* pool = current.worker->pool;
      c.cpu = pool && pool->cpu >= 0 ? pool->cpu : first_online(0);
      return c;
    }
    int cpu = sched_getcpu();
    c.cpu = first_online(cpu < 0 ? 0 : cpu % core_->config().possible_cpus);
    return c;
  }

  /// Waits for `waiter` with mu_ held through `lk`; a worker counts as sleeping meanwhile.
  void wait(Guard& lk, Waiter& waiter) {
    Worker* w = current.rt == this ? current.worker : nullptr;
    if (w) worker_blocks(*w);
    waiters_cv_.wait(lk, [&] { return waiter.done; });
    if (w) worker_woke(*w);
  }

  /// queue_work_on() on the fast path: the outer lock shared, the target pool's lock (and the
  /// pool the item last ran on, for non-reentrancy), as __queue_work() takes pool->lock; nullopt
  /// when it needs the exclusive lock (a tracer to notice, per-node max_active, draining).
  std::optional<bool> queue_fast(int cpu, Workqueue& wq, Work& work) {
    FastGuard g(mu_);
    if (probes::tracers() != tracers_) return std::nullopt;  // check_tracing() needs the exclusive lock
    Caller c = caller();
    const Pool* pool = core_->queue_pool(wq, cpu, c);
    if (!pool) return std::nullopt;
    if (work.pending.exchange(true)) return false;  // test_and_set_bit(WORK_STRUCT_PENDING)
    g.lock(*pool, work.last_pool);                   // last_pool is stable now that PENDING is ours
    return core_->queue_work_pending(cpu, wq, work, c, queue_now());
  }

  /// A cooperative blocking point of the worker on this thread (`sleeping`: entering it), under
  /// its pool's lock, as wq_worker_sleeping() and wq_worker_running() take pool->lock.
  void blocking_point(Worker& w, bool sleeping) {
    FastGuard g(mu_);
    g.lock(*w.pool);  // the pool of a worker in an item changes only by its own thread (a rescuer)
    Time now = mono_now();
    Thread& t = *static_cast<Thread*>(w.driver);
    if (sleeping) {
      core_->worker_sleeping(w, now);
      t.end_segment(now);
    } else {
      core_->worker_running(w, now);
      t.begin_segment(now);
    }
  }

  void worker_blocks(Worker& w) {
    Time now = mono_now();
    core_->worker_sleeping(w, now);
    static_cast<Thread*>(w.driver)->end_segment(now);
  }

  void worker_woke(Worker& w) {
    Time now = mono_now();
    core_->worker_running(w, now);
    static_cast<Thread*>(w.driver)->begin_segment(now);
  }

  void destroy(Guard& lk, Workqueue& wq) {
    core_->destroy_begin(wq, mono_now());
    drain(lk, wq);
    core_->destroy_finish(wq, mono_now());
  }

  void drain(Guard& lk, Workqueue& wq) {
    // Chained items may queue more while we flush: repeat until the wq is empty.
    while (core_->busy(wq)) {
      Waiter waiter;
      if (core_->start_flush_workqueue(wq, waiter, mono_now())) wait(lk, waiter);
    }
  }

  LockStats lock_stats() {
    LockCounters &ex = mu_.exclusive(), &sh = mu_.shared(), &pl = pool_counters_;
    LockStats s;
    s.exclusive_acquisitions = ex.acquisitions;
    s.pool_acquisitions = pl.acquisitions;
    s.pool_wait_ns = pl.wait_ns;
    s.pool_hold_ns = pl.hold_ns;
    s.acquisitions = ex.acquisitions + sh.acquisitions + pl.acquisitions;
    s.wait_ns = ex.wait_ns + sh.wait_ns + pl.wait_ns;
    s.hold_ns = ex.hold_ns + pl.hold_ns;
    return s;
  }
  void reset_lock_stats() {
    mu_.exclusive().reset();
    mu_.shared().reset();
    pool_counters_.reset();
  }

  static Runtime* of_current_thread() { return current.rt; }
  static Worker* current_worker() { return current.worker; }

 private:
  struct Thread {
    std::thread th;               // mu_: started by spawn(), joined by the timer thread or at the end
    std::mutex wake_mu;           // a leaf lock: guards `woken`
    std::condition_variable cv;   // with wake_mu: an idle worker waits here, holding no core lock
    Worker* worker = nullptr;     // I
    bool woken = false;           // wake_mu
    clockid_t clock{};            // the worker's: set before it first takes mu_, read by the timer under mu_
    // An item's CPU time, without a syscall on the hot path: it runs in segments between
    // blocking points. A segment the timer thread never saw (shorter than its tick) counts its
    // wall time; for a longer one the timer has sampled the thread's CPU clock, so the segment
    // counts real CPU time after that sample (plus at most one tick of wall time before it),
    // which preemption does not inflate. Hog detection counts only CPU after the sample, so a
    // short item that a busy machine preempted is never taken for a hog.
    // The worker writes these with mu_ held (either way), the timer thread with mu_ exclusively.
    Time ran_since = 0;           // start of the current segment (wall)
    Time cpu_mark = kUnknown;     // thread CPU time when the timer first saw this segment
    Time mark_wall = 0;           // wall time of that sample
    Time item_cpu = 0;            // CPU of the item's finished segments

    void begin_segment(Time now) {
      ran_since = now;
      cpu_mark = kUnknown;
    }
    void end_segment(Time now) {
      item_cpu += cpu_mark == kUnknown ? now - ran_since : thread_cpu_ns(clock) - cpu_mark + (mark_wall - ran_since);
    }
  };
  static constexpr Time kUnknown = -1;

  /// The virtual CPU this thread runs on: the real one, modulo the virtual CPUs.
  int virtual_cpu_now() const {
    int cpu = sched_getcpu();
    return cpu < 0 ? -1 : cpu % core_->config().possible_cpus;
  }

  int first_online(int cpu) const {
    int n = core_->config().possible_cpus;
    for (int i = 0; i < n; ++i)
      if (core_->cpu_online_now((cpu + i) % n)) return (cpu + i) % n;
    return cpu;
  }

  void worker_main(Thread& t) {
    Worker& w = *t.worker;
    current = {this, &w};
    pthread_getcpuclockid(pthread_self(), &t.clock);
    {
      Guard lk(mu_);
      pthread_setname_np(pthread_self(), w.name().substr(0, 15).c_str());
    }
    bool ran = false;  // back from running an item
    for (;;) {
      Step step = next_step(t, ran);
      ran = false;
      switch (step.kind) {
        case Step::Run:
          run(*step.work);
          ran = true;
          break;
        case Step::Idle: {
          std::unique_lock wl(t.wake_mu);
          t.cv.wait(wl, [&] { return t.woken; });
          t.woken = false;
          break;
        }
        case Step::Cooldown: {
          std::unique_lock wl(t.wake_mu);
          t.cv.wait_until(wl, std::chrono::steady_clock::time_point(std::chrono::nanoseconds(step.until)),
                          [&] { return stopping_.load() || mono_now() >= step.until; });
          break;
        }
        case Step::Die:
          current = {};
          return;
      }
    }
  }

  /// The worker's next step, taken under its pool's lock (the outer lock shared) where the core
  /// can take it there, else under the outer lock exclusively; returns with no lock held. `ran`:
  /// back from an item, whose CPU time ends now. One clock read per item (a read costs ~70 ns in
  /// this VM): the end of an item is the moment the core hands out the next one.
  Step next_step(Thread& t, bool ran) {
    Worker& w = *t.worker;
    Time item_cpu = 0;
    Workqueue* flush_due = nullptr;
    if (!w.rescue_wq) {  // a normal worker's pool is its own for life; a rescuer moves
      std::optional<Step> step;
      {
        FastGuard g(mu_);
        g.lock(*w.pool);
        Time now = mono_now();
        if (ran) {
          t.end_segment(now);
          item_cpu = t.item_cpu;
          ran = false;
        }
        step = core_->worker_next_local(w, now, item_cpu, &flush_due);
        if (step) begin_step(t, *step, now);
      }
      if (flush_due) {
        Guard lk(mu_);
        core_->flush_done(*flush_due, mono_now());
      }
      if (step) return *step;
    }
    Guard lk(mu_);
    Time now = mono_now();
    if (ran) {
      t.end_segment(now);
      item_cpu = t.item_cpu;
    }
    return begin_step(t, core_->worker_next(w, now, item_cpu), now);
  }

  /// What the driver notes as a step begins, with the step's lock still held.
  Step begin_step(Thread& t, Step step, Time now) {
    if (step.kind == Step::Run) {
      t.item_cpu = 0;
      t.begin_segment(now);
    } else if (step.kind == Step::Idle) {
      t.worker->last_cpu = virtual_cpu_now();  // read by kick_pool() under the pool's lock
    }
    return step;
  }

  void run(Work& work) {
    try {
      work.fn(work);
    } catch (const std::exception& e) {
      Guard lk(mu_);
      opt_.log(fmt::format("workqueue: {} threw: {}", work.func, e.what()));
    } catch (...) {
      Guard lk(mu_);
      opt_.log(fmt::format("workqueue: {} threw a non-standard exception", work.func));
    }
  }

  /// Fires the core's timers and, like wq_worker_tick(), marks items that hog a CPU.
  void timer_main() {
    Guard lk(mu_);
    const Time tick = std::max<Time>(core_->config().cpu_intensive_thresh / 2, kMsec);
    const Time flush_period = std::max<Time>(opt_.event_flush_period.count(), kMsec);
    while (!stopping_) {
      check_tracing();
      if (core_->tracing()) {  // what the producers have not cut yet goes out within a flush period
        bool any;
        {
          std::lock_guard rec(rec_mu_);
          cut_batch(/*producer=*/true);
          any = deliver_now_ = !ready_.empty();
        }
        if (any) deliver_cv_.notify_one();
      }
      if (stopping_) break;
      Time now = mono_now();
      try {
        core_->advance(now);
      } catch (const Error& e) {
        opt_.log(fmt::format("cmwq: timer: {}", e.what()));
      }
      // Join workers the idle timer culled; they returned right after leaving the lock.
      for (auto it = threads_.begin(); it != threads_.end();) {
        if (!it->worker->dead || !it->th.joinable()) {
          ++it;
          continue;
        }
        it->th.join();
        core_->reap(*it->worker);
        it = threads_.erase(it);
      }
      bool busy = false;
      for (auto& t : threads_) {
        Worker& w = *t.worker;
        if (!w.current_work || w.dead) continue;
        busy = true;
        if (w.sleeping) continue;
        Time cpu = thread_cpu_ns(t.clock);
        if (t.cpu_mark == kUnknown) {
          t.cpu_mark = cpu;
          t.mark_wall = now;
        }
        core_->worker_tick(w, cpu - t.cpu_mark, now);
      }
      Time until = std::min(core_->next_deadline(), busy ? now + tick : kNever);
      // Poll the probe's semaphore, and hand events over while tracing.
      until = std::min(until, now + (core_->tracing() ? flush_period : kAttachGrace / 2));
      auto tp = std::chrono::steady_clock::time_point(std::chrono::nanoseconds(until));
      if (until == kNever) timer_cv_.wait(lk);
      else timer_cv_.wait_until(lk, tp);
    }
  }

  struct Batch {
    std::vector<std::byte> bytes;
    std::uint64_t count = 0;
    std::uint64_t stream = 0;  // CMWQ_STREAM_ID of the session that wrote it
  };
  // The hand-over queue's bound: at most 16 MiB of records, while a tracer is attached and the one
  // delivering is off the CPU. 256 batches (~20 ms of a full-speed producer) lost 0.2-3 % of
  // probe_bench's records on 2 busy cores; 768 lost none in 6 runs.
  static constexpr std::size_t kMaxReadyBatches = 1024;
  /// Producers wake the deliverer at every this many full batches (the timer thread wakes it every
  /// flush period anyway): a wake costs a futex call and a context switch.
  static constexpr std::size_t kBatchesPerWake = 32;
  /// How long a producer waits for a delivery in progress before a batch is dropped (make_room).
  /// The deliverer hands a batch over in microseconds once it is on a CPU; without the wait, two
  /// producers on 2 busy cores lost up to 10 % of probe_bench's records while it was off one.
  static constexpr Time kDeliveryWait = 10 * kMsec;

  Options opt_;                // I
  mutable CoreLock mu_;        // the outer lock; "mu_" below: held exclusively
  LockCounters pool_counters_;  // A: the pools' locks' counters, summed
  std::deque<OwnedMutex> pool_locks_;  // mu_: pool->lock of each pool (Pool::driver), stable addresses
  /// The recorder's lock, a leaf taken inside a pool's lock or the exclusive one: seq order.
  OwnedMutex rec_mu_;
  Recorder recorder_;          // rec_mu_
  std::deque<Batch> ready_;    // rec_mu_
  std::uint64_t lost_ = 0;     // rec_mu_
  std::condition_variable_any ready_cv_;  // with rec_mu_: a producer waits for room in ready_ (make_room)
  std::condition_variable_any deliver_cv_;  // with rec_mu_: the deliverer waits for batches
  bool deliver_now_ = false;     // rec_mu_: the timer thread cut the pending records
  bool deliverer_stop_ = false;  // rec_mu_
  /// Held by whoever hands batches over (pop and probe), so that they reach it in order; taken before
  /// rec_mu_, or tried with it held (make_room).
  std::mutex deliver_mu_;
  std::condition_variable_any waiters_cv_;  // with mu_: flushers wait for Driver::complete()
  std::condition_variable_any timer_cv_;    // with mu_: the timer thread waits for a deadline
  std::list<Thread> threads_;  // mu_; stable addresses: workers point at their Thread
  std::array<Workqueue*, static_cast<std::size_t>(SystemIndex::Count)> system_{};  // I
  std::thread timer_;          // I: started by the constructor, joined by the destructor
  std::thread deliverer_;      // I: likewise
  std::atomic<bool> stopping_{false};  // A: a cooling-down worker reads it under its wake_mu
  static constexpr Time kAttachGrace = 100 * kMsec;
  unsigned tracers_ = 0;       // mu_ (the fast paths read it holding mu_ shared): the semaphore's count when last looked at
  Time newest_tracer_ = 0;     // mu_: when that count last rose
  Time stream_started_ = 0;    // mu_
  std::unique_ptr<Core> core_;  // I; the core's fields name their locks (core.h)
};

// --- System: each call takes the lock and forwards to the core ---

System::System(Options opt) : rt_(std::make_unique<Runtime>(std::move(opt))) {}
System::~System() = default;

namespace {
Time ns(std::chrono::nanoseconds d) { return d.count(); }
}  // namespace

Workqueue* System::alloc_workqueue(std::string_view name, unsigned flags, int max_active, AffinityScope scope,
                                   bool strict) {
  auto lk = rt_->lock();
  return rt_->core().alloc_workqueue(name, flags, max_active, mono_now(), scope, strict);
}
Workqueue* System::alloc_ordered_workqueue(std::string_view name, unsigned flags) {
  auto lk = rt_->lock();
  return rt_->core().alloc_ordered_workqueue(name, flags, mono_now());
}
void System::destroy_workqueue(Workqueue* wq) {
  auto lk = rt_->lock();
  rt_->destroy(lk, *wq);
}
void System::workqueue_set_max_active(Workqueue* wq, int max_active) {
  auto lk = rt_->lock();
  rt_->core().set_max_active(*wq, max_active, mono_now());
}
void System::workqueue_set_affinity(Workqueue* wq, AffinityScope scope, bool strict) {
  auto lk = rt_->lock();
  rt_->core().set_affinity(*wq, scope, strict, mono_now());
}
Workqueue* System::system_wq() const { return rt_->system_wq(SystemIndex::Wq); }
Workqueue* System::system_percpu_wq() const { return rt_->system_wq(SystemIndex::PercpuWq); }
Workqueue* System::system_highpri_wq() const { return rt_->system_wq(SystemIndex::HighpriWq); }
Workqueue* System::system_long_wq() const { return rt_->system_wq(SystemIndex::LongWq); }
Workqueue* System::system_unbound_wq() const { return rt_->system_wq(SystemIndex::UnboundWq); }
Workqueue* System::system_dfl_wq() const { return rt_->system_wq(SystemIndex::DflWq); }
Workqueue* System::system_freezable_wq() const { return rt_->system_wq(SystemIndex::FreezableWq); }
Workqueue* System::system_power_efficient_wq() const { return rt_->system_wq(SystemIndex::PowerEfficientWq); }
Workqueue* System::system_freezable_power_efficient_wq() const {
  return rt_->system_wq(SystemIndex::FreezablePowerEfficientWq);
}
Workqueue* System::system_bh_wq() const { return rt_->system_wq(SystemIndex::BhWq); }
Workqueue* System::system_bh_highpri_wq() const { return rt_->system_wq(SystemIndex::BhHighpriWq); }

bool System::queue_work(Workqueue* wq, Work& w) { return queue_work_on(WORK_CPU_UNBOUND, wq, w); }
bool System::queue_work_on(int cpu, Workqueue* wq, Work& w) {
  if (auto queued = rt_->queue_fast(cpu, *wq, w)) return *queued;
  auto lk = rt_->lock();
  rt_->notice_tracers();
  return rt_->core().queue_work_on(cpu, *wq, w, rt_->caller(), rt_->queue_now());
}
bool System::queue_delayed_work(Workqueue* wq, DelayedWork& dw, std::chrono::nanoseconds delay) {
  return queue_delayed_work_on(WORK_CPU_UNBOUND, wq, dw, delay);
}
bool System::queue_delayed_work_on(int cpu, Workqueue* wq, DelayedWork& dw, std::chrono::nanoseconds delay) {
  auto lk = rt_->lock();
  return rt_->core().queue_delayed_work_on(cpu, *wq, dw, ns(delay), rt_->caller(), mono_now());
}
bool System::mod_delayed_work(Workqueue* wq, DelayedWork& dw, std::chrono::nanoseconds delay) {
  auto lk = rt_->lock();
  return rt_->core().mod_delayed_work_on(WORK_CPU_UNBOUND, *wq, dw, ns(delay), rt_->caller(), mono_now());
}

bool System::cancel_work(Work& w) {
  auto lk = rt_->lock();
  return rt_->core().cancel_work(w, mono_now());
}
bool System::cancel_work_sync(Work& w) {
  auto lk = rt_->lock();
  bool was_pending = rt_->core().cancel_work(w, mono_now());
  Waiter waiter;
  if (rt_->core().start_flush_work(w, waiter, rt_->caller(), mono_now())) rt_->wait(lk, waiter);
  return was_pending;
}
bool System::cancel_delayed_work(DelayedWork& dw) { return cancel_work(dw.work); }
bool System::cancel_delayed_work_sync(DelayedWork& dw) { return cancel_work_sync(dw.work); }
bool System::flush_work(Work& w) {
  auto lk = rt_->lock();
  Waiter waiter;
  if (!rt_->core().start_flush_work(w, waiter, rt_->caller(), mono_now())) return false;
  rt_->wait(lk, waiter);
  return true;
}
bool System::flush_delayed_work(DelayedWork& dw) {
  {
    auto lk = rt_->lock();
    // Like the kernel: a pending timer is cut short and the work queued now.
    if (dw.work.delayed && rt_->core().cancel_delayed_work(dw, mono_now()))
      rt_->core().queue_work_on(dw.cpu, *dw.wq, dw.work, rt_->caller(), mono_now());
  }
  return flush_work(dw.work);
}
void System::flush_workqueue(Workqueue* wq) {
  auto lk = rt_->lock();
  Waiter waiter;
  if (rt_->core().start_flush_workqueue(*wq, waiter, mono_now())) rt_->wait(lk, waiter);
}
void System::drain_workqueue(Workqueue* wq) {
  auto lk = rt_->lock();
  rt_->core().set_draining(*wq, true);
  rt_->drain(lk, *wq);
  rt_->core().set_draining(*wq, false);
}
bool System::work_pending(const Work& w) const {
  auto lk = rt_->lock();
  return w.pending;
}
bool System::work_busy(const Work& w) const {
  auto lk = rt_->lock();
  return w.pending || rt_->core().is_running(w);
}

int System::possible_cpus() const { return rt_->core().config().possible_cpus; }
void System::cpu_offline(int cpu) {
  auto lk = rt_->lock();
  rt_->core().cpu_offline(cpu, mono_now());
}
void System::cpu_online(int cpu) {
  auto lk = rt_->lock();
  rt_->core().cpu_online(cpu, mono_now());
}
void System::freeze() {
  auto lk = rt_->lock();
  rt_->core().freeze(mono_now());
}
bool System::freeze_busy() const {
  auto lk = rt_->lock();
  return rt_->core().freeze_busy();
}
void System::thaw() {
  auto lk = rt_->lock();
  rt_->core().thaw(mono_now());
}
void System::touch_watchdog(int cpu) {
  auto lk = rt_->lock();
  rt_->core().touch_watchdog(cpu, mono_now());
}
void System::set_watchdog_thresh(std::chrono::nanoseconds thresh) {
  auto lk = rt_->lock();
  rt_->core().set_watchdog_thresh(ns(thresh), mono_now());
}
void System::fail_worker_creation(std::chrono::nanoseconds d) {
  auto lk = rt_->lock();
  Time now = mono_now();
  rt_->core().fail_worker_creation(now, now + ns(d));
}
std::vector<std::string> System::show_workqueues() const {
  auto lk = rt_->lock();
  return rt_->core().show_all_workqueues(mono_now());
}
std::vector<std::string> System::wq_monitor() const {
  auto lk = rt_->lock();
  return rt_->core().wq_monitor_table();
}
LockStats System::lock_stats() const {
  auto lk = rt_->lock();
  return rt_->lock_stats();
}
void System::reset_lock_stats() {
  auto lk = rt_->lock();
  rt_->reset_lock_stats();
}
std::uint64_t System::events_lost() const {
  auto lk = rt_->lock();
  return rt_->lost();
}
void System::inspect(const std::function<void(const Core&)>& f) const {
  auto lk = rt_->lock();
  f(rt_->core());
}

// --- blocking points ---

void blocking(const std::function<void()>& call) {
  Runtime* rt = Runtime::of_current_thread();
  Worker* w = Runtime::current_worker();
  if (!rt || !w) return call();
  rt->blocking_point(*w, true);
  struct Woke {
    Runtime* rt;
    Worker* w;
    ~Woke() { rt->blocking_point(*w, false); }
  } woke{rt, w};
  call();
}

void sleep_for(std::chrono::nanoseconds d) {
  blocking([d] { std::this_thread::sleep_for(d); });
}

void Completion::complete() {
  std::lock_guard lk(mu_);
  ++done_;
  cv_.notify_one();
}
void Completion::complete_all() {
  std::lock_guard lk(mu_);
  all_ = true;
  cv_.notify_all();
}
void Completion::wait() {
  blocking([this] {
    std::unique_lock lk(mu_);
    cv_.wait(lk, [this] { return all_ || done_ > 0; });
    if (!all_) --done_;
  });
}
bool Completion::wait_for(std::chrono::nanoseconds timeout) {
  bool ok = false;
  blocking([&] {
    std::unique_lock lk(mu_);
    ok = cv_.wait_for(lk, timeout, [this] { return all_ || done_ > 0; });
    if (ok && !all_) --done_;
  });
  return ok;
}
void Completion::reinit() {
  std::lock_guard lk(mu_);
  done_ = 0;
  all_ = false;
}

std::string current_worker_name() {
  Runtime* rt = Runtime::of_current_thread();
  Worker* w = Runtime::current_worker();
  if (!rt || !w) return "";
  auto lk = rt->lock();
  return w->name();
}

}  // namespace cmwq
