// Bad scenario files get an error naming the file, the line and the fix.
#include <cmwq/sim.h>

#include <gtest/gtest.h>

#include <sstream>

namespace cmwq::sim {
namespace {

std::string error_of(const std::string& text) {
  std::istringstream in(text);
  try {
    parse_scenario(in, "t.scn");
  } catch (const Error& e) {
    return e.what();
  }
  return "no error";
}

TEST(ScenarioParse, ErrorsNameFileLineAndProblem) {
  EXPECT_EQ(error_of("cpus 2\nfrobnicate 3\n"),
            "t.scn:2: unknown keyword 'frobnicate' (title, cpus, online, model, kernel, topology, affinity_scope, "
            "rescuer, watchdog, panic_on_stall, panic_on_stall_time, cpu_intensive_warning_thresh, "
            "cpu_intensive_thresh, output, until, workqueue, work, at)");
  EXPECT_EQ(error_of("workqueue q\nwork w q: burn 5\n"),
            "t.scn:2: '5' is not a duration (write it like 5ms, 1.5s, 200us or 0)");
  EXPECT_EQ(error_of("work w nowq: burn 5ms\n"), "t.scn:1: work 'w': unknown workqueue 'nowq'");
  EXPECT_EQ(error_of("workqueue q flags=WQ_BOGUS\n").substr(0, 42), "t.scn:1: unknown workqueue flag 'WQ_BOGUS'");
  EXPECT_EQ(error_of("workqueue q\nwork w q: burn 1ms\nat 1s queue x\n"),
            "t.scn:3: action 'queue': unknown work item 'x' (define it with 'work' first)");
  EXPECT_EQ(error_of("cpus 2\nworkqueue q\nwork w q: burn 1ms\nat 0 queue w on 7\n"),
            "t.scn:4: CPU 7 is not below 'cpus 2'");
  EXPECT_EQ(error_of("cpus many\n"), "t.scn:1: cpus 'many' is not an integer");
  EXPECT_EQ(error_of("rescuer 2030\n"), "t.scn:1: unknown rescuer policy '2030' (2009, 2014, 2025)");
  EXPECT_EQ(error_of("workqueue q\nwork w q: burn 1ms;; sleep 1ms\n"), "no error");  // empty steps are skipped
  EXPECT_EQ(error_of("workqueue q\nwork w q: jump 1ms\n").substr(0, 30), "t.scn:2: unknown step 'jump' (");
  EXPECT_EQ(error_of("workqueue q\nworkqueue q\n"), "t.scn:2: workqueue 'q' is defined twice");
  EXPECT_EQ(error_of("at\n"), "t.scn:1: 'at' is: at TIME ACTION [ARGS]");
  // Found by tests/fuzz: steps naming nothing crashed the simulator, and a \v line the parser.
  EXPECT_EQ(error_of("workqueue q\nwork w q: flush x; burn 1ms\nwork x q: queue y\n"),
            "t.scn:3: work 'x': unknown work item 'y' (define it with 'work')");
  EXPECT_EQ(error_of("workqueue q\nwork w q: flush_wq r\n"), "t.scn:2: work 'w': flush_wq of unknown workqueue 'r'");
  EXPECT_EQ(error_of("cpus 2\nworkqueue q\nwork w q: queue w on 2\n"), "t.scn:3: CPU 2 is not below 'cpus 2'");
  EXPECT_EQ(error_of("cpus 2\nworkqueue q\nwork w q: burn 1ms\nat 0 queue w on -4\n"), "t.scn:4: CPU -4 is not a CPU number");
  EXPECT_EQ(error_of("\v\nworkqueue q\n"), "no error");
  EXPECT_EQ(error_of("online 1-200991311\n"), "t.scn:1: bad CPU range '1-200991311' (CPUs are 0 to 4095)");
}

TEST(ScenarioParse, DurationsAndExpansion) {
  EXPECT_EQ(parse_duration("5ms"), 5 * kMsec);
  EXPECT_EQ(parse_duration("1.5s"), 1500 * kMsec);
  EXPECT_EQ(parse_duration("200us"), 200 * kUsec);
  EXPECT_EQ(parse_duration("0"), 0);
  for (const char* bad : {".ms", "1.2.3s", "5", "ms", "-1ms"}) EXPECT_THROW(parse_duration(bad), Error) << bad;
  EXPECT_THROW(parse_duration(std::string(400, '9') + "s"), Error);
  EXPECT_THROW(parse_duration("-1s"), Error);
  EXPECT_THROW(parse_duration("1e99s"), Error);
  std::istringstream in("workqueue q max_active=1\nwork x q fn=f count=3: burn 1ms\nat 1s queue x\n");
  Scenario sc = parse_scenario(in, "t.scn");
  ASSERT_EQ(sc.items.size(), 3u);
  EXPECT_EQ(sc.items[2].name, "x2");
  EXPECT_EQ(sc.items[2].func, "f");
  Result r = run(sc);
  EXPECT_EQ(r.finished.at("x2"), 1 * kSec + 3 * kMsec);  // max_active 1: one after another
}

TEST(ScenarioParse, PoolApiErrorsSurfaceFromTheCore) {
  std::istringstream in("workqueue q flags=0x1\n");
  Scenario sc = parse_scenario(in, "t.scn");
  try {
    run(sc);
    FAIL() << "WQ_BH accepted";
  } catch (const Error& e) {
    EXPECT_STREQ(e.what(), "alloc_workqueue(\"q\"): WQ_BH needs kernel 6.9 or later (Config::kernel, `kernel 6.9` in a "
                           "scenario)");
  }
}

}  // namespace
}  // namespace cmwq::sim
