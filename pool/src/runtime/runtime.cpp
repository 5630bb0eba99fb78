// The real-thread driver of the core: one thread per worker, one timer thread
// for the core's timers and for spotting CPU hogs, and one mutex around the core.
#include <cmwq/cmwq.h>
#include <cmwq/probes.h>
#include <cmwq/recorder.h>

#include <fmt/format.h>

#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstdlib>
#include <cstdio>
#include <deque>
#include <future>
#include <list>
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

}  // namespace

/// The one lock around the core: the runtime's stand-in for the kernel's pool->lock, wq->mutex,
/// wq_pool_mutex and wq_mayday_lock (core.h names, per field, the kernel lock each maps to). A
/// std::mutex that knows its owner, for lockdep_assert_held()-style checks, and that counts its
/// wait and hold times when asked (Options::lock_stats).
class CoreLock {
 public:
  void lock() {
    if (!counting_) {
      m_.lock();
      owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
      return;
    }
    Time t0 = mono_now();
    m_.lock();
    Time t1 = mono_now();
    stats_.wait_ns += static_cast<std::uint64_t>(t1 - t0);
    acquired_at(t1);
  }
  void unlock() {
    releasing();
    m_.unlock();
  }
  /// A condition variable waits on the mutex itself: say when it lets go and takes it back.
  void releasing() {
    if (counting_) stats_.hold_ns += static_cast<std::uint64_t>(mono_now() - held_since_);
    owner_.store(std::thread::id(), std::memory_order_relaxed);
  }
  void acquired() {
    if (counting_) acquired_at(mono_now());
    else owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
  }
  std::mutex& native() { return m_; }
  bool held() const { return owner_.load(std::memory_order_relaxed) == std::this_thread::get_id(); }
  /// lockdep_assert_held(): a driver callback or a "called with the lock held" path without it is
  /// a bug in the runtime, not in the program using it.
  void assert_held(const char* where) const {
    if (held()) return;
    std::fprintf(stderr, "cmwq: %s called without the core lock held\n", where);
    std::abort();
  }
  // Guarded by the lock itself.
  void set_counting(bool on) { counting_ = on; }
  LockStats stats() const { return stats_; }
  void reset() { stats_ = {}; }

 private:
  void acquired_at(Time t) {
    owner_.store(std::this_thread::get_id(), std::memory_order_relaxed);
    held_since_ = t;
    ++stats_.acquisitions;
  }
  std::mutex m_;
  std::atomic<std::thread::id> owner_{};  // the holder, for assert_held(); written by the holder
  bool counting_ = false;                 // the rest: guarded by m_
  Time held_since_ = 0;
  LockStats stats_;
};
using Guard = std::unique_lock<CoreLock>;

/// The system workqueues, in workqueue_init_early()'s order.
enum class SystemIndex {
  Wq, PercpuWq, HighpriWq, LongWq, UnboundWq, DflWq, FreezableWq, PowerEfficientWq, FreezablePowerEfficientWq,
  BhWq, BhHighpriWq, Count
};

class Runtime final : public Driver {
 public:
  explicit Runtime(Options opt)
      : opt_(std::move(opt)),
        recorder_(static_cast<std::uint32_t>(::getpid()), next_system(), possible_cpus(opt_), opt_.watchdog_thresh.count()) {
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
    mu_.set_counting(opt_.lock_stats);
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
    if (!sink && tracers == 0) {
      core_->set_tracing(false);
      return;
    }
    bool settled = tracers > 0 && now - newest_tracer_ >= kAttachGrace;
    if (!sink && !settled) return;  // a tracer is attaching: wait for it
    bool stale = settled && stream_started_ < newest_tracer_;
    if (core_->tracing() && !stale) return;
    cut_batch();  // what the old stream still holds goes to its readers
    core_->set_tracing(true);
    stream_started_ = now;
    recorder_.restart(now);
    core_->announce_state(now);
    recorder_.announced(now);
  }

