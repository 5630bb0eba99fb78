// The pure core, stepped by hand: every input has a timestamp and every
// outcome is checked exactly. Items finish when the test says so.
#include <cmwq/core.h>
#include <cmwq/policy.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <deque>
#include <map>
#include <set>

namespace cmwq {
namespace {

class Harness : public Driver {
 public:
  explicit Harness(Config cfg = one_cpu()) { core_ = std::make_unique<Core>(cfg, *this, 0); }
  static Config one_cpu() {
    Config c;
    c.possible_cpus = 1;
    return c;
  }

  Core& core() { return *core_; }
  Time now = 0;
  std::vector<std::string> log;
  std::vector<const Work*> ran;        // in start order
  std::set<const Work*> hold;          // these stay running until release()
  std::vector<Worker*> cooling;        // managers waiting out CREATE_COOLDOWN
  bool fail_spawn = false;

  void wake(Worker& w) override { runq_.push_back(&w); }
  bool spawn(Worker& w) override {
    if (fail_spawn) return false;
    runq_.push_back(&w);
    return true;
  }
  void complete(Waiter& w) override { completed.push_back(&w); }
  void message(std::string_view line) override { log.emplace_back(line); }
  std::vector<Waiter*> completed;

  /// Lets every woken worker run until it is idle or holds an item.
  void pump() {
    while (!runq_.empty()) {
      Worker* w = runq_.front();
      runq_.pop_front();
      if (running_.count(w) || std::count(cooling.begin(), cooling.end(), w)) continue;
      step(w);
    }
  }
  void release(const Work& work) {
    auto it = std::find_if(running_.begin(), running_.end(), [&](auto& p) { return p.second == &work; });
    ASSERT_NE(it, running_.end()) << work.func << " is not running";
    Worker* w = it->first;
    running_.erase(it);
    step(w);
    pump();
  }
  void end_cooldowns() {
    auto ws = std::exchange(cooling, {});
    for (Worker* w : ws) step(w);
    pump();
  }
  void at(Time t) {
    now = t;
    core_->advance(now);
    pump();
  }
  Worker* runner_of(const Work& work) {
    for (auto& [w, x] : running_)
      if (x == &work) return w;
    return nullptr;
  }
  bool queue(Workqueue* wq, Work& w, int cpu = WORK_CPU_UNBOUND, int from = 0) {
    bool r = core_->queue_work_on(cpu, *wq, w, Caller{from, nullptr, 1}, now);
    pump();
    return r;
  }

