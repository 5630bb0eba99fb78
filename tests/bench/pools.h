// The pools under comparison behind one shape, so that every workload runs the same code on
// each: in_context(f) runs f where the pool wants its submitter (TBB: inside its arena),
// submit(i) queues item i, wait() returns when all submitted items have run, threads() says how
// many threads ran items. Each waits its own way: libcmwq flush_workqueue(), TBB
// task_group::wait(); asio and thread_pool have no wait-for-all, so they count completions.
#pragma once

#include <cmwq/cmwq.h>

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <tbb/global_control.h>
#include <tbb/task_arena.h>
#include <tbb/task_group.h>
#include <thread_pool/thread_pool.hpp>

#include <atomic>
#include <functional>
#include <memory>
#include <set>
#include <vector>

namespace bench {

using Item = std::function<void(int)>;

/// Wait-for-all by counting: the submitter raises the target before each submit, so the
/// completion that reaches it is the last one and wakes the waiter (a futex, not a spin).
class Completions {
 public:
  void submitted() { target_.store(target_.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed); }
  void done() {
    if (done_.fetch_add(1, std::memory_order_acq_rel) + 1 == target_.load(std::memory_order_relaxed))
      done_.notify_one();
  }
  void wait() {
    const auto target = target_.load(std::memory_order_relaxed);
    for (auto d = done_.load(std::memory_order_acquire); d != target; d = done_.load(std::memory_order_acquire))
      done_.wait(d);
  }

 private:
  std::atomic<std::uint64_t> target_{0}, done_{0};
};

/// libcmwq: one System, one workqueue; items are preallocated work_structs, as kernel code embeds
/// them. Bound: round-robin over the CPUs' pools (one producer's queue_work() would use only its
/// own CPU). threads() is the peak number of workers of the pools serving the workqueue.
class Cmwq {
 public:
  static constexpr bool kCooperative = true;  // items block through cmwq::sleep_for
  /// `lock_stats`: count the core's lock waits and holds (lock_bench), three clock reads per acquisition.
  Cmwq(unsigned flags, int n, const Item& item, bool lock_stats = false)
      : sys_(quiet(lock_stats)), bound_(!(flags & cmwq::WQ_UNBOUND)) {
    wq_ = sys_.alloc_workqueue("bench", flags, 0);
    cpus_ = sys_.possible_cpus();
    for (int i = 0; i < n; ++i)
      works_.push_back(std::make_unique<cmwq::Work>("bench_fn", [&item, i](cmwq::Work&) { item(i); }));
  }
  template <class F>
  void in_context(F&& f) { f(); }
  void submit(int i) { sys_.queue_work_on(bound_ ? i % cpus_ : cmwq::WORK_CPU_UNBOUND, wq_, *works_[i]); }
  void wait() { sys_.flush_workqueue(wq_); }
  int threads() const {
    int n = 0;
    sys_.inspect([&](const cmwq::Core&) {
      std::set<const cmwq::Pool*> pools;
      for (auto& pwq : wq_->pwqs) pools.insert(pwq->pool);
      for (auto* p : pools) n += p->nr_workers;
    });
    return n;
  }

  cmwq::System& system() { return sys_; }

 private:
  static cmwq::Options quiet(bool lock_stats) {
    cmwq::Options o;
    o.log = [](std::string_view) {};
    o.lock_stats = lock_stats;
    return o;
  }
  cmwq::System sys_;
  bool bound_;
  cmwq::Workqueue* wq_ = nullptr;
  int cpus_ = 1;
  std::vector<std::unique_ptr<cmwq::Work>> works_;
};

/// thread_pool 4.0 (rvaser), what Debian's libthread-pool-dev ships.
class ThreadPool {
 public:
  static constexpr bool kCooperative = false;
  ThreadPool(int threads, int, const Item& item) : pool_(static_cast<std::size_t>(threads)), item_(item) {}
  template <class F>
  void in_context(F&& f) { f(); }
  void submit(int i) {
    done_.submitted();
    (void)pool_.Submit([this, i] {
      item_(i);
      done_.done();
    });
  }
  void wait() { done_.wait(); }
  int threads() const { return static_cast<int>(pool_.num_threads()); }

 private:
  thread_pool::ThreadPool pool_;
  const Item& item_;
  Completions done_;
};

class Asio {
 public:
  static constexpr bool kCooperative = false;
  Asio(int threads, int, const Item& item) : pool_(static_cast<std::size_t>(threads)), threads_(threads), item_(item) {}
  ~Asio() { pool_.join(); }
  template <class F>
  void in_context(F&& f) { f(); }
  void submit(int i) {
    done_.submitted();
    boost::asio::post(pool_, [this, i] {
      item_(i);
      done_.done();
    });
  }
  void wait() { done_.wait(); }
  int threads() const { return threads_; }

 private:
  boost::asio::thread_pool pool_;
  int threads_;
  const Item& item_;
  Completions done_;
};

/// oneTBB: a task_group in an arena of `threads` slots, one of them the submitter's, which
/// runs tasks while it waits. TBB caps its workers at the hardware's threads unless told.
class Tbb {
 public:
  static constexpr bool kCooperative = false;
  Tbb(int threads, int, const Item& item)
      : limit_(tbb::global_control::max_allowed_parallelism, static_cast<std::size_t>(threads)),
        arena_(threads),
        threads_(threads),
        item_(item) {}
  template <class F>
  void in_context(F&& f) { arena_.execute(f); }
  void submit(int i) { group_.run([this, i] { item_(i); }); }
  void wait() { group_.wait(); }
  int threads() const { return threads_; }

 private:
  tbb::global_control limit_;
  tbb::task_arena arena_;
  tbb::task_group group_;
  int threads_;
  const Item& item_;
};

}  // namespace bench