  /// The time of a queue_work(). Untraced, it only stamps an empty worklist's watchdog, which
  /// measures seconds: the coarse clock costs a tenth of the precise one. Called with mu_.
  Time queue_now() const { return core_->tracing() ? mono_now() : coarse_now(); }

  /// The hot path's look at the probe: one load and a predicted branch; the timer thread does the rest.
  void notice_tracers() {
    if (__builtin_expect(probes::tracers() != tracers_, 0)) check_tracing();
  }

  /// Moves the pending records to the hand-over queue (bounded: beyond it records are dropped
  /// and counted; readers see the gap in seq). Called with mu_ held.
  void cut_batch() {
    mu_.assert_held("cut_batch");
    if (!recorder_.pending_bytes()) return;
    Batch b;
    b.stream = recorder_.stream_id();
    b.bytes = recorder_.take(&b.count);
    if (ready_.size() >= kMaxReadyBatches) {
      lost_ += ready_.front().count;
      ready_.pop_front();
    }
    ready_.push_back(std::move(b));
  }

  /// Hands batches to the probe and the in-process sink, outside the lock.
  void deliver(Guard& lk) {
    while (!ready_.empty()) {
      Batch b = std::move(ready_.front());
      ready_.pop_front();
      lk.unlock();
      probes::batch(b.bytes.data(), b.bytes.size(), b.count, b.stream);
      if (opt_.on_events) opt_.on_events(b.bytes, b.count);
      lk.lock();
    }
  }
  std::uint64_t lost() const { return lost_; }