 private:
  void step(Worker* w) {
    for (;;) {
      Step s = core_->worker_next(*w, now);
      if (s.kind == Step::Run) {
        ran.push_back(s.work);
        if (hold.count(s.work)) {
          running_[w] = s.work;
          return;
        }
        continue;
      }
      if (s.kind == Step::Cooldown) cooling.push_back(w);
      return;
    }
  }
  std::deque<Worker*> runq_;
  std::map<Worker*, const Work*> running_;
  std::unique_ptr<Core> core_;  // last: it calls back into the members above while constructed
};

// --- the policy predicates ---

TEST(Policy, PredicatesFollowTheKernel) {
  Pool pool;
  Work w{"f"};
  EXPECT_FALSE(need_more_worker(pool));  // nothing pending
  pool.worklist.push_back(&w);
  EXPECT_TRUE(need_more_worker(pool));
  EXPECT_TRUE(need_to_create_worker(pool));  // no idle worker to take it
  pool.nr_idle = 1;
  EXPECT_TRUE(may_start_working(pool));
  EXPECT_FALSE(need_to_create_worker(pool));
  pool.nr_running = 1;
  EXPECT_FALSE(need_more_worker(pool));
  EXPECT_TRUE(keep_working(pool));   // the only running worker keeps going
  pool.nr_running = 2;
  EXPECT_FALSE(keep_working(pool));
  pool.worklist.remove(&w);

  pool.nr_workers = 4, pool.nr_idle = 2;
  EXPECT_FALSE(too_many_workers(pool));  // two idle are always kept
  pool.nr_workers = 7, pool.nr_idle = 3;
  EXPECT_TRUE(too_many_workers(pool));   // (3-2)*4 >= 4 busy
  pool.nr_workers = 8;
  EXPECT_FALSE(too_many_workers(pool));  // 5 busy
  pool.flags |= POOL_MANAGER_ACTIVE;     // the manager counts as idle
  EXPECT_TRUE(too_many_workers(pool));
}

// --- workqueues and pools ---

TEST(Workqueue, MaxActiveDefaultsClampsAndWarnsLikeTheKernel) {
  Harness h;
  EXPECT_EQ(h.core().alloc_workqueue("a", 0, 0, 0)->saved_max_active, WQ_DFL_ACTIVE);
  EXPECT_EQ(h.core().alloc_workqueue("b", 0, 9999, 0)->saved_max_active, WQ_MAX_ACTIVE);
  EXPECT_EQ(h.core().alloc_workqueue("c", 0, -3, 0)->saved_max_active, 1);
  ASSERT_EQ(h.log.size(), 2u);
  EXPECT_EQ(h.log[0], "workqueue: max_active 9999 requested for b is out of range, clamping between 1 and 512");
  EXPECT_EQ(h.log[1], "workqueue: max_active -3 requested for c is out of range, clamping between 1 and 512");
  Workqueue* o = h.core().alloc_ordered_workqueue("ord", 0, 0);
  EXPECT_EQ(o->flags, WQ_UNBOUND | __WQ_ORDERED);
  EXPECT_EQ(o->saved_max_active, 1);
  EXPECT_THROW(h.core().set_max_active(*o, 4, 0), Error);
}

TEST(Workqueue, BadInputIsAClearError) {
  Harness h;
  try {
    h.core().alloc_workqueue("x", 0x400000, 0, 0);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "alloc_workqueue(\"x\"): unknown flags 0x400000; valid flags are 0x601ff");
  }
  EXPECT_THROW(h.core().alloc_workqueue("", 0, 0, 0), Error);
  EXPECT_THROW(h.core().alloc_workqueue("x", WQ_UNBOUND | WQ_PERCPU, 0, 0), Error);
  Workqueue* wq = h.core().alloc_workqueue("q", 0, 0, 0);
  Work w{"f"};
  try {
    h.queue(wq, w, 5);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "queue_work_on(q): CPU 5 is not a possible CPU (0-0); use WORK_CPU_UNBOUND or a possible CPU");
  }
  EXPECT_FALSE(w.pending);  // a refused queue leaves the work untouched
  h.core().destroy_begin(*wq, 0);
  h.core().destroy_finish(*wq, 0);
  try {
    h.queue(wq, w);
    FAIL();
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "queue_work: workqueue \"q\" was destroyed; allocate a new one");
  }
  std::string longname(40, 'n');
  EXPECT_EQ(h.core().alloc_workqueue(longname, 0, 0, 0)->name.size(), 31u);
  EXPECT_EQ(h.log.back(), "workqueue: name exceeds WQ_NAME_LEN. Truncating to: " + std::string(31, 'n'));
}

TEST(Pools, IdsAndIdentityAsTheKernelPrintsThem) {
  Config cfg;
  cfg.possible_cpus = 4;
  cfg.online_cpus = {1, 2, 3};
  Harness h(cfg);
  h.pump();
  const auto& pools = h.core().pools();
  ASSERT_EQ(pools.size(), 8u);
  EXPECT_EQ(Core::pool_info(*pools[0]), " cpus=0 node=0 flags=0x4 nice=0");  // possible, never online
  EXPECT_EQ(pools[0]->nr_workers, 0);
  EXPECT_EQ(Core::pool_info(*pools[3]), " cpus=1 node=0 flags=0x0 nice=-20");
  EXPECT_EQ(pools[3]->nr_workers, 1);
  EXPECT_EQ(pools[3]->workers[0]->name(), "kworker/1:0H");
  EXPECT_EQ(h.core().cpu_pool(2, false).id, 4);
  h.core().alloc_workqueue("u", WQ_UNBOUND, 0, 0);
  ASSERT_EQ(pools.size(), 9u);  // unbound pools come after the per-CPU ones
  EXPECT_EQ(pools[8]->id, 8);
  EXPECT_EQ(Core::pool_info(*pools[8]), " cpus=0-3 flags=0x4 nice=0");
  EXPECT_EQ(pools[8]->workers[0]->name(), "kworker/u8:0");
}

// --- activation, flush, cancel ---

