// The kernel-log reader line by line: prefixes, quoting, wraps, duplicates, and the report grammar.
#include "import/kernel_log.h"
#include "import/log_lines.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace wqscope::kernel_log {
namespace {

std::vector<std::string> lines(std::string_view log) {
  LineReader reader(log, readable);
  std::vector<std::string> out;
  LogLine l;
  while (reader.next(l)) out.push_back(l.text);
  return out;
}

TEST(Prefix, EveryKindGoesAndGivesTheTime) {
  EXPECT_EQ(split_prefix("[  842.410023][    C1] BUG").ts_ns, 842'410'023'000);
  EXPECT_EQ(split_prefix("[  842.410023][    C1] BUG").length, 23u);
  EXPECT_EQ(split_prefix("[ 12.5][T123]   pwq 1:").length, 14u);
  EXPECT_EQ(split_prefix("6,22013,903312544,-,caller=C3;  pwq 6:").ts_ns, 903'312'544'000);
  EXPECT_EQ(split_prefix("[Sun Nov 22 14:02:11 2026] pool").ts_ns, 1795356131'000'000'000);
  Prefix j = split_prefix("Nov 28 03:14:51 node7 kernel:   pwq 22:");
  EXPECT_EQ(j.length, 30u);
  EXPECT_FALSE(j.foreign);
  EXPECT_TRUE(split_prefix("Nov 28 03:14:51 node7 systemd[1]: Started").foreign);
  EXPECT_EQ(split_prefix("2026-11-28T03:14:51.5+0100 node7 kernel: x").length, 41u);
  EXPECT_EQ(split_prefix("workqueue events: flags=0x0").length, 0u);
  EXPECT_EQ(split_prefix("[not a time] text").length, 0u);
}

TEST(Lines, QuotingCrlfTrailingSpacesGo) {
  EXPECT_EQ(lines("> > | [ 1.0] pool 1:\r\n>>> [ 1.1]   pwq 2:  \r\n"),
            (std::vector<std::string>{"pool 1:", "  pwq 2:"}));
}

TEST(Lines, WrapsJoinWithASpaceOrWithoutAsTheGrammarSays) {
  // A mail client wraps at a space; a terminal anywhere.
  EXPECT_EQ(lines("[ 1.0] BUG: workqueue lockup - pool cpus=2 node=1 flags=0x0 nice=0 stuck for\n31s!\n"),
            (std::vector<std::string>{"BUG: workqueue lockup - pool cpus=2 node=1 flags=0x0 nice=0 stuck for 31s!"}));
  EXPECT_EQ(lines("6,1,2,-;    pending: vmstat_update, psi\n_avgs_work, psi_avgs_work\n"),
            (std::vector<std::string>{"    pending: vmstat_update, psi_avgs_work, psi_avgs_work"}));
  EXPECT_EQ(lines("6,1,2,-;    pending: a\n SUBSYSTEM=pci\n DEVICE=+pci:0000:00:01.0\n"),
            (std::vector<std::string>{"    pending: a"}));  // /dev/kmsg's dictionary
  // A blank line ends a wrap: the mail's own text after the log is not joined.
  EXPECT_EQ(lines("> [ 1.0] pool 1: x\n>\n> Any idea?\n"), (std::vector<std::string>{"pool 1: x", "Any idea?"}));
}

TEST(Lines, ASecondConsolesCopyIsDropped) {
  EXPECT_EQ(lines("[ 1.0] a\n[ 1.0] a\n[ 1.1] a\n"), (std::vector<std::string>{"a", "a"}));
  EXPECT_EQ(lines("a\na\n"), (std::vector<std::string>{"a", "a"}));  // no prefix: two lines may be equal
}

Log parse_text(std::string_view text) { return parse(text); }

TEST(Parse, ItemsBarriersRepeatsModulesRescuers) {
  Log log = parse_text(
      "Showing busy workqueues and worker pools:\n"
      "workqueue events: flags=0x0\n"
      "  pwq 6: cpus=1 node=0 flags=0x0 nice=0 active=3/256 refcnt=4 MAYDAY\n"
      "    in-flight: 57:drain BAR(4410) BAR(12), 58(RESCUER):f [mod] for 3s\n"
      "    pending: 2*vmstat_update, lru BAR(4410), g [drm]\n"
      "    delayed: a, a\n"
      "pool 6: cpus=1 node=0 flags=0x0 nice=0 hung=38s workers=3 manager: 7 idle: 902 88\n");
  ASSERT_EQ(log.reports.size(), 1u);
  ASSERT_TRUE(log.problems.empty()) << log.problems[0].why;
  const Report& r = log.reports[0];
  const cmwq::report::Pwq& p = r.dump.workqueues.at(0).pwqs.at(0);
  EXPECT_EQ(p.identity, " cpus=1 node=0 flags=0x0 nice=0");
  PoolIdentity id;
  ASSERT_TRUE(parse_identity(p.identity, id));
  EXPECT_EQ(id.cpu, 1);
  EXPECT_EQ(p.max_active, 256);
  EXPECT_EQ(p.refcnt, 4);
  EXPECT_TRUE(p.mayday);
  ASSERT_EQ(p.in_flight.size(), 2u);
  EXPECT_EQ(p.in_flight[0].scheduled.size(), 2u);
  EXPECT_EQ(p.in_flight[0].scheduled[1].barrier_pid, 12);
  EXPECT_TRUE(p.in_flight[1].rescuer);
  EXPECT_EQ(p.in_flight[1].func, "f [mod]");
  EXPECT_EQ(p.in_flight[1].for_s, 3);
  ASSERT_EQ(p.pending.size(), 5u);
  EXPECT_TRUE(p.pending[2].linked);
  EXPECT_EQ(p.pending[3].barrier_pid, 4410);
  EXPECT_EQ(p.pending[4].func, "g [drm]");
  EXPECT_EQ(p.inactive.size(), 2u);
  EXPECT_TRUE(r.dump.dialect.delayed);
  EXPECT_FALSE(r.dump.dialect.rle);  // "a, a": a run printed in full
  const cmwq::report::Pool& pool = r.dump.pools.at(0);
  EXPECT_EQ(pool.manager, 7);
  EXPECT_EQ(pool.idle, (std::vector<int>{902, 88}));
}

TEST(Parse, DialectOf69And70) {
  Log log = parse_text(
      "workqueue rcu_gp: flags=0x108\n"
      "  pwq 58: cpus=14 node=1 flags=0x1 bh active=1 refcnt=2\n"
      "    in-flight: 6133:process_srcu for 33s ,6140:sync for 12s\n");
  ASSERT_EQ(log.reports.size(), 1u);
  const Report& r = log.reports[0];
  EXPECT_FALSE(r.dump.dialect.max_active);
  EXPECT_TRUE(r.dump.dialect.comma_first);
  EXPECT_TRUE(r.dump.dialect.for_s);
  PoolIdentity id;
  ASSERT_TRUE(parse_identity(r.dump.workqueues[0].pwqs[0].identity, id));
  EXPECT_TRUE(id.bh);
  EXPECT_EQ(r.dump.workqueues[0].pwqs[0].in_flight.size(), 2u);
  EXPECT_FALSE(parse_identity(" cpus=1 flags=0x0", id));
}

TEST(Parse, ReportsSplitAndBadLinesAreSaid) {
  Log log = parse_text(
      "BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 40s!\n"
      "Showing busy workqueues and worker pools:\n"
      "  pwq 0: cpus=0 node=0 flags=0x0 nice=0 active=x\n"
      "rcu: INFO: something else\n"
      "BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 70s!\n"
      "Showing busy workqueues and worker pools:\n"
      "    pending: 99999999999*f\n");
  EXPECT_EQ(log.reports.size(), 2u);
  ASSERT_EQ(log.problems.size(), 2u);
  EXPECT_EQ(log.problems[0].line, 3u);
  EXPECT_EQ(log.problems[1].line, 7u);
  EXPECT_TRUE(parse_text("nothing here\n").reports.empty());
}

}  // namespace
}  // namespace wqscope::kernel_log
