// The simulator reproduces the seeds: the documentation's tables line by line,
// the xfslogd rescuer policies (seeds 000, 001, 002) and the hotplug lockup (seed 004).
#include "scenario_files.h"

#include <cmwq/sim.h>

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sstream>

namespace cmwq::sim {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

using test::scenario;

TEST(Simulator, ItemsThatQueueEachOtherAtNoCostAreStoppedWithAMessage) {
  std::istringstream in("workqueue q0\nwork a q0: queue b\nwork b q0: queue a\nat 1ms queue a\n");
  Scenario sc = parse_scenario(in, "loop.scn");
  sc.max_steps_per_instant = 10'000;  // the default, a million, takes seconds
  try {
    run(sc);
    FAIL() << "ran forever";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "the scenario makes no progress: 10000 steps at 0.001000s without time passing (do its "
                           "items queue each other without burning or sleeping?)");
  }
}

Scenario with_policy(Scenario sc, RescuerPolicy p) {
  sc.config.rescuer_policy = p;
  return sc;
}

class DocTable : public ::testing::TestWithParam<const char*> {};

TEST_P(DocTable, MatchesTheDocumentationLineByLine) {
  std::string name = GetParam();
  std::istringstream want(slurp(std::string(CMWQ_GOLDEN) + "/" + name + ".expected"));
  std::istringstream got(format_timeline(run(scenario(name))));
  std::string w, g;
  int line = 0;
  while (std::getline(want, w)) {
    ++line;
    ASSERT_TRUE(std::getline(got, g)) << "simulator output ends before line " << line << ": " << w;
    EXPECT_EQ(w, g) << "line " << line;
  }
  EXPECT_FALSE(std::getline(got, g)) << "extra line: " << g;
  EXPECT_GT(line, 8);
}