TEST(Pwq, MaxActiveHoldsItemsOnTheInactiveList) {
  Harness h;
  Workqueue* wq = h.core().alloc_workqueue("q", 0, 2, 0);
  Work a{"a"}, b{"b"}, c{"c"};
  h.hold = {&a, &b, &c};
  h.queue(wq, a), h.queue(wq, b), h.queue(wq, c);
  Pwq& pwq = *wq->pwqs[0];
  EXPECT_EQ(pwq.nr_active, 2);
  EXPECT_EQ(pwq.inactive.front(), &c);
  EXPECT_FALSE(h.queue(wq, c));  // already pending
  auto dump = h.core().show_all_workqueues(0);
  EXPECT_EQ(dump[2], "  pwq 0: cpus=0 node=0 flags=0x0 nice=0 active=2/2 refcnt=4");
  EXPECT_EQ(dump[4], "    pending: b");  // waits: a runs and counts in nr_running
  EXPECT_EQ(dump[5], "    inactive: c");
  h.release(a);  // a done: c becomes active
  EXPECT_EQ(pwq.nr_active, 2);
  EXPECT_TRUE(pwq.inactive.empty());
  h.release(b), h.release(c);
  EXPECT_EQ(pwq.nr_active, 0);
  EXPECT_EQ(pwq.stats.completed, 3u);
}

TEST(Flush, FlushWorkqueueWaitsOnlyForWorkQueuedBeforeIt) {
  Harness h;
  Workqueue* wq = h.core().alloc_workqueue("q", 0, 0, 0);
  Work a{"a"}, b{"b"};
  h.hold = {&a, &b};
  h.queue(wq, a);
  Waiter f1;
  ASSERT_TRUE(h.core().start_flush_workqueue(*wq, f1, 0));
  h.queue(wq, b);  // next color: not covered by f1
  Waiter f2;
  ASSERT_TRUE(h.core().start_flush_workqueue(*wq, f2, 0));
  h.release(a);
  EXPECT_TRUE(f1.done);
  EXPECT_FALSE(f2.done);
  h.release(b);
  EXPECT_TRUE(f2.done);
  Waiter f3;
  EXPECT_FALSE(h.core().start_flush_workqueue(*wq, f3, 0));  // nothing in flight
}

TEST(Flush, FlushersBeyondTheColorsShareTheNextColor) {
  Harness h;
  Workqueue* wq = h.core().alloc_workqueue("q", 0, 0, 0);
  std::vector<std::unique_ptr<Work>> works;
  std::vector<std::unique_ptr<Waiter>> waiters;
  for (int i = 0; i < WORK_NR_COLORS + 3; ++i) {
    works.push_back(std::make_unique<Work>("w"));
    h.hold.insert(works.back().get());
    h.queue(wq, *works.back());
    waiters.push_back(std::make_unique<Waiter>());
    ASSERT_TRUE(h.core().start_flush_workqueue(*wq, *waiters.back(), 0));
  }
  for (std::size_t i = 0; i < works.size(); ++i) {
    h.release(*works[i]);
    for (std::size_t j = 0; j < waiters.size(); ++j) {
      // waiter j covers works[0..j]; the overflowed ones also cover what was queued while they waited
      bool covered = j <= i && (j < WORK_NR_COLORS - 1 || i == works.size() - 1);
      EXPECT_EQ(waiters[j]->done, covered) << "after work " << i << ", waiter " << j;
    }
  }
}

TEST(Flush, FlushWorkInsertsABarrierShownAsBAR) {
  Harness h;
  Workqueue* wq = h.core().alloc_workqueue("q", 0, 1, 0);
  Work a{"a"}, b{"b"};
  h.hold = {&a, &b};
  h.queue(wq, a), h.queue(wq, b);  // b inactive behind a
  Waiter fb;
  ASSERT_TRUE(h.core().start_flush_work(b, fb, Caller{0, nullptr, 77}, 0));
  auto dump = h.core().show_all_workqueues(0);
  EXPECT_EQ(dump[4], "    inactive: b BAR(77)");
  Waiter fa;
  ASSERT_TRUE(h.core().start_flush_work(a, fa, Caller{0, nullptr, 78}, 0));  // a is running
  h.release(a);
  EXPECT_TRUE(fa.done);
  EXPECT_FALSE(fb.done);
  h.release(b);
  EXPECT_TRUE(fb.done);
  Waiter idle;
  EXPECT_FALSE(h.core().start_flush_work(a, idle, Caller{}, 0));  // neither pending nor running
}

