// Kernel traces as text and trace.dat: every sample (ours in traces/, the shared ones when present)
// read, translated through kernel mode's KernelStream and applied to the model, gives the items,
// functions and workqueues it shows.
#include "import/trace_stream.h"
#include "import/trace_text.h"
#include "model.h"
#include "top.h"

#include <cmwq/records.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <set>
#include <string>

namespace wqscope::trace {
namespace {

struct Counts {
  Counts() { model.add_observer(&top); }
  std::map<std::string, int> queued, started, ended;  // by function
  std::set<std::string> workqueues;
  Skipped skipped;
  Input in;
  TopFunctions top;
  Model model;
};

std::string read(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  EXPECT_TRUE(f) << path;
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

/// The model's view of a trace: what `wqscope import` stores, without the recording.
void import(const std::string& text, Counts& c) {
  c.in = parse_text(text);
  c.skipped = translate(
      c.in,
      [&](std::span<const std::byte> bytes) {
        // Our own records: the decoder rejecting them is a bug.
        cmwq::for_each_record(bytes, [&](const cmwq::Record& r) {
          c.model.apply(r);
          if (r.h->kind < CMWQ_EV_WORK_QUEUE || r.h->kind > CMWQ_EV_WORK_END) return;
          std::string func = c.model.name(r.state()->func);
          if (r.h->kind == CMWQ_EV_WORK_QUEUE) ++c.queued[func];
          if (r.h->kind == CMWQ_EV_WORK_START) ++c.started[func];
          if (r.h->kind == CMWQ_EV_WORK_END) ++c.ended[func];
        });
      },
      30'000'000'000);
  for (auto& [id, wq] : c.model.workqueues()) c.workqueues.insert(wq.name);
}

const std::string kOurs = WQSCOPE_IMPORT_TRACES;
const std::string kShared = WQSCOPE_SHARED_TRACES;

using M = std::map<std::string, int>;
using S = std::set<std::string>;

TEST(TraceText, Ftrace6WithHeaderFiveFlags) {
  if (!std::filesystem::exists(kShared + "/a-ftrace-trace-6.x.txt")) GTEST_SKIP() << "no shared samples at " << kShared;
  Counts c;
  import(read(kShared + "/a-ftrace-trace-6.x.txt"), c);
  EXPECT_EQ(c.in.format, "ftrace");
  EXPECT_EQ(c.in.cpus, 4);
  EXPECT_EQ(c.in.malformed, 0u);
  EXPECT_EQ(c.queued, (M{{"flush_to_ldisc", 1}, {"vmstat_update", 1}, {"ext4_end_io_rsv_work", 2}}));
  EXPECT_EQ(c.ended, (M{{"flush_to_ldisc", 1}, {"vmstat_update", 1}, {"ext4_end_io_rsv_work", 1}}));
  EXPECT_EQ(c.workqueues, (S{"events_unbound", "mm_percpu_wq", "ext4-rsv-conversion"}));
  // max_active 1: the second item waited until the first ended, and is pending at the end.
  auto busy = c.model.busy(c.model.last_ts());
  ASSERT_EQ(busy.workqueues.size(), 3u);
  EXPECT_EQ(c.model.open_instances().size(), 1u);
}

TEST(TraceText, OldKernelTgidPointersFourFlags) {
  if (!std::filesystem::exists(kShared + "/b-ftrace-tgid-old-4.x.txt")) GTEST_SKIP() << "no shared samples";
  Counts c;
  import(read(kShared + "/b-ftrace-tgid-old-4.x.txt"), c);
  EXPECT_EQ(c.in.malformed, 0u);
  EXPECT_EQ(c.ended, (M{{"dsi_display_work", 1}, {"vmstat_update", 1}}));  // execute_end without the function
  EXPECT_EQ(c.workqueues, (S{"c2f00a80", "c2e00000"}));                   // by address
}

TEST(TraceText, TraceCmdReportAndPerfScript) {
  if (!std::filesystem::exists(kShared + "/c-trace-cmd-report.txt")) GTEST_SKIP() << "no shared samples";
  Counts c;
  import(read(kShared + "/c-trace-cmd-report.txt"), c);
  EXPECT_EQ(c.in.format, "trace-cmd report");
  EXPECT_EQ(c.ended, (M{{"flush_to_ldisc", 1}, {"blk_mq_run_work_fn", 1}}));
  EXPECT_EQ(c.workqueues, (S{"events_unbound", "kblockd"}));
  Counts d;
  import(read(kShared + "/d-perf-script.txt"), d);
  EXPECT_EQ(d.in.format, "perf script");
  EXPECT_EQ(d.ended, (M{{"blk_mq_requeue_work", 1}, {"wq_barrier_func", 1}}));  // one started before the trace
  EXPECT_EQ(d.workqueues, (S{"kblockd"}));
}

TEST(TraceText, PipeWithSchedSwitchSleepsAndBh) {
  Counts c;
  import(read(kOurs + "/pipe-6.18-sched.txt"), c);
  EXPECT_EQ(c.in.malformed, 0u);
  EXPECT_EQ(c.in.skipped, (std::map<std::string, std::uint64_t>{{"irq_handler_entry", 1}, {"sched_wakeup", 1}}));
  EXPECT_EQ(c.ended, (M{{"delayed_vfree_work", 1}, {"blk_mq_requeue_work", 1}}));
  EXPECT_EQ(c.skipped.bh, 4u);  // events_bh's item: queued, activated, run in softirq
  EXPECT_EQ(c.skipped.before, 0u);
  EXPECT_EQ(c.workqueues, (S{"events", "kblockd"}));
  // kblockd is highpri: its items ran on kworker/0:1H; the worker waited 1 ms in D inside its item.
  const WorkerInfo& w = c.model.workers().at(58);
  EXPECT_EQ(w.pool, 1);
  EXPECT_EQ(c.model.pools().at(1).nice, -20);
  EXPECT_EQ(w.state, WorkerState::Idle);
}

TEST(TraceText, TgidColumnUnboundMaxActive) {
  Counts c;
  import(read(kOurs + "/trace-tgid-6.x.txt"), c);
  EXPECT_EQ(c.in.malformed, 0u);
  EXPECT_EQ(c.ended, (M{{"ext4_end_io_rsv_work", 2}}));
  EXPECT_EQ(c.model.workqueues().begin()->second.flags & 2u, 2u);  // WQ_UNBOUND: cpu=-1, kworker/u8
  EXPECT_TRUE(c.model.pools().contains(8));
}

TEST(TraceText, OldPointersNrCpusNoEndFunction) {
  Counts c;
  import(read(kOurs + "/old-3.x-pointer.txt"), c);
  EXPECT_EQ(c.in.malformed, 0u);
  EXPECT_EQ(c.ended, (M{{"vmstat_update", 1}, {"flush_to_ldisc", 1}}));
  EXPECT_EQ(c.skipped.before, 1u);  // the second end of the same item
  EXPECT_EQ(c.workqueues, (S{"ffff88003d40f000", "ffff88003d40e400"}));
}

TEST(TraceText, ReportWithInstanceLostAndItsOwnSchedSwitch) {
  Counts c;
  import(read(kOurs + "/report-instance.txt"), c);
  EXPECT_EQ(c.in.malformed, 0u);
  EXPECT_EQ(c.in.lost, 12u);
  EXPECT_EQ(c.ended, (M{{"vmstat_update", 1}, {"delayed_vfree_work", 1}}));
  ASSERT_TRUE(c.model.workers().contains(24));
}

TEST(TraceText, PerfPidTidAndCommsWithSpaces) {
  Counts c;
  import(read(kOurs + "/perf-pid-tid.txt"), c);
  EXPECT_EQ(c.in.format, "perf script");
  EXPECT_EQ(c.in.malformed, 0u);
  EXPECT_EQ(c.ended, (M{{"psi_avgs_work", 1}}));
  EXPECT_EQ(c.in.skipped, (std::map<std::string, std::uint64_t>{{"softirq_entry", 1}}));
}

TEST(TraceText, QueueOnlyGivesWhoQueuesWhat) {
  Counts c;
  import(read(kOurs + "/queue-only-set-event.txt"), c);
  EXPECT_EQ(c.queued, (M{{"vmstat_update", 3}, {"flush_to_ldisc", 3}}));
  EXPECT_TRUE(c.started.empty());
  EXPECT_EQ(c.workqueues, (S{"mm_percpu_wq", "events_unbound"}));
}

TEST(TraceText, MalformedLinesCountedAndSkipped) {
  Counts c;
  import(read(kOurs + "/malformed.txt"), c);
  EXPECT_EQ(c.in.malformed, 8u);
  EXPECT_EQ(c.ended, (M{{"vmstat_update", 1}}));
}

TEST(Top, FunctionsByQueueRateRunsAndCpuWithTheirKworkers) {
  Counts c, d;
  import(read(kOurs + "/trace-tgid-6.x.txt"), c);
  import(read(kOurs + "/pipe-6.18-sched.txt"), d);
  auto rows = c.top.tables(2'000'000'000, 10);
  auto row = [&rows](const std::string& title, int n) {
    auto it = std::find(rows.begin(), rows.end(), title);
    return it == rows.end() || rows.end() - it < n + 2 ? std::string() : *(it + 1 + n);
  };
  // Two seconds: 2 queued are 1.0/s; the queuer is dd (6349); kworker/u8:2 (13318) ran both.
  EXPECT_EQ(row("Functions by queue rate (workqueue_queue_work), over 2.000s:", 1),
            "       1.0         2  ext4_end_io_rsv_work             ext4-rsv-conversion  6349 x2");
  EXPECT_EQ(row("Functions by run count (workqueue_execute_start to _end):", 1),
            "       1.0         2  ext4_end_io_rsv_work             ext4-rsv-conversion  13318 x2");
  // blk_mq_requeue_work ran 1.06 ms of wall time, 1.0 ms of it asleep in D: 0.05 ms on the CPU.
  EXPECT_EQ(row("Functions by CPU time:", 1),
            "     1.627     813.5    1030.0  ext4_end_io_rsv_work             ext4-rsv-conversion  13318 x2");
  rows = d.top.tables(2'000'000'000, 10);
  EXPECT_EQ(row("Functions by CPU time:", 1),
            "     0.050      50.0      50.0  blk_mq_requeue_work              kblockd              58 x1");
}

TEST(TraceText, Detection) {
  EXPECT_TRUE(is_text_trace("# tracer: nop\n"));
  EXPECT_TRUE(is_text_trace("  bash-1 [000] 1.000: sched_switch: x\n"));
  EXPECT_TRUE(is_text_trace(" bash 1 [000] 1.000: workqueue:workqueue_queue_work: x\n"));
  EXPECT_FALSE(is_text_trace("[  842.410023] BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 31s!\n"));
  EXPECT_FALSE(is_text_trace("Showing busy workqueues and worker pools:\n"));
}

}  // namespace
}  // namespace wqscope::trace
