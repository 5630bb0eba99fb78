// The real-thread runtime. Every check is a fact about ordering or counts,
// never a measured duration: a wait that would deadlock without the feature
// under test proves the feature (with a generous timeout instead of a hang).
#include <cmwq/cmwq.h>

#include <gtest/gtest.h>

#include <atomic>
#include <deque>
#include <latch>
#include <mutex>
#include <random>
#include <thread>

#include <grp.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

using namespace std::chrono_literals;

namespace cmwq {
namespace {

Options opts(int cpus, std::vector<std::string>* log = nullptr, std::mutex* mu = nullptr) {
  Options o;
  o.cpus = cpus;
  if (log)
    o.log = [log, mu](std::string_view line) {
      std::lock_guard lk(*mu);
      log->emplace_back(line);
    };
  else
    o.log = [](std::string_view) {};
  return o;
}

TEST(ConcurrencyManagement, ABlockedItemLetsTheNextOneStart) {
  System sys(opts(1));
  Workqueue* wq = sys.alloc_workqueue("cm", 0, 0);
  Completion done;
  std::atomic<bool> ok{false};
  Work b{"b", [&](Work&) { done.complete(); }};
  // a queues b while it runs (so b waits: a counts in nr_running), then waits for b. On one CPU,
  // b can only run if the pool starts it because a sleeps: a concurrency-management wakeup.
  Work a{"a", [&](Work&) {
           sys.queue_work_on(0, wq, b);
           ok = done.wait_for(20s);
         }};
  sys.queue_work_on(0, wq, a);
  sys.flush_work(a);
  EXPECT_TRUE(ok);
  std::uint64_t cm_wakeups = 0;
  sys.inspect([&](const Core&) { cm_wakeups = wq->pwqs[0]->stats.cm_wakeup; });
  EXPECT_GE(cm_wakeups, 1u);
}

TEST(ConcurrencyManagement, ACpuBoundItemHoldsBackTheNextOne) {
  Options o = opts(1);
  o.cpu_intensive_thresh = 1h;  // no automatic marking in this test
  System sys(o);
  Workqueue* wq = sys.alloc_workqueue("cm", 0, 0);
  std::atomic<bool> b_started{false}, b_started_during_a{false};
  Work a{"a", [&](Work&) {
           auto end = std::chrono::steady_clock::now() + 300ms;
           while (std::chrono::steady_clock::now() < end) b_started_during_a = b_started_during_a || b_started;
         }};
  Work b{"b", [&](Work&) { b_started = true; }};
  sys.queue_work_on(0, wq, a);
  sys.queue_work_on(0, wq, b);
  sys.flush_workqueue(wq);
  EXPECT_TRUE(b_started);
  EXPECT_FALSE(b_started_during_a);
}

TEST(ConcurrencyManagement, AHogIsMarkedCpuIntensiveAndNoLongerHoldsTheCpu) {
  std::vector<std::string> log;
  std::mutex mu;
  System sys(opts(1, &log, &mu));
  Workqueue* wq = sys.alloc_workqueue("cm", 0, 0);
  std::atomic<bool> b_started{false};
  bool seen = false;
  Work a{"hog", [&](Work&) {
           auto end = std::chrono::steady_clock::now() + 20s;
           while (!b_started && std::chrono::steady_clock::now() < end) {
           }
           seen = b_started;
         }};
  Work b{"b", [&](Work&) { b_started = true; }};
  sys.queue_work_on(0, wq, a);
  sys.queue_work_on(0, wq, b);
  sys.flush_workqueue(wq);
  EXPECT_TRUE(seen);
  std::uint64_t hogs = 0;
  sys.inspect([&](const Core&) { hogs = wq->pwqs[0]->stats.cpu_intensive; });
  EXPECT_EQ(hogs, 1u);
}

TEST(Unbound, ItemsRunConcurrentlyWithoutConcurrencyManagement) {
  System sys(opts(1));
  Workqueue* wq = sys.alloc_workqueue("u", WQ_UNBOUND, 0);
  std::latch all(4);
  std::vector<std::unique_ptr<Work>> ws;
  std::atomic<int> met{0};
  for (int i = 0; i < 4; ++i) {
    // A plain wait the pool is not told about: only an unbound pool starts the others anyway.
    ws.push_back(std::make_unique<Work>("meet", [&](Work&) {
      all.arrive_and_wait();
      ++met;
    }));
    sys.queue_work(wq, *ws.back());
  }
  sys.flush_workqueue(wq);
  EXPECT_EQ(met, 4);
}

TEST(Ordered, OneAtATimeInQueueingOrder) {
  System sys(opts(2));
  Workqueue* wq = sys.alloc_ordered_workqueue("ord");
  std::vector<int> order;
  std::atomic<int> running{0}, max_running{0};
  std::vector<std::unique_ptr<Work>> ws;
  for (int i = 0; i < 200; ++i) {
    ws.push_back(std::make_unique<Work>("step", [&, i](Work&) {
      int r = ++running;
      max_running = std::max(max_running.load(), r);
      if (i % 50 == 0) sleep_for(1ms);
      order.push_back(i);
      --running;
    }));
    sys.queue_work(wq, *ws.back());
  }
  sys.flush_workqueue(wq);
  EXPECT_EQ(max_running, 1);
  ASSERT_EQ(order.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(order[i], i);
}

TEST(Flush, FlushCancelAndDelayedWork) {
  System sys(opts(2));
  Workqueue* wq = sys.alloc_workqueue("f", 0, 0);
  std::atomic<int> runs{0};
  Completion started, release;
  Work slow{"slow", [&](Work&) {
              started.complete();
              release.wait();
              ++runs;
            }};
  sys.queue_work(wq, slow);
  started.wait();
  EXPECT_TRUE(sys.work_busy(slow));
  std::thread releaser([&] {
    std::this_thread::sleep_for(50ms);
    release.complete();
  });
  EXPECT_FALSE(sys.cancel_work_sync(slow));  // running, not pending: waits for it to finish
  EXPECT_EQ(runs, 1);
  releaser.join();
  EXPECT_FALSE(sys.flush_work(slow));  // idle: nothing to wait for

  DelayedWork d{"delayed", [&](Work&) { ++runs; }};
  auto t0 = std::chrono::steady_clock::now();
  sys.queue_delayed_work(wq, d, 60s);
  EXPECT_TRUE(sys.work_pending(d.work));
  sys.flush_delayed_work(d);  // cuts the timer short: queued now and waited for
  EXPECT_LT(std::chrono::steady_clock::now() - t0, 30s);
  EXPECT_EQ(runs, 2);
  sys.queue_delayed_work(wq, d, 10s);
  EXPECT_TRUE(sys.cancel_delayed_work_sync(d));
  EXPECT_FALSE(sys.work_pending(d.work));
  sys.queue_delayed_work(wq, d, 20ms);
  while (sys.work_pending(d.work)) std::this_thread::sleep_for(5ms);
  sys.flush_work(d.work);
  EXPECT_EQ(runs, 3);
}

TEST(Destroy, DrainsChainedWorkThenRefusesMore) {
  System sys(opts(2));
  Workqueue* wq = sys.alloc_workqueue("d", 0, 0);
  std::atomic<int> runs{0};
  Work w{"chain", [&](Work& self) {
           if (++runs < 100) sys.queue_work(wq, self);  // requeues itself: allowed while draining
         }};
  sys.queue_work(wq, w);
  sys.destroy_workqueue(wq);
  EXPECT_EQ(runs, 100);
  EXPECT_THROW(sys.queue_work(wq, w), Error);
}

TEST(Rescuer, RunsWorkWhenWorkersCannotBeCreated) {
  System sys(opts(1));
  Workqueue* wq = sys.alloc_workqueue("reclaimer", WQ_MEM_RECLAIM, 0);
  Workqueue* plain = sys.alloc_workqueue("plain", 0, 0);
  Completion block;
  // Occupy the only worker and make creation fail: the pool can only progress through the rescuer.
  Work hog{"hog", [&](Work&) { block.wait(); }};
  sys.fail_worker_creation(1h);
  sys.queue_work_on(0, plain, hog);
  std::string who;
  Work w{"needs_rescue", [&](Work&) { who = current_worker_name(); }};
  sys.queue_work_on(0, wq, w);
  sys.flush_work(w);
  EXPECT_EQ(who, "reclaimer");
  sys.fail_worker_creation(0ns);
  block.complete();
  sys.flush_work(hog);
  std::uint64_t rescued = 0;
  sys.inspect([&](const Core&) { rescued = wq->pwqs[0]->stats.rescued; });
  EXPECT_EQ(rescued, 1u);
}

// A rescuer whose thread cannot start (the thread limit reached): alloc_workqueue throws, the workqueue is
// nowhere, and the System goes on and shuts down without touching what the failed start left (under ASan,
// a Thread freed by the failed spawn and written by ~Runtime aborted the child). In a child process: it
// lowers its own thread limit, as a user other than root (root is exempt).
TEST(Rescuer, AThreadThatCannotStartLeavesNoWorkqueueBehind) {
  pid_t child = fork();
  ASSERT_GE(child, 0);
  if (child == 0) {
    if (geteuid() == 0 && (setgroups(0, nullptr) != 0 || setresgid(65534, 65534, 65534) != 0 ||
                           setresuid(65534, 65534, 65534) != 0))
      _exit(3);
    int status = 0;
    {
      System sys(opts(1));
      rlimit old{};
      getrlimit(RLIMIT_NPROC, &old);
      rlimit none = old;
      none.rlim_cur = 0;
      setrlimit(RLIMIT_NPROC, &none);
      try {
        sys.alloc_workqueue("reclaimer", WQ_MEM_RECLAIM, 0);
        status = 4;  // it should have thrown
      } catch (const Error&) {
      }
      setrlimit(RLIMIT_NPROC, &old);
      for (auto& line : sys.wq_monitor())
        if (line.find("reclaimer") != std::string::npos) status = 5;
      Workqueue* wq = sys.alloc_workqueue("after", WQ_MEM_RECLAIM, 0);
      std::atomic<bool> ran{false};
      Work w{"after_fn", [&](Work&) { ran = true; }};
      sys.queue_work(wq, w);
      sys.flush_work(w);
      if (!ran) status = 6;
    }
    _exit(status);  // not exit(): the sanitizers' checks at exit belong to the parent
  }
  int status = 0;
  ASSERT_EQ(waitpid(child, &status, 0), child);
  ASSERT_TRUE(WIFEXITED(status)) << "the child died of signal " << WTERMSIG(status);
  EXPECT_EQ(WEXITSTATUS(status), 0) << "3: no switch to nobody, 4: no throw, 5: listed, 6: the System is broken";
}

TEST(Watchdog, ReportsAStuckPoolInTheKernelsWords) {
  std::vector<std::string> log;
  std::mutex mu;
  Options o = opts(2, &log, &mu);
  o.online = {1};
  o.watchdog_thresh = 50ms;
  System sys(o);
  Workqueue* wq = sys.alloc_workqueue("stuckq", 0, 0);
  Work w{"never_runs"};
  sys.queue_work_on(0, wq, w);  // CPU 0 never came online: no workers
  for (int i = 0; i < 400; ++i) {
    std::this_thread::sleep_for(10ms);
    std::lock_guard lk(mu);
    if (log.size() >= 4) break;
  }
  sys.cancel_work(w);
  std::lock_guard lk(mu);  // the log callback runs under the pool's lock: never call the System holding mu
  ASSERT_GE(log.size(), 4u);
  EXPECT_EQ(log[0].rfind("BUG: workqueue lockup - pool cpus=0 node=0 flags=0x4 nice=0 stuck for ", 0), 0u) << log[0];
  EXPECT_EQ(log[1], "Showing busy workqueues and worker pools:");
  EXPECT_EQ(log[2], "workqueue stuckq: flags=0x0");
  EXPECT_EQ(log[4], "    pending: never_runs");
}

TEST(Hotplug, WorkersKeepRunningUnboundWhileTheirCpuIsOffline) {
  System sys(opts(2));
  Workqueue* wq = sys.alloc_workqueue("hp", 0, 0);
  std::atomic<int> runs{0};
  Work w{"w", [&](Work&) { ++runs; }};
  sys.queue_work_on(1, wq, w);
  sys.flush_work(w);
  sys.cpu_offline(1);
  sys.queue_work_on(1, wq, w);  // the disassociated pool still has its workers
  sys.flush_work(w);
  sys.cpu_online(1);
  sys.queue_work_on(1, wq, w);
  sys.flush_work(w);
  EXPECT_EQ(runs, 3);
}

TEST(Freeze, FreezableWorkWaitsForThaw) {
  System sys(opts(1));
  Workqueue* wq = sys.alloc_workqueue("fz", WQ_FREEZABLE, 0);
  std::atomic<int> runs{0};
  Work w{"w", [&](Work&) { ++runs; }};
  sys.freeze();
  sys.queue_work(wq, w);
  std::this_thread::sleep_for(50ms);
  EXPECT_EQ(runs, 0);
  EXPECT_FALSE(sys.freeze_busy());
  sys.thaw();
  sys.flush_work(w);
  EXPECT_EQ(runs, 1);
}

TEST(Robustness, AThrowingItemIsLoggedAndThePoolGoesOn) {
  std::vector<std::string> log;
  std::mutex mu;
  System sys(opts(1, &log, &mu));
  Work bad{"bad_fn", [](Work&) { throw std::runtime_error("boom"); }};
  Work good{"good_fn", [](Work&) {}};
  sys.schedule_work(bad);
  sys.flush_work(bad);
  sys.schedule_work(good);
  EXPECT_TRUE(sys.flush_work(good) || true);
  std::lock_guard lk(mu);
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log[0], "workqueue: bad_fn threw: boom");
}

// Many workqueues with random flags, random queue/cancel/flush from many
// threads. Every successful queue ends in exactly one run or one cancel.
void stress(const Options& o, const std::vector<unsigned>& flag_choices) {
  System sys(o);
  std::mt19937 seed_rng(12345);
  std::vector<Workqueue*> wqs;
  for (std::size_t i = 0; i < flag_choices.size(); ++i) {
    int max_active = (flag_choices[i] & WQ_BH) ? 0 : 1 + (static_cast<int>(i) * 37) % 20;
    wqs.push_back(sys.alloc_workqueue("wq" + std::to_string(i), flag_choices[i], max_active));
  }
  wqs.push_back(sys.alloc_ordered_workqueue("ord"));
  std::atomic<long> runs{0}, queued{0}, cancelled{0};
  constexpr int kWorks = 64;
  std::vector<std::unique_ptr<Work>> works;
  for (int i = 0; i < kWorks; ++i)
    works.push_back(std::make_unique<Work>("stress_fn", [&, i](Work&) {
      ++runs;
      if (i % 7 == 0) sleep_for(std::chrono::microseconds(50 * (i % 5)));
    }));
  auto worker = [&](unsigned seed) {
    std::mt19937 rng(seed);
    for (int op = 0; op < 3000; ++op) {
      Work& w = *works[rng() % kWorks];
      Workqueue* wq = wqs[rng() % wqs.size()];
      switch (rng() % 8) {
        case 0: case 1: case 2:
          if (sys.queue_work(wq, w)) ++queued;
          break;
        case 3:
          if (sys.queue_work_on(static_cast<int>(rng() % 4), wq, w)) ++queued;
          break;
        case 4:
          if (sys.cancel_work(w)) ++cancelled;
          break;
        case 5:
          if (sys.cancel_work_sync(w)) ++cancelled;
          break;
        case 6: sys.flush_work(w); break;
        case 7: if (op % 50 == 0) sys.flush_workqueue(wq); break;
      }
    }
  };
  std::vector<std::thread> threads;
  for (unsigned t = 0; t < 4; ++t) threads.emplace_back(worker, seed_rng());
  for (auto& t : threads) t.join();
  for (Workqueue* wq : wqs) sys.drain_workqueue(wq);
  EXPECT_EQ(runs + cancelled, queued);
  EXPECT_GT(runs, 1000);
}

TEST(Stress, RandomOperationsKeepEveryItemAccountedFor) {
  stress(opts(4), {0, WQ_UNBOUND, WQ_HIGHPRI, WQ_CPU_INTENSIVE, WQ_MEM_RECLAIM, WQ_FREEZABLE,
                   WQ_UNBOUND | WQ_MEM_RECLAIM, WQ_HIGHPRI | WQ_CPU_INTENSIVE});
}

TEST(Stress, TodaysKernelToo) {
  // 7.0: BH workqueues (their sleeping items throw, and still count as run), and unbound ones with
  // pods on two nodes and per-node max_active.
  Options o = opts(4);
  o.kernel = Kernel::V7_0;
  o.topology.node = {0, 0, 1, 1};
  o.topology.core = {0, 0, 1, 1};
  stress(o, {0, WQ_UNBOUND, WQ_BH, WQ_BH | WQ_HIGHPRI, WQ_UNBOUND | WQ_MEM_RECLAIM, WQ_PERCPU | WQ_FREEZABLE,
             WQ_UNBOUND | WQ_HIGHPRI});
}

TEST(Stress, TracedToo) {
  // The recorder under every pool's lock at once: records keep one seq per System.
  Options o = opts(4);
  std::atomic<std::uint64_t> records{0};
  o.on_events = [&](std::span<const std::byte>, std::uint64_t count) { records += count; };
  o.event_flush_period = std::chrono::milliseconds(1);
  stress(o, {0, WQ_UNBOUND, WQ_HIGHPRI, WQ_MEM_RECLAIM});
  EXPECT_GT(records.load(), 1000u);
}

TEST(Today, SystemWorkqueuesOfTheKernelEra) {
  {
    System seeds(opts(2));
    EXPECT_EQ(seeds.system_percpu_wq(), seeds.system_wq());
    EXPECT_EQ(seeds.system_dfl_wq(), seeds.system_unbound_wq());
    EXPECT_EQ(seeds.system_bh_wq(), nullptr);
    EXPECT_EQ(seeds.system_freezable_power_efficient_wq(), nullptr);
  }
  Options o = opts(2);
  o.kernel = Kernel::V7_0;
  System today(o);
  EXPECT_NE(today.system_percpu_wq(), today.system_wq());
  EXPECT_EQ(today.system_percpu_wq()->name, "events");
  EXPECT_EQ(today.system_percpu_wq()->flags, unsigned{WQ_PERCPU});
  EXPECT_NE(today.system_dfl_wq(), today.system_unbound_wq());
  EXPECT_EQ(today.system_dfl_wq()->name, "events_unbound");
  EXPECT_EQ(today.system_bh_wq()->name, "events_bh");
  EXPECT_EQ(today.system_bh_highpri_wq()->flags, unsigned{WQ_BH | WQ_HIGHPRI | WQ_PERCPU});
  EXPECT_EQ(today.system_freezable_power_efficient_wq()->name, "events_freezable_pwr_efficient");
}

TEST(Today, BhItemsRunAndMayNotSleep) {
  std::vector<std::string> log;
  std::mutex mu;
  Options o = opts(2, &log, &mu);
  o.kernel = Kernel::V6_9;
  System sys(o);
  std::atomic<int> ran{0};
  std::string name;
  Work quick{"quick_bh", [&](Work&) {
               name = current_worker_name();
               ++ran;
             }};
  Work sleepy{"sleepy_bh", [&](Work&) {
                ++ran;
                sleep_for(1ms);  // throws: a BH item must not sleep
                ++ran;
              }};
  sys.queue_work_on(1, sys.system_bh_wq(), quick);
  sys.flush_work(quick);
  sys.queue_work_on(0, sys.system_bh_highpri_wq(), sleepy);
  sys.flush_work(sleepy);
  EXPECT_EQ(ran.load(), 2);
  EXPECT_EQ(name, "bh/1");
  std::lock_guard lk(mu);
  ASSERT_FALSE(log.empty());
  EXPECT_EQ(log.back().rfind("workqueue: sleepy_bh threw: BUG: scheduling while atomic: BH work item sleepy_bh of "
                             "workqueue events_bh_highpri",
                             0),
            0u)
      << log.back();
}

TEST(Today, AnUnboundItemRunsOnItsNodesPool) {
  Options o = opts(4);
  o.kernel = Kernel::V6_5;
  o.topology.node = {0, 0, 1, 1};
  System sys(o);
  Workqueue* wq = sys.alloc_workqueue("numa", WQ_UNBOUND, 0, AffinityScope::Numa);
  Work w{"numa_fn", [](Work&) {}};
  // The pool the item ran on (work->data's last pool), and its pod's CPUs and node.
  auto ran_on = [&](int cpu) {
    sys.queue_work_on(cpu, wq, w);
    sys.flush_work(w);
    std::pair<std::vector<int>, int> pod;
    sys.inspect([&](const Core&) { pod = {w.last_pool->pod_cpus, w.last_pool->node}; });
    return pod;
  };
  EXPECT_EQ(ran_on(2), (std::pair<std::vector<int>, int>{{2, 3}, 1}));
  EXPECT_EQ(ran_on(1), (std::pair<std::vector<int>, int>{{0, 1}, 0}));
  // sysfs: affinity_scope=system puts every CPU in one pod, spanning both nodes.
  sys.workqueue_set_affinity(wq, AffinityScope::System);
  EXPECT_EQ(ran_on(3), (std::pair<std::vector<int>, int>{{0, 1, 2, 3}, NUMA_NO_NODE}));
  EXPECT_THROW(sys.workqueue_set_affinity(sys.system_wq(), AffinityScope::Numa), Error);  // per-CPU
}

TEST(CoreLock, CountsItsAcquisitionsWaitsAndHolds) {
  Options o = opts(2);
  o.lock_stats = true;
  System sys(o);
  Workqueue* wq = sys.alloc_workqueue("counted", 0, 0);
  sys.reset_lock_stats();
  std::deque<Work> works;
  for (int i = 0; i < 100; ++i) sys.queue_work_on(1, wq, works.emplace_back("w", [](Work&) {}));
  sys.flush_workqueue(wq);
  LockStats s = sys.lock_stats();
  EXPECT_GE(s.acquisitions, 100u);  // a queue_work_on() takes two, a worker per item at least two
  EXPECT_GT(s.hold_ns, 0u);
  System quiet(opts(1));  // not asked: nothing counted
  EXPECT_EQ(quiet.lock_stats().acquisitions, 0u);
}

TEST(CoreLock, QueueingAndRunningTakeOnlyTheirPoolsLock) {
  // Two producers on two CPUs' bound workqueues, as lock_bench runs them: the items are queued and
  // run under pool->lock; the exclusive lock is left to creating workers, the timer and the flush.
  Options o = opts(2);
  o.lock_stats = true;
  o.cpu_intensive_thresh = std::chrono::seconds(2);  // the timer thread ticks once a second, not every 5 ms
  System sys(o);
  Workqueue* wq = sys.alloc_workqueue("split", 0, 0);
  constexpr int kItems = 500;
  std::deque<Work> works[2];
  for (auto& ring : works)
    for (int i = 0; i < kItems; ++i) ring.emplace_back("w", [](Work&) {});
  sys.reset_lock_stats();
  std::vector<std::thread> producers;
  for (int cpu = 0; cpu < 2; ++cpu)
    producers.emplace_back([&, cpu] {
      for (Work& w : works[cpu]) sys.queue_work_on(cpu, wq, w);
    });
  for (auto& t : producers) t.join();
  sys.flush_workqueue(wq);
  LockStats s = sys.lock_stats();
  EXPECT_GE(s.pool_acquisitions, 2u * 2 * kItems);  // each item: its producer's, then its worker's
  EXPECT_LT(s.exclusive_acquisitions, kItems / 5u) << "the fast paths fell back to the exclusive lock";
  EXPECT_GT(s.pool_hold_ns, 0u);
}

}  // namespace
}  // namespace cmwq