TEST(Flush, ABarrierLinkDoesNotOutliveTheRunItWasFor) {
  Harness h;
  Workqueue* wq = h.core().alloc_workqueue("q", 0, 0, 0);
  Work blocker{"blocker"}, a{"a"}, b{"b"};
  h.hold = {&blocker};
  h.queue(wq, blocker);
  h.queue(wq, a);
  Waiter fa;
  ASSERT_TRUE(h.core().start_flush_work(a, fa, Caller{}, 0));
  h.release(blocker);
  EXPECT_TRUE(fa.done);
  EXPECT_FALSE(a.linked);
  h.queue(wq, blocker);  // a again, with b behind it: b must not be taken for a's barrier
  h.queue(wq, a), h.queue(wq, b);
  h.release(blocker);
  EXPECT_EQ(h.ran, (std::vector<const Work*>{&blocker, &a, &blocker, &a, &b}));
  EXPECT_EQ(wq->pwqs[0]->nr_in_flight, 0);
}

TEST(Cancel, CancelRemovesPendingWorkAndKeepsItsBarrier) {
  Harness h;
  Workqueue* wq = h.core().alloc_workqueue("q", 0, 1, 0);
  Work a{"a"}, b{"b"}, c{"c"};
  h.hold = {&a};
  h.queue(wq, a), h.queue(wq, b), h.queue(wq, c);
  Waiter fb;
  ASSERT_TRUE(h.core().start_flush_work(b, fb, Caller{}, 0));
  EXPECT_TRUE(h.core().cancel_work(b, 0));
  EXPECT_FALSE(h.core().cancel_work(b, 0));
  EXPECT_FALSE(b.pending);
  h.release(a);
  EXPECT_TRUE(fb.done);  // the barrier still ran
  EXPECT_EQ(h.ran, (std::vector<const Work*>{&a, &c}));
  EXPECT_EQ(wq->pwqs[0]->nr_in_flight, 0);
}

TEST(DelayedWork, QueuedWhenTheTimerFiresAndModifiable) {
  Harness h;
  Workqueue* wq = h.core().alloc_workqueue("q", 0, 0, 0);
  DelayedWork d{"d"};
  ASSERT_TRUE(h.core().queue_delayed_work_on(WORK_CPU_UNBOUND, *wq, d, 50 * kMsec, Caller{}, 0));
  EXPECT_FALSE(h.core().queue_delayed_work_on(WORK_CPU_UNBOUND, *wq, d, 10 * kMsec, Caller{}, 0));
  h.at(40 * kMsec);
  EXPECT_TRUE(h.ran.empty());
  EXPECT_TRUE(h.core().mod_delayed_work_on(WORK_CPU_UNBOUND, *wq, d, 100 * kMsec, Caller{}, 40 * kMsec));
  h.at(60 * kMsec);
  EXPECT_TRUE(h.ran.empty());
  h.at(140 * kMsec);
  EXPECT_EQ(h.ran.size(), 1u);
  ASSERT_TRUE(h.core().queue_delayed_work_on(WORK_CPU_UNBOUND, *wq, d, 10 * kMsec, Caller{}, 140 * kMsec));
  EXPECT_TRUE(h.core().cancel_delayed_work(d, 145 * kMsec));
  h.at(200 * kMsec);
  EXPECT_EQ(h.ran.size(), 1u);
}

TEST(NonReentrancy, RequeuedWhileRunningWaitsBehindItselfOnThatPool) {
  Config cfg;
  cfg.possible_cpus = 2;
  Harness h(cfg);
  Workqueue* wq = h.core().alloc_workqueue("q", 0, 0, 0);
  Work a{"a"};
  h.hold = {&a};
  h.queue(wq, a, 0);
  ASSERT_NE(h.runner_of(a), nullptr);
  h.queue(wq, a, 1);  // asked for CPU 1, but a still runs on CPU 0
  EXPECT_EQ(a.pwq->pool->cpu, 0);
  Worker* first = h.runner_of(a);
  h.release(a);  // the same worker picks the second run up: it was scheduled behind itself
  EXPECT_EQ(h.runner_of(a), first);
}