INSTANTIATE_TEST_SUITE_P(Section5, DocTable,
                         ::testing::Values("doc-original-wq", "doc-cmwq-max-active-3", "doc-cmwq-max-active-2",
                                           "doc-highpri", "doc-cpu-intensive"),
                         [](const auto& param_info) {
                           std::string n = param_info.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

const WqSummary& wq(const Result& r, const std::string& name) {
  for (auto& s : r.workqueues)
    if (s.name == name) return s;
  throw std::runtime_error("no workqueue " + name);
}

TEST(Xfslogd, Policy2009ProgressesOneItemPerMaydayInterval) {
  Result r = run(with_policy(scenario("seed000-xfslogd"), RescuerPolicy::k2009));
  const WqSummary& s = wq(r, "xfslogd");
  // 30 s of failing creation at one rescued item per MAYDAY_INTERVAL (100 ms).
  EXPECT_NEAR(static_cast<double>(s.stats.rescued), 300.0, 3.0);
  EXPECT_EQ(s.stats.mayday, s.stats.rescued);
  // The rest waits for worker creation to recover at 30 s.
  EXPECT_EQ(s.finished, 1000u);
  EXPECT_GE(s.last_finish, 30 * kSec);
  EXPECT_LT(r.finished.at("log299"), 30 * kSec);
  EXPECT_GE(r.finished.at("log300"), 30 * kSec);
}

TEST(Xfslogd, Policies2014And2025DrainPromptly) {
  for (auto p : {RescuerPolicy::k2014, RescuerPolicy::k2025}) {
    Result r = run(with_policy(scenario("seed000-xfslogd"), p));
    const WqSummary& s = wq(r, "xfslogd");
    // MAYDAY_INITIAL_TIMEOUT, then 1000 items of 100 us back to back on the rescuer.
    EXPECT_EQ(s.finished, 1000u);
    EXPECT_EQ(s.stats.rescued, 1000u);
    EXPECT_EQ(s.stats.mayday, 1u);
    EXPECT_GE(s.last_finish, 110 * kMsec);
    EXPECT_LT(s.last_finish, 120 * kMsec) << "policy " << static_cast<int>(p);
  }
}

TEST(RescuerGiveback, Policy2025HandsItemsBackWhenCreationRecovers) {
  Result slurp2009 = run(with_policy(scenario("seed002-rescuer-giveback"), RescuerPolicy::k2009));
  Result slurp2014 = run(with_policy(scenario("seed002-rescuer-giveback"), RescuerPolicy::k2014));
  Result one2025 = run(with_policy(scenario("seed002-rescuer-giveback"), RescuerPolicy::k2025));
  // 2009/2014: the rescuer took all 16 blocking items at 10 ms and runs them one after another.
  for (auto* r : {&slurp2009, &slurp2014}) {
    EXPECT_EQ(wq(*r, "reclaim").stats.rescued, 16u);
    EXPECT_EQ(wq(*r, "reclaim").last_finish, 10 * kMsec + 16 * 200 * kMsec);
  }
  // 2025: one at a time; when the manager's retry succeeds at 1 s, the pool's workers take the rest.
  const WqSummary& s = wq(one2025, "reclaim");
  EXPECT_EQ(s.finished, 16u);
  EXPECT_LT(s.stats.rescued, 16u);
  EXPECT_GE(s.stats.rescued, 4u);
  EXPECT_LT(s.last_finish, 1300 * kMsec);
}

std::vector<std::string> without_timestamps(const std::vector<std::string>& log) {
  std::vector<std::string> out;
  for (auto& l : log) out.push_back(l.substr(l.find("] ") + 2));
  return out;
}

TEST(Seed004, QueueOnOfflineCpuLocksUpTheDisassociatedPool) {
  Result r = run(scenario("seed004-hotplug-lockup"));
  auto log = without_timestamps(r.log);
  // The seed's report: first seen at the second watchdog check, 59 s after the stall began at 1 s.
  ASSERT_GE(log.size(), 9u);
  EXPECT_EQ(r.log[0].substr(0, 14), "[   60.000000]");
  std::regex pid("(in-flight: |BAR\\(|idle: )\\d+");
  std::vector<std::string> want = {
      "BUG: workqueue lockup - pool cpus=0 node=0 flags=0x4 nice=0 stuck for 59s!",
      "Showing busy workqueues and worker pools:",
      "workqueue rcu_gp: flags=0x8",
      "  pwq 22: cpus=11 node=0 flags=0x0 nice=0 active=1/256 refcnt=2",
      "    in-flight: PID:wait_rcu_exp_gp",
      "workqueue rcu_par_gp: flags=0x8",
      "  pwq 0: cpus=0 node=0 flags=0x4 nice=0 active=1/256 refcnt=3",
      "    pending: sync_rcu_exp_select_node_cpus BAR(PID)",
      "pool 22: cpus=11 node=0 flags=0x0 nice=0 hung=0s workers=2 idle: PID",
  };
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(std::regex_replace(log[i], pid, "$1PID"), want[i]);
  // The flusher in the dump is the worker running wait_rcu_exp_gp.
  std::smatch m;
  ASSERT_TRUE(std::regex_search(log[4], m, std::regex("in-flight: (\\d+):")));
  EXPECT_NE(log[7].find("BAR(" + m[1].str() + ")"), std::string::npos);
  EXPECT_EQ(r.lockups, 1u);
  EXPECT_FALSE(r.finished.count("gp"));
}

TEST(Seed004, QueueingOnAnOnlineCpuAvoidsTheLockup) {
  Result r = run(scenario("seed004-hotplug-fixed"));
  EXPECT_EQ(r.lockups, 0u);
  EXPECT_EQ(r.finished.at("rew"), 1 * kSec + 1 * kMsec);
  EXPECT_EQ(r.finished.at("gp"), 1 * kSec + 1 * kMsec);
}

TEST(Seed004, WorkCpuUnboundRunsOnTheCallersCpu) {
  Scenario sc = scenario("seed004-hotplug-fixed");
  sc.items[1].ops[0].cpu = WORK_CPU_UNBOUND;  // queue rew (no CPU): the local CPU, 11
  Result r = run(sc);
  EXPECT_EQ(r.lockups, 0u);
  EXPECT_TRUE(r.finished.count("gp"));
}

}  // namespace
}  // namespace cmwq::sim
