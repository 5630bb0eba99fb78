// Today's cmwq (kernel 6.5 to 7.0) in the simulator: BH workqueues, affinity scopes and pods,
// per-node max_active and the 7.0 watchdog, each behind Config::kernel so that the seeds' era
// (and every golden test) stays as it was.
#include <cmwq/sim.h>

#include <gtest/gtest.h>

#include <regex>
#include <sstream>

namespace cmwq::sim {
namespace {

Scenario scenario(const std::string& name) { return load_scenario(std::string(CMWQ_SCENARIOS) + "/" + name + ".scn"); }

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
  return std::regex_replace(line, std::regex("(in-flight: |idle: |, )\\d+"), "$1PID");
}

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
  Result r = run(scenario("today-bh"));
  auto log = messages(r);
  std::vector<std::string> want = {
      "Showing busy workqueues and worker pools:",
      "workqueue events: flags=0x0",
      "  pwq 2: cpus=0 node=0 flags=0x0 nice=0 active=2 refcnt=3",
      "    in-flight: PID:n0",
      "    pending: n1",
      "workqueue events_bh: flags=0x1",
      "  pwq 0: cpus=0 node=0 flags=0x1 bh active=1 refcnt=2",
      "    in-flight: bh:tasklet_action_fn",
      "pool 0: cpus=0 node=0 flags=0x1 bh hung=0s workers=1",
      "pool 2: cpus=0 node=0 flags=0x0 nice=0 hung=0s workers=2 idle: PID",
  };
  ASSERT_GE(log.size(), want.size());
  for (std::size_t i = 0; i < want.size(); ++i) EXPECT_EQ(pids(log[i]), want[i]) << i;
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
  EXPECT_EQ(log[2], "  pwq 5: cpus=1 node=0 flags=0x1 bh-hi active=1 refcnt=2");
  EXPECT_EQ(log[3], "    in-flight: bh-hi:b");
}

}  // namespace
}  // namespace cmwq::sim