TEST(Highpri, Gcwq2010PutsHighpriItemsAtTheHead) {
  Config cfg = Harness::one_cpu();
  cfg.model = Model::Gcwq2010;
  Harness h(cfg);
  Workqueue* q0 = h.core().alloc_workqueue("q0", 0, 0, 0);
  Workqueue* q1 = h.core().alloc_workqueue("q1", WQ_HIGHPRI, 0, 0);
  Work blocker{"blocker"}, n1{"n1"}, h1{"h1"}, h2{"h2"};
  h.hold = {&blocker, &n1, &h1, &h2};
  h.queue(q0, blocker);
  Pool& pool = *q0->pwqs[0]->pool;
  // blocker runs (nr_running 1); the rest waits in worklist order
  h.core().queue_work_on(WORK_CPU_UNBOUND, *q0, n1, Caller{}, 0);
  h.core().queue_work_on(WORK_CPU_UNBOUND, *q1, h1, Caller{}, 0);
  h.core().queue_work_on(WORK_CPU_UNBOUND, *q1, h2, Caller{}, 0);
  std::vector<const Work*> order;
  for (Work* w : pool.worklist) order.push_back(w);
  EXPECT_EQ(order, (std::vector<const Work*>{&h1, &h2, &n1}));
  h.pump();  // highpri items start regardless of nr_running; n1 waits
  EXPECT_EQ(h.ran, (std::vector<const Work*>{&blocker, &h1, &h2}));
}

// --- workers ---

TEST(Workqueue, ARescuerThatCannotStartLeavesNoWorkqueueBehind) {
  Harness h;
  h.fail_spawn = true;
  EXPECT_THROW(h.core().alloc_workqueue("reclaim", WQ_MEM_RECLAIM, 0, 0), Error);
  for (auto& wq : h.core().workqueues()) EXPECT_NE(wq->name, "reclaim");
  for (auto& line : h.core().show_all_workqueues(0)) EXPECT_EQ(line.find("reclaim"), std::string::npos) << line;
  h.fail_spawn = false;
  Workqueue* wq = h.core().alloc_workqueue("reclaim", WQ_MEM_RECLAIM, 0, 0);
  EXPECT_EQ(wq->id, h.core().workqueues().size());
  EXPECT_TRUE(wq->rescuer);
}

TEST(Manager, FailedCreationCoolsDownAndCallsTheRescuer) {
  Harness h;
  Workqueue* wq = h.core().alloc_workqueue("reclaim", WQ_MEM_RECLAIM, 0, 0);
  h.pump();  // the rescuer goes idle
  h.core().fail_worker_creation(0, 2 * kSec);
  Work a{"a"};
  h.hold = {&a};
  h.queue(wq, a);
  Pool& pool = *wq->pwqs[0]->pool;
  ASSERT_EQ(h.cooling.size(), 1u);  // the only worker became manager and failed to create
  EXPECT_EQ(pool.manager, h.cooling[0]);
  EXPECT_TRUE(pool.flags & POOL_MANAGER_ACTIVE);
  EXPECT_EQ(h.core().show_all_workqueues(0).back(), "pool 0: cpus=0 node=0 flags=0x2 nice=0 hung=0s workers=1 manager: 100");
  h.at(MAYDAY_INITIAL_TIMEOUT);  // mayday: the rescuer takes a
  EXPECT_EQ(h.ran, (std::vector<const Work*>{&a}));
  EXPECT_EQ(wq->pwqs[0]->stats.mayday, 1u);
  EXPECT_TRUE(h.runner_of(a)->rescue_wq);
  h.now = CREATE_COOLDOWN;  // still failing
  h.end_cooldowns();
  EXPECT_EQ(h.cooling.size(), 1u);
  h.release(a);
  h.now = 2 * CREATE_COOLDOWN;  // creation works again; nothing pending, so the manager retires
  h.end_cooldowns();
  EXPECT_TRUE(h.cooling.empty());
  EXPECT_FALSE(pool.flags & POOL_MANAGER_ACTIVE);
}

TEST(Manager, IdleWorkersBeyondTheRatioAreCulledAfterTheTimeout) {
  Harness h;
  Workqueue* wq = h.core().alloc_workqueue("q", 0, 0, 0);
  std::vector<std::unique_ptr<Work>> ws;
  for (int i = 0; i < 8; ++i) {
    ws.push_back(std::make_unique<Work>("w"));
    h.hold.insert(ws.back().get());
  }
  Pool& pool = *wq->pwqs[0]->pool;
  // Each item blocks, so concurrency management starts the next one on a new worker.
  for (auto& w : ws) {
    h.queue(wq, *w);
    h.core().worker_sleeping(*h.runner_of(*w), h.now);
    h.pump();
  }
  EXPECT_EQ(pool.nr_workers, 9);
  for (auto& w : ws) {
    h.core().worker_running(*h.runner_of(*w), h.now);
    h.release(*w);
  }
  EXPECT_EQ(pool.nr_idle, 9);
  h.at(IDLE_WORKER_TIMEOUT - 1);
  EXPECT_EQ(pool.nr_workers, 9);
  h.at(IDLE_WORKER_TIMEOUT + 1);
  EXPECT_EQ(pool.nr_workers, 2);  // too_many_workers() stops at two idle
}

