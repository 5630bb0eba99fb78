// Today's cmwq (kernel 6.5 to 7.0) in the simulator: BH workqueues, affinity scopes and pods,
// per-node max_active and the 7.0 watchdog, each behind Config::kernel so that the seeds' era
// (and every golden test) stays as it was.
#include "scenario_files.h"

#include <cmwq/sim.h>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <regex>
#include <set>
#include <sstream>

namespace cmwq::sim {
namespace {

using test::scenario;

Scenario parse(const std::string& text) {
  std::istringstream in(text);
  return parse_scenario(in, "test.scn");
}

/// The log without its "[    1.000000] " stamps.
std::vector<std::string> messages(const Result& r) {
  std::vector<std::string> out;
  for (auto& line : r.log) out.push_back(line.substr(line.find("] ") + 2));
  return out;
}

std::string pids(const std::string& line) {
  std::string out = std::regex_replace(line, std::regex("(in-flight: |idle: |, | ,)\\d+"), "$1PID");
  return std::regex_replace(out, std::regex("pid:\\d+"), "pid:PID");
}

/// The log's first lines, pids replaced by PID, are `want`; with `exact`, nothing follows.
void expect_log(const Result& r, const std::vector<std::string>& want, bool exact = false) {
  auto log = messages(r);
  if (exact) {
    EXPECT_EQ(log.size(), want.size());
  }
  ASSERT_GE(log.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(pids(log[i]), want[i]) << "line " << i;
}

/// A driver that only counts: enough to look at the pwqs and pools the core builds.
struct Quiet : Driver {
  void wake(Worker&) override {}
  bool spawn(Worker&) override { return true; }
  void complete(Waiter&) override {}
  void message(std::string_view) override {}
};

// --- BH workqueues (6.9) ---

TEST(BhWorkqueue, RunsBeforeANormalItemQueuedEarlierOnTheSameCpu) {
  Result r = run(scenario("today-bh"));
  // b0 interrupts n0's burst at 2 ms; n0 resumes and ends 1 ms late; n1, queued at 0, runs last.
  EXPECT_EQ(r.finished.at("b0"), 3 * kMsec);
  EXPECT_EQ(r.finished.at("n0"), 6 * kMsec);
  EXPECT_EQ(r.finished.at("n1"), 11 * kMsec);
  std::vector<std::string> want = {"TIME IN MSECS   EVENT",          "0               n0 starts and burns CPU",
                                   "2               b0 starts and burns CPU", "3               b0 finishes",
                                   "6               n0 finishes",      "6               n1 starts and burns CPU",
                                   "11              n1 finishes"};
  std::istringstream got(format_timeline(r));
  std::string line;
  for (auto& w : want) {
    ASSERT_TRUE(std::getline(got, line));
    EXPECT_EQ(line, w);
  }
}

TEST(BhWorkqueue, AtOneInstantTheBhItemGoesFirst) {
  Result r = run(parse("kernel 6.9\nworkqueue q\nworkqueue bh flags=WQ_BH\nwork n q: burn 5ms\n"
                       "work b bh: burn 1ms\nat 0 queue n\nat 0 queue b\n"));
  EXPECT_EQ(r.finished.at("b"), 1 * kMsec);
  EXPECT_EQ(r.finished.at("n"), 6 * kMsec);
}

TEST(BhWorkqueue, PoolsHaveTheKernelsIdsAndPrintBh) {
  expect_log(run(scenario("today-bh")), {
      "Showing busy workqueues and worker pools:",
      "workqueue events: flags=0x0",
      "  pwq 2: cpus=0 node=0 flags=0x0 nice=0 active=2 refcnt=3",
      "    in-flight: PID:n0",
      "    pending: n1",
      "workqueue events_bh: flags=0x1",
      "  pwq 0: cpus=0 node=0 flags=0x5 bh active=1 refcnt=2",
      "    in-flight: bh:tasklet_action_fn",
      "pool 0: cpus=0 node=0 flags=0x5 bh hung=0s workers=1",
      "pool 2: cpus=0 node=0 flags=0x0 nice=0 hung=0s workers=2 idle: PID",
  });
}

TEST(BhWorkqueue, ABlockingPointInABhItemIsAClearError) {
  for (const char* step : {"sleep 1ms", "block 1ms", "wait done"}) {
    Scenario sc = parse(std::string("kernel 6.9\nworkqueue bh flags=WQ_BH\nwork b bh: burn 1ms; ") + step +
                        "\nat 0 queue b\n");
    try {
      run(sc);
      ADD_FAILURE() << step << " did not fail";
    } catch (const Error& e) {
      EXPECT_NE(std::string(e.what()).find("BUG: scheduling while atomic: BH work item b of workqueue bh"),
                std::string::npos)
          << e.what();
    }
  }
}

TEST(BhWorkqueue, NeedsKernel69AndTakesOnlyHighpri) {
  EXPECT_THROW(run(parse("workqueue bh flags=WQ_BH\n")), Error);
  EXPECT_THROW(run(parse("kernel 6.9\nworkqueue bh flags=WQ_BH|WQ_UNBOUND\n")), Error);
  EXPECT_THROW(run(parse("kernel 6.9\nworkqueue bh flags=WQ_BH max_active=4\n")), Error);
  Result r = run(parse("kernel 6.9\ncpus 2\nworkqueue bh flags=WQ_BH|WQ_HIGHPRI\nwork b bh: burn 1ms\n"
                       "at 0 queue b on 1\nat 500us dump\n"));
  auto log = messages(r);
  ASSERT_GE(log.size(), 4u);
  EXPECT_EQ(log[2], "  pwq 5: cpus=1 node=0 flags=0x5 bh-hi active=1 refcnt=2");
  EXPECT_EQ(log[3], "    in-flight: bh-hi:b");
}

TEST(BhWorkqueue, PoolsAreAlwaysDisassociatedAndHotplugLeavesThem) {
  // worker_attach_to_pool(): BH workers are, while per-CPU, always DISASSOCIATED (WORKER_UNBOUND);
  // unbind_workers() and rebind_workers() walk the CPU's normal pools only.
  Quiet drv;
  Config cfg;
  cfg.kernel = Kernel::V6_9;
  cfg.possible_cpus = 2;
  cfg.online_cpus = {0};
  Core core(cfg, drv, 0);
  auto expect_bh_alone = [&](int cpu, const char* when) {
    for (bool hi : {false, true}) {
      const Pool& bh = core.bh_pool(cpu, hi);
      EXPECT_EQ(bh.flags, unsigned{POOL_BH | POOL_DISASSOCIATED}) << when;
      for (const Worker* w : bh.workers)
        EXPECT_EQ(w->flags & (WORKER_UNBOUND | WORKER_REBOUND), unsigned{WORKER_UNBOUND}) << when;
    }
  };
  expect_bh_alone(0, "at start");
  EXPECT_EQ(core.cpu_pool(0, false).flags, 0u);
  EXPECT_EQ(core.bh_pool(1, false).nr_workers, 0);  // CPU 1 was never online
  core.cpu_online(1, 1);
  EXPECT_EQ(core.bh_pool(1, false).nr_workers, 1);  // its BH pools get their worker
  expect_bh_alone(1, "online");
  core.cpu_offline(0, 2);
  EXPECT_EQ(core.cpu_pool(0, false).flags, unsigned{POOL_DISASSOCIATED});
  expect_bh_alone(0, "offline");
  core.cpu_online(0, 3);
  EXPECT_EQ(core.cpu_pool(0, false).flags, 0u);
  expect_bh_alone(0, "online again");
  EXPECT_EQ(core.bh_pool(0, false).nr_workers, 1);
}

// --- affinity scopes and pods (6.5) ---

Config two_nodes_two_caches_smt(Kernel k) {
  Scenario sc = scenario("today-pods");
  sc.config.kernel = k;
  return sc.config;
}

TEST(AffinityScopes, AnUnboundWorkqueueGetsAPwqPerCpuOnItsPodsPool) {
  Quiet drv;
  Core core(two_nodes_two_caches_smt(Kernel::V6_5), drv, 0);
  struct Want {
    AffinityScope scope;
    std::size_t pools;  // distinct pools behind the 16 CPUs' pwqs
    std::vector<int> cpu5_pod;
    int cpu5_node;
  };
  for (const Want& want : {Want{AffinityScope::Cpu, 16, {5}, 0}, Want{AffinityScope::Smt, 8, {4, 5}, 0},
                           Want{AffinityScope::Cache, 4, {4, 5, 6, 7}, 0},
                           Want{AffinityScope::Numa, 2, {0, 1, 2, 3, 4, 5, 6, 7}, 0},
                           Want{AffinityScope::System, 1, {}, NUMA_NO_NODE}}) {
    SCOPED_TRACE(affinity_scope_name(want.scope));
    Workqueue& wq = *core.alloc_workqueue(affinity_scope_name(want.scope), WQ_UNBOUND, 0, 0, want.scope);
    ASSERT_EQ(wq.cpu_pwq.size(), 16u);
    EXPECT_EQ(wq.pwqs.size(), 17u);  // one per CPU, then the default pwq
    std::set<const Pool*> pools;
    for (Pwq* pwq : wq.cpu_pwq) pools.insert(pwq->pool);
    EXPECT_EQ(pools.size(), want.pools);
    const Pool& p5 = *wq.cpu_pwq[5]->pool;
    std::vector<int> all(16);
    for (int i = 0; i < 16; ++i) all[static_cast<std::size_t>(i)] = i;
    EXPECT_EQ(p5.pod_cpus, want.cpu5_pod.empty() ? all : want.cpu5_pod);
    EXPECT_EQ(p5.cpus, all);  // the pool prints the workqueue's CPUs
    EXPECT_EQ(p5.node, want.cpu5_node);
    EXPECT_EQ(Core::pool_info(p5), want.cpu5_node == NUMA_NO_NODE ? " cpus=0-15 flags=0x4 nice=0"
                                                                  : " cpus=0-15 node=0 flags=0x4 nice=0");
  }
  // An ordered workqueue keeps one pwq for every CPU.
  Workqueue& ordered = *core.alloc_ordered_workqueue("ordered", 0, 0);
  EXPECT_EQ(ordered.pwqs.size(), 1u);
  EXPECT_EQ(ordered.cpu_pwq[3], ordered.cpu_pwq[12]);
  // Strict pools are pools of their own.
  Workqueue& strict = *core.alloc_workqueue("strict", WQ_UNBOUND, 0, 0, AffinityScope::Numa, true);
  Workqueue& loose = *core.alloc_workqueue("loose", WQ_UNBOUND, 0, 0, AffinityScope::Numa, false);
  EXPECT_NE(strict.cpu_pwq[0]->pool, loose.cpu_pwq[0]->pool);
  EXPECT_TRUE(strict.cpu_pwq[0]->pool->affn_strict);
}

TEST(AffinityScopes, AWorkerWokenOffItsPodIsRepatriatedAndCounted) {
  Quiet drv;
  Core core(two_nodes_two_caches_smt(Kernel::V6_5), drv, 0);
  Workqueue& loose = *core.alloc_workqueue("loose", WQ_UNBOUND, 0, 0, AffinityScope::Numa);
  Workqueue& strict = *core.alloc_workqueue("strict", WQ_UNBOUND, 0, 0, AffinityScope::Numa, true);
  Work a{"a"}, b{"b"};
  for (Workqueue* wq : {&loose, &strict}) {
    Pool& pool = *wq->cpu_pwq[9]->pool;  // node 1: CPUs 8-15
    pool.idle_list.front()->last_cpu = 2;  // the idle worker last ran on node 0
    core.queue_work_on(9, *wq, wq == &loose ? a : b, Caller{9, nullptr, 1}, 0);
  }
  EXPECT_EQ(Core::stats(loose).repatriated, 1u);
  EXPECT_EQ(loose.cpu_pwq[9]->pool->workers.front()->last_cpu, 8);  // sent back into the pod
  EXPECT_EQ(Core::stats(strict).repatriated, 0u);  // strict workers never leave their pod
}

TEST(AffinityScopes, TheSeedsKeepOneUnboundPoolOverAllCpus) {
  Quiet drv;
  Core core(two_nodes_two_caches_smt(Kernel::Seeds), drv, 0);
  Workqueue& wq = *core.alloc_workqueue("u", WQ_UNBOUND, 0, 0);
  EXPECT_EQ(wq.pwqs.size(), 1u);
  EXPECT_EQ(Core::pool_info(*wq.pwqs[0]->pool), " cpus=0-15 flags=0x4 nice=0");
  EXPECT_THROW(core.alloc_workqueue("v", WQ_UNBOUND, 0, 0, AffinityScope::Numa), Error);
}

TEST(AffinityScopes, TheDumpShowsEachScopesPoolWithItsNode) {
  expect_log(run(scenario("today-pods")), {
      "Showing busy workqueues and worker pools:",
      "workqueue by_cpu: flags=0x2",
      "  pwq 38: cpus=0-15 node=0 flags=0x4 nice=0 active=1/256 refcnt=2",
      "    in-flight: PID:c",
      "workqueue by_smt: flags=0x2",
      "  pwq 51: cpus=0-15 node=0 flags=0x4 nice=0 active=1/256 refcnt=2",
      "    in-flight: PID:s",
      "workqueue by_cache: flags=0x2",
      "  pwq 58: cpus=0-15 node=0 flags=0x4 nice=0 active=1/256 refcnt=2",
      "    in-flight: PID:l",
      "workqueue by_numa: flags=0x2",
      "  pwq 62: cpus=0-15 node=0 flags=0x4 nice=0 active=1/256 refcnt=2",
      "    in-flight: PID:n",
      "  pwq 63: cpus=0-15 node=1 flags=0x4 nice=0 active=1/256 refcnt=2",
      "    in-flight: PID:z",
      "workqueue by_system: flags=0x2",
      "  pwq 32: cpus=0-15 flags=0x4 nice=0 active=1/256 refcnt=2",
      "    in-flight: PID:y",
      "pool 32: cpus=0-15 flags=0x4 nice=0 hung=0s workers=2 idle: PID",
  });
}

TEST(ScenarioParse, TopologyLinesAreChecked) {
  EXPECT_THROW(parse("cpus 4\ntopology numa 0-1\n"), Error);             // CPUs 2, 3 in no node
  EXPECT_THROW(parse("cpus 4\ntopology numa 0-2 2-3\n"), Error);         // CPU 2 twice
  EXPECT_THROW(parse("topology numa 0 1\ncpus 2\n"), Error);             // cpus after topology
  EXPECT_THROW(parse("cpus 2\ntopology l3 0-1\n"), Error);               // unknown level
  EXPECT_THROW(parse("cpus 2\nworkqueue u flags=WQ_UNBOUND affinity=rack\n"), Error);
  Scenario sc = parse("cpus 4\ntopology cache 0-1 2-3\naffinity_scope numa\n");
  EXPECT_EQ(sc.config.topology.cache, (std::vector<int>{0, 0, 1, 1}));
  EXPECT_EQ(sc.config.default_affn_scope, AffinityScope::Numa);
}

// --- per-node max_active (6.9) ---

TEST(NodeMaxActive, ItemsAreHeldBackPerNode) {
  Result r = run(scenario("today-node-max-active"));
  // Node 0's share is 8: a0..a7 at once, a8..a11 once they finish; node 1's b0..b3 at once.
  for (int i = 0; i < 12; ++i) EXPECT_EQ(r.finished.at(fmt::format("a{}", i)), (i < 8 ? 10 : 20) * kMsec) << i;
  for (int i = 0; i < 4; ++i) EXPECT_EQ(r.finished.at(fmt::format("b{}", i)), 10 * kMsec) << i;
  auto log = messages(r);
  ASSERT_GE(log.size(), 7u);
  EXPECT_EQ(log[2], "  pwq 33: cpus=0-7 node=0 flags=0x4 nice=0 active=8 refcnt=13");
  EXPECT_EQ(log[4], "    inactive: 4*io_fn");
  EXPECT_EQ(log[5], "  pwq 34: cpus=0-7 node=1 flags=0x4 nice=0 active=4 refcnt=5");
  EXPECT_EQ(pids(log[3]), "    in-flight: PID:io_fn ,PID:io_fn ,PID:io_fn ,PID:io_fn ,PID:io_fn ,PID:io_fn ,"
                          "PID:io_fn ,PID:io_fn");
}

TEST(NodeMaxActive, Before69EachPwqHadTheWholeMaxActive) {
  Scenario sc = scenario("today-node-max-active");
  sc.config.kernel = Kernel::V6_5;
  Result r = run(sc);
  for (int i = 0; i < 12; ++i) EXPECT_EQ(r.finished.at(fmt::format("a{}", i)), 10 * kMsec) << i;
}

TEST(NodeMaxActive, ThePwqsWaitingOnANodeTakeFreedSlotsRoundRobin) {
  // max_active 2 on 4 CPUs in 2 nodes: node 0's share is 2. CPU 0 queues a0..a3 and CPU 1 b0..b3:
  // a0 and a1 take the slots; each slot that frees goes to the pwq that waited longest, which then
  // goes to the back of the line, so the two CPUs' items alternate.
  Result r = run(parse("kernel 6.9\ncpus 4\ntopology numa 0-1 2-3\nworkqueue io flags=WQ_UNBOUND max_active=2\n"
                       "work a io count=4: sleep 10ms\nwork b io count=4: sleep 10ms\n"
                       "at 0 queue a from 0\nat 0 queue b from 1\n"));
  std::map<std::string, Time> want = {{"a0", 10}, {"a1", 10}, {"a2", 20}, {"b0", 20},
                                      {"a3", 30}, {"b1", 30}, {"b2", 40}, {"b3", 40}};
  for (auto& [item, ms] : want) EXPECT_EQ(r.finished.at(item), ms * kMsec) << item;
}

// --- the 7.0 watchdog ---

TEST(Watchdog70, TheRecheckDropsAReportWhosePoolProgressedMeanwhile) {
  Scenario sc = scenario("today-watchdog-recheck");
  Result today = run(sc);
  EXPECT_EQ(today.lockups, 1u);  // the real stall at 30 s
  EXPECT_EQ(today.lockups_dropped, 1u);
  expect_log(today, {
      "BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 30s!",
      "Showing busy workqueues and worker pools:",
      "workqueue events: flags=0x0",
      "  pwq 2: cpus=0 node=0 flags=0x0 nice=0 active=2 refcnt=3",
      "    in-flight: PID:hog_fn for 30s",
      "    pending: next_fn",
      "pool 2: cpus=0 node=0 flags=0x0 nice=0 hung=30s workers=2 idle: PID",
      "Showing backtraces of busy workers in stalled CPU-bound worker pools:",
      "pool 2:",
      "task:kworker/0:0     state:R pid:PID",
      "Workqueue: events hog_fn",
  }, /*exact=*/true);
  // 6.9 reads the stamp once, without the lock: it reports the pool that is just making progress.
  sc.config.kernel = Kernel::V6_9;
  Result before = run(sc);
  EXPECT_EQ(before.lockups, 2u);
  EXPECT_EQ(before.lockups_dropped, 0u);
  EXPECT_EQ(messages(before)[11], "BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 60s!");
  EXPECT_EQ(messages(before)[7], "Showing backtraces of running workers in stalled CPU-bound worker pools:");
}

TEST(Watchdog70, EachBusyWorkerGetsItsOwnPoolLine) {
  // sleeper sleeps (the pool knows: a second worker starts hog), hog blocks unseen (nr_running stays
  // 1), so next waits: at 30 s the pool has two busy workers, one sleeping and one running.
  Scenario sc = parse("kernel 7.0\nwatchdog 30s\nuntil 31s\nworkqueue q\nwork sleeper q: sleep 200s\n"
                      "work hog q: block 200s\nwork next q: burn 1ms\nat 0 queue sleeper hog next\n");
  auto backtraces = [](const Result& r) {
    auto log = messages(r);
    auto it = std::find_if(log.begin(), log.end(), [](auto& l) { return l.starts_with("Showing backtraces"); });
    std::vector<std::string> out;
    for (; it != log.end(); ++it) out.push_back(pids(*it));
    return out;
  };
  // show_cpu_pool_hog() prints "pool N:" before each worker it shows, not once per pool.
  EXPECT_EQ(backtraces(run(sc)), (std::vector<std::string>{
      "Showing backtraces of busy workers in stalled CPU-bound worker pools:",
      "pool 2:",
      "task:kworker/0:0     state:S pid:PID",
      "Workqueue: q sleeper",
      "pool 2:",
      "task:kworker/0:1     state:R pid:PID",
      "Workqueue: q hog",
  }));
  sc.config.kernel = Kernel::V6_9;  // the running one only
  EXPECT_EQ(backtraces(run(sc)), (std::vector<std::string>{
      "Showing backtraces of running workers in stalled CPU-bound worker pools:",
      "pool 2:",
      "task:kworker/0:1     state:R pid:PID",
      "Workqueue: q hog",
  }));
}

TEST(Watchdog70, TheSeedsPrintNeitherBacktracesNorForSeconds) {
  Scenario sc = scenario("today-watchdog-recheck");
  sc.config.kernel = Kernel::Seeds;
  auto log = messages(run(sc));
  ASSERT_EQ(log.size(), 14u);  // two reports of 7 lines
  EXPECT_EQ(pids(log[4]), "    in-flight: PID:hog_fn");
  EXPECT_EQ(log[6].substr(0, 7), "pool 0:");  // no BH pools before 6.9
}

TEST(Watchdog70, PanicOnStallCountsReports) {
  Scenario sc = parse("watchdog 30s\npanic_on_stall 2\nworkqueue q\nwork hog q: block 200s\n"
                      "work next q: burn 1ms\nat 0 queue hog next\n");
  Result r = run(sc);
  EXPECT_TRUE(r.panicked);
  EXPECT_EQ(r.end, 60 * kSec);
  EXPECT_EQ(messages(r).back(), "Kernel panic - not syncing: workqueue: 2 stall reports (workqueue.panic_on_stall=2)");
}

TEST(Watchdog70, PanicOnStallTimeNeedsTheStallToLastThatLong) {
  Scenario sc = parse("kernel 7.0\nwatchdog 30s\npanic_on_stall_time 45s\nworkqueue q\nwork hog q: block 200s\n"
                      "work next q: burn 1ms\nat 0 queue hog next\n");
  Result r = run(sc);
  EXPECT_TRUE(r.panicked);
  EXPECT_EQ(r.end, 60 * kSec + 1);  // the 30 s report did not panic; the 60 s one (an instant later) did
  EXPECT_EQ(messages(r).back(),
            "Kernel panic - not syncing: workqueue: stall of 60s (workqueue.panic_on_stall_time=45s)");
  sc.config.kernel = Kernel::V6_9;  // panic_on_stall_time is 7.0's
  sc.until = 100 * kSec;
  EXPECT_FALSE(run(sc).panicked);
}

TEST(Watchdog70, HogWarningsBackOffFromTheConfiguredThreshold) {
  std::vector<std::uint64_t> at4, at2;
  for (std::uint64_t n = 1; n <= 40; ++n) {
    if (hog_report_due(n)) at4.push_back(n);
    if (hog_report_due(n, 2)) at2.push_back(n);
  }
  EXPECT_EQ(at4, (std::vector<std::uint64_t>{4, 5, 7, 11, 19, 35}));
  EXPECT_EQ(at2, (std::vector<std::uint64_t>{2, 3, 5, 9, 17, 33}));
  EXPECT_FALSE(hog_report_due(5, 0));
}

}  // namespace
}  // namespace cmwq::sim