  ~Runtime() override {
    Guard lk(mu_);
    for (auto& wq : core_->workqueues())
      if (!(wq->flags & __WQ_DESTROYING)) destroy(lk, *wq);
    core_->stop_all_workers(mono_now());
    stopping_ = true;
    timer_cv_.notify_all();
    lk.unlock();
    timer_.join();
    lk.lock();
    cut_batch();
    deliver(lk);
    lk.unlock();
    // Every worker sees DIE or stopping on its next step; join them all.
    for (;;) {
      lk.lock();
      for (auto& t : threads_) {
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

  // --- Driver: called with mu_ held ---
  void wake(Worker& w) override {
    mu_.assert_held("Driver::wake");
    auto& t = *static_cast<Thread*>(w.driver);
    if (t.woken) return;  // woken and not yet back under mu_: kick_pool() on every queue needs no more
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
    mu_.assert_held("Driver::complete");
    waiters_cv_.notify_all();
  }
  void message(std::string_view line) override {
    mu_.assert_held("Driver::message");
    opt_.log(line);
  }
  void emit(const Event& e) override {
    mu_.assert_held("Driver::emit");
    recorder_.record(e, static_cast<std::uint32_t>(gettid_()));
    if (recorder_.pending_bytes() + sizeof(cmwq_ev_name) + sizeof(cmwq_ev_state) > CMWQ_BATCH_MAX) {
      cut_batch();
      timer_cv_.notify_one();
    }
  }
  void timers_changed() override { timer_cv_.notify_one(); }

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
    cv_wait(waiters_cv_, lk, [&] { return waiter.done; });
    if (w) worker_woke(*w);
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

  /// Waits on `cv` (for `pred`, or for one wake-up) with the core lock held through `lk`.
  template <class Cv, class Pred>
  void cv_wait(Cv& cv, Guard& lk, Pred pred,
               std::chrono::steady_clock::time_point until = std::chrono::steady_clock::time_point::max(),
               bool one_wake = false) {
    mu_.releasing();
    std::unique_lock<std::mutex> native(mu_.native(), std::adopt_lock);
    if (one_wake) cv.wait_until(native, until);
    else if (until == std::chrono::steady_clock::time_point::max()) cv.wait(native, pred);
    else cv.wait_until(native, until, pred);
    native.release();
    mu_.acquired();
    (void)lk;
  }

  LockStats lock_stats() const { return mu_.stats(); }
  void reset_lock_stats() { mu_.reset(); }

  static Runtime* of_current_thread() { return current.rt; }
  static Worker* current_worker() { return current.worker; }

 private:
  struct Thread {
    std::thread th;
    std::condition_variable cv;
    Worker* worker = nullptr;
    bool woken = false;
    clockid_t clock{};
    // An item's CPU time, without a syscall on the hot path: it runs in segments between
    // blocking points. A segment the timer thread never saw (shorter than its tick) counts its
    // wall time; for a longer one the timer has sampled the thread's CPU clock, so the segment
    // counts real CPU time after that sample (plus at most one tick of wall time before it),
    // which preemption does not inflate. Hog detection counts only CPU after the sample, so a
    // short item that a busy machine preempted is never taken for a hog.
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
    Guard lk(mu_);
    pthread_setname_np(pthread_self(), w.name().substr(0, 15).c_str());
    Time item_cpu = 0;
    // One clock read per item (a read costs ~70 ns in this VM): the end of an item is the
    // moment the core hands out the next one, and that one's segment starts then too.
    Time now = mono_now();
    for (;;) {
      Step step = core_->worker_next(w, now, item_cpu);
      item_cpu = 0;
      switch (step.kind) {
        case Step::Run: {
          Work& work = *step.work;
          t.item_cpu = 0;
          t.begin_segment(now);
          lk.unlock();
          run(work);
          lk.lock();
          now = mono_now();
          t.end_segment(now);
          item_cpu = t.item_cpu;
          break;
        }
        case Step::Idle:
          w.last_cpu = virtual_cpu_now();
          cv_wait(t.cv, lk, [&] { return t.woken; });
          t.woken = false;
          now = mono_now();
          break;
        case Step::Cooldown:
          cv_wait(t.cv, lk, [&] { return stopping_ || mono_now() >= step.until; },
                  std::chrono::steady_clock::time_point(std::chrono::nanoseconds(step.until)));
          now = mono_now();
          break;
        case Step::Die:
          current = {};
          return;
      }
    }
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
      if (core_->tracing()) cut_batch();
      deliver(lk);
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
      auto tp = until == kNever ? std::chrono::steady_clock::time_point::max()
                                : std::chrono::steady_clock::time_point(std::chrono::nanoseconds(until));
      cv_wait(timer_cv_, lk, [] { return true; }, tp, /*one_wake=*/true);
    }
  }

  struct Batch {
    std::vector<std::byte> bytes;
    std::uint64_t count = 0;
    std::uint64_t stream = 0;  // CMWQ_STREAM_ID of the session that wrote it
  };
  static constexpr std::size_t kMaxReadyBatches = 256;

  Options opt_;
  Recorder recorder_;
  std::deque<Batch> ready_;
  std::uint64_t lost_ = 0;
  mutable CoreLock mu_;
  std::condition_variable waiters_cv_;
  std::condition_variable timer_cv_;
  std::list<Thread> threads_;  // stable addresses: workers point at their Thread
  std::array<Workqueue*, static_cast<std::size_t>(SystemIndex::Count)> system_{};
  std::thread timer_;
  bool stopping_ = false;
  static constexpr Time kAttachGrace = 100 * kMsec;
  unsigned tracers_ = 0;       // the semaphore's count (attached tracers) when last looked at
  Time newest_tracer_ = 0;     // when that count last rose
  Time stream_started_ = 0;
  std::unique_ptr<Core> core_;
};

// --- System: each call takes the lock and forwards to the core ---

System::System(Options opt) : rt_(std::make_unique<Runtime>(std::move(opt))) {}
System::~System() = default;

namespace {
Time ns(std::chrono::nanoseconds d) { return d.count(); }
}  // namespace

Workqueue* System::alloc_workqueue(std::string_view name, unsigned flags, int max_active) {
  auto lk = rt_->lock();
  return rt_->core().alloc_workqueue(name, flags, max_active, mono_now());
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
  {
    auto lk = rt->lock();
    rt->worker_blocks(*w);
  }
  struct Woke {
    Runtime* rt;
    Worker* w;
    ~Woke() {
      auto lk = rt->lock();
      rt->worker_woke(*w);
    }
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