// --- hotplug, freezing, the watchdog ---

TEST(Hotplug, OfflineDisassociatesAndOnlineRebinds) {
  Config cfg;
  cfg.possible_cpus = 2;
  Harness h(cfg);
  Workqueue* wq = h.core().alloc_workqueue("q", 0, 0, 0);
  Work a{"a"}, b{"b"};
  h.hold = {&a, &b};
  h.queue(wq, a, 1);
  Pool& pool = h.core().cpu_pool(1, false);
  EXPECT_EQ(pool.nr_running, 1);
  h.core().cpu_offline(1, 0);
  EXPECT_EQ(Core::pool_info(pool), " cpus=1 node=0 flags=0x4 nice=0");
  EXPECT_EQ(pool.nr_running, 0);
  EXPECT_TRUE(h.runner_of(a)->flags & WORKER_UNBOUND);
  h.queue(wq, b, 1);  // the disassociated pool still runs work: as unbound, without concurrency limits
  h.pump();
  EXPECT_NE(h.runner_of(b), nullptr);
  h.core().cpu_online(1, 0);
  h.pump();
  EXPECT_EQ(Core::pool_info(pool), " cpus=1 node=0 flags=0x0 nice=0");
  EXPECT_TRUE(h.runner_of(a)->flags & WORKER_REBOUND);
  h.release(a), h.release(b);
  EXPECT_EQ(pool.nr_running, 0);
  Work c{"c"};  // bound again: the worker that takes c counts in nr_running
  h.hold = {&c};
  h.queue(wq, c, 1);
  EXPECT_EQ(pool.nr_running, 1);
  EXPECT_FALSE(h.runner_of(c)->flags & (WORKER_UNBOUND | WORKER_REBOUND));
  h.release(c);
  EXPECT_EQ(pool.nr_running, 0);
}

TEST(Hotplug, OnliningANeverOnlinedCpuCreatesItsFirstWorker) {
  Config cfg;
  cfg.possible_cpus = 2;
  cfg.online_cpus = {0};
  Harness h(cfg);
  Workqueue* wq = h.core().alloc_workqueue("q", 0, 0, 0);
  Work a{"a"};
  h.queue(wq, a, 1);
  EXPECT_TRUE(h.ran.empty());  // stuck: no worker
  h.core().cpu_online(1, 0);
  h.pump();
  EXPECT_EQ(h.ran.size(), 1u);
}

TEST(Freeze, FreezableWorkStaysInactiveUntilThaw) {
  Harness h;
  Workqueue* fz = h.core().alloc_workqueue("fz", WQ_FREEZABLE, 0, 0);
  Workqueue* nf = h.core().alloc_workqueue("nf", 0, 0, 0);
  Work a{"a"}, b{"b"}, c{"c"};
  h.hold = {&a};
  h.queue(fz, a);
  h.core().freeze(0);
  EXPECT_TRUE(h.core().freeze_busy());  // a still runs
  h.queue(fz, b), h.queue(nf, c);
  EXPECT_EQ(fz->pwqs[0]->inactive.front(), &b);  // frozen: held back
  EXPECT_EQ(nf->pwqs[0]->nr_active, 1);           // not freezable: active, waiting for a
  h.release(a);
  EXPECT_FALSE(h.core().freeze_busy());
  EXPECT_EQ(h.ran, (std::vector<const Work*>{&a, &c}));
  h.core().thaw(0);
  h.pump();
  EXPECT_EQ(h.ran, (std::vector<const Work*>{&a, &c, &b}));
}

TEST(Watchdog, ReportsOnTheKernelsTimingAndHonoursTouch) {
  Config cfg;
  cfg.possible_cpus = 2;
  cfg.online_cpus = {1};
  cfg.watchdog_thresh = 30 * kSec;
  Harness h(cfg);
  Workqueue* wq = h.core().alloc_workqueue("q", 0, 0, 0);
  Work a{"stuck_fn"};
  h.now = 1 * kSec;
  h.queue(wq, a, 0);  // CPU 0 has no workers
  h.at(30 * kSec);
  EXPECT_TRUE(h.log.empty());  // stalled 29 s at the first check
  h.at(60 * kSec);
  ASSERT_FALSE(h.log.empty());
  EXPECT_EQ(h.log[0], "BUG: workqueue lockup - pool cpus=0 node=0 flags=0x4 nice=0 stuck for 59s!");
  EXPECT_EQ(h.log[1], "Showing busy workqueues and worker pools:");
  EXPECT_EQ(h.log[3], "  pwq 0: cpus=0 node=0 flags=0x4 nice=0 active=1/256 refcnt=2");
  EXPECT_EQ(h.log[4], "    pending: stuck_fn");
  h.log.clear();
  h.core().touch_watchdog(0, 85 * kSec);  // e.g. a long printk on CPU 0
  h.at(90 * kSec);
  EXPECT_TRUE(h.log.empty());
  h.at(120 * kSec);
  EXPECT_EQ(h.log[0], "BUG: workqueue lockup - pool cpus=0 node=0 flags=0x4 nice=0 stuck for 119s!");
  h.log.clear();
  h.core().set_watchdog_thresh(50 * kMsec, 120 * kSec);  // configurable down to milliseconds
  h.at(120 * kSec + 49 * kMsec);
  EXPECT_TRUE(h.log.empty());
  h.at(120 * kSec + 50 * kMsec);  // the first check after a reset: stalled since before it
  ASSERT_FALSE(h.log.empty());
  EXPECT_EQ(h.log.at(0), "BUG: workqueue lockup - pool cpus=0 node=0 flags=0x4 nice=0 stuck for 119s!");
  EXPECT_EQ(h.core().lockups_reported(), 3u);
  h.core().set_watchdog_thresh(0, 121 * kSec);  // 0 disables
  h.at(200 * kSec);
  EXPECT_EQ(h.core().lockups_reported(), 3u);
}

TEST(CpuIntensive, HogsAreMarkedAndReportedWithBackoff) {
  Harness h;
  Workqueue* wq = h.core().alloc_workqueue("q", 0, 0, 0);
  Work hog{"hog_fn"}, next{"next"};
  h.hold = {&hog, &next};
  int reports = 0;
  for (int i = 1; i <= 11; ++i) {
    h.queue(wq, hog);
    Worker* w = h.runner_of(hog);
    h.core().worker_tick(*w, 5 * kMsec, 0);
    EXPECT_FALSE(w->flags & WORKER_CPU_INTENSIVE);
    h.core().worker_tick(*w, 10 * kMsec, 0);
    EXPECT_TRUE(w->flags & WORKER_CPU_INTENSIVE);
    if (i == 1) {  // marked: no longer counted, so the next item starts
      h.queue(wq, next);
      EXPECT_NE(h.runner_of(next), nullptr);
      h.release(next);
    }
    h.release(hog);
    reports = static_cast<int>(h.log.size());
  }
  EXPECT_EQ(reports, 4);  // at 4, 5, 7 and 11 occurrences
  EXPECT_EQ(h.log[0], "workqueue: hog_fn hogged CPU for >10000us 4 times, consider switching to WQ_UNBOUND");
  EXPECT_EQ(h.log[3], "workqueue: hog_fn hogged CPU for >10000us 11 times, consider switching to WQ_UNBOUND");
  EXPECT_EQ(wq->pwqs[0]->stats.cpu_intensive, 11u);
}

TEST(Destroy, OnlyChainedWorkMayQueueWhileDraining) {
  Harness h;
  Workqueue* wq = h.core().alloc_workqueue("q", 0, 0, 0);
  Work a{"a"}, b{"b"};
  h.hold = {&a};
  h.queue(wq, a);
  h.core().destroy_begin(*wq, 0);
  EXPECT_THROW(h.queue(wq, b), Error);
  Worker* w = h.runner_of(a);
  EXPECT_TRUE(h.core().queue_work_on(WORK_CPU_UNBOUND, *wq, b, Caller{0, w, 0}, 0));  // chained from a
  EXPECT_THROW(h.core().destroy_finish(*wq, 0), Error);  // still busy
  h.release(a);
  EXPECT_FALSE(h.core().busy(*wq));
  h.core().destroy_finish(*wq, 0);
}

}  // namespace
}  // namespace cmwq
