// Kernel mode's translation, without a kernel: events as bpf/kernel.bpf.c makes them, through
// KernelStream, into the model and the watchdog that watch --kernel uses.
#include "kernel_stream.h"
#include "explain.h"
#include "model.h"
#include "watchdog.h"

#include <cmwq/kernel_era.h>
#include <cmwq/recorder.h>

#include <gtest/gtest.h>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <array>
#include <set>
#include <string>
#include <vector>

namespace wqscope {
namespace {

constexpr std::int64_t kSec = 1'000'000'000;
constexpr std::uint64_t kWork = 0xffff888001000000, kFunc = 0xffffffff81100000, kWq = 0xffff888002000000;
constexpr std::uint32_t kWorker = 100;

class KernelStreamTest : public ::testing::Test {
 protected:
  KernelStreamTest() : stream_(symbols(), kPointers, 2, 30 * kSec) {}
  /// The stream's key, fixed here so that the tests know what an address becomes.
  static inline const KernelPointers kPointers{std::array<std::uint64_t, 2>{1, 2}};
  static KernelSymbols symbols() {
    KernelSymbols s;
    s.add(kFunc, "vmstat_update");
    return s;
  }

  /// An event on pool 0 (cpu 0) of the workqueue "events", as the BPF side fills it.
  static cmwq_kernel_event event(std::uint16_t kind, std::int64_t ts, std::uint32_t tid = kWorker) {
    cmwq_kernel_event e{};
    e.kind = kind;
    e.tid = tid;
    e.ts = static_cast<std::uint64_t>(ts);
    e.work = kWork;
    e.func = kFunc;
    e.wq = kWq;
    e.pool = cmwq_kernel_pool{0, 0, 0, 0, 0, 1, 1, 2, 0, 0, {}};
    e.req_cpu = 256;  // WORK_CPU_UNBOUND: NR_CPUS
    e.nr_active = 0;
    e.max_active = 1024;
    e.wq_flags = 0x100;  // WQ_PERCPU
    std::snprintf(e.wq_name, sizeof e.wq_name, "events");
    return e;
  }
  void feed(const cmwq_kernel_event& e) {
    std::vector<std::byte> out;
    stream_.translate(e, out);
    cmwq::for_each_record(out, [&](const cmwq::Record& r) {
      model_.apply(r);
      records_.push_back(*r.h);
      if (r.h->size >= sizeof(cmwq_ev_state) && r.h->kind != CMWQ_EV_NAME && r.h->kind != CMWQ_EV_HELLO)
        works_.push_back(r.state()->work);
      if (r.h->kind == CMWQ_EV_NAME) names_.emplace_back(r.name()->text);
    });
  }
  void queue(std::int64_t ts, bool activate = true) {
    feed(event(CMWQ_EV_WORK_QUEUE, ts, 1));
    if (!activate) return;
    auto a = event(CMWQ_EV_WORK_ACTIVATE, ts, 1);
    a.nr_active = 1;
    feed(a);
  }

  KernelStream stream_;
  Model model_;
  std::vector<cmwq_event_header> records_;
  std::vector<std::uint64_t> works_;  // every state record's work field
  std::vector<std::string> names_;
};

// The recording is given to the sudo user or a group: no kernel address in it, whatever
// kptr_restrict says. Items keep one value each within a stream, so they still match up.
TEST_F(KernelStreamTest, ItemsAndUnnamedFunctionsAreHashedNotKernelAddresses) {
  queue(1 * kSec);
  auto start = event(CMWQ_EV_WORK_START, 2 * kSec);
  feed(start);
  auto other = event(CMWQ_EV_WORK_QUEUE, 3 * kSec, 1);
  other.work = kWork + 0x40;
  other.func = 0xffffffffc0a01230;  // a module loaded after the symbols were read
  feed(other);
  std::set<std::uint64_t> items;
  for (std::uint64_t w : works_) {
    EXPECT_NE(w, kWork);
    EXPECT_LT(w, std::uint64_t{1} << 48) << std::hex << w;  // nothing like 0xffff...
    if (w) items.insert(w);
  }
  EXPECT_EQ(items.size(), 2u);  // kWork's records agree with each other, kWork + 0x40 differs
  for (auto& n : names_) EXPECT_EQ(n.find("ffff"), std::string::npos) << n;
  EXPECT_TRUE(std::any_of(names_.begin(), names_.end(), [](auto& n) { return n.rfind("0x", 0) == 0; }));
  // Another recording, another key.
  KernelStream again(symbols(), KernelPointers(), 2, 30 * kSec);
  std::vector<std::byte> out;
  again.translate(event(CMWQ_EV_WORK_QUEUE, kSec, 1), out);
  cmwq::for_each_record(out, [&](const cmwq::Record& r) {
    if (r.h->kind == CMWQ_EV_WORK_QUEUE) {
      EXPECT_EQ(items.count(r.state()->work), 0u);
    }
  });
}

TEST(KernelPointers, SipHash24OfTheReferenceVectorCutTo48Bits) {
  // SipHash-2-4's reference test vector: key 00..0f, message 00..07 -> 0x93f5f5799a932462.
  KernelPointers p({0x0706050403020100ULL, 0x0f0e0d0c0b0a0908ULL});
  EXPECT_EQ(p.hide(0x0706050403020100ULL), 0x93f5f5799a932462ULL & ((std::uint64_t{1} << 48) - 1));
  EXPECT_EQ(p.hide(0), 0u);
  EXPECT_EQ(KernelPointers(true).hide(kWork), kWork);  // raw: root's own recording, on request
}

TEST_F(KernelStreamTest, AnItemsLifeWithAWaitInside) {
  queue(1 * kSec);
  auto start = event(CMWQ_EV_WORK_START, 2 * kSec);
  start.nr_active = 1;
  start.runtime_ns = 5'000;
  feed(start);
  auto off = event(CMWQ_EV_OFF_CPU, 2 * kSec + 100);
  off.task_state = 2;  // TASK_UNINTERRUPTIBLE
  feed(off);
  feed(event(CMWQ_EV_ON_CPU, 2 * kSec + 700));
  auto end = event(CMWQ_EV_WORK_END, 3 * kSec);
  end.nr_active = 1;
  end.runtime_ns = 9'000;
  std::vector<WorkInstance> done;
  struct Done : ModelObserver {
    std::vector<WorkInstance>* out;
    void on_work_done(const WorkInstance& w) override { out->push_back(w); }
  } observer;
  observer.out = &done;
  model_.add_observer(&observer);
  feed(end);

  EXPECT_EQ(model_.anomalies(), 0u);
  EXPECT_EQ(model_.lost(), 0u);
  ASSERT_EQ(done.size(), 1u);
  EXPECT_EQ(done[0].func, "vmstat_update");
  EXPECT_EQ(done[0].wq, "events");
  EXPECT_EQ(done[0].queued_ns, 1 * kSec);
  EXPECT_EQ(done[0].started_ns, 2 * kSec);
  EXPECT_EQ(done[0].cpu_ns, 4'000);     // the kworker's CPU time between start and end
  EXPECT_EQ(done[0].off_cpu_ns, 600);   // the wait inside it
  EXPECT_EQ(done[0].worker, static_cast<int>(kWorker));
  const auto& wq = model_.workqueues().begin()->second;
  EXPECT_EQ(wq.name, "events");
  EXPECT_EQ(wq.max_active, 1024);
  EXPECT_EQ(wq.counters.started, 1u);
  EXPECT_EQ(wq.counters.completed, 1u);
  EXPECT_FALSE(model_.workers().at(kWorker).hidden_block);  // the kernel's waits are always announced
  EXPECT_TRUE(model_.pools().at(0).worklist.empty());
}

// wq_worker_tick() marks an item that runs past wq_cpu_intensive_thresh_us WORKER_CPU_INTENSIVE, a
// flag the kworker keeps until after execute_end: its end says so, and watch reports the function in
// the kernel's words (wq_cpu_intensive_report: the 4th time, then 5th, 7th, 11th...), with the
// threshold it was given. WQ_CPU_INTENSIVE workqueues set the flag at every start: no hog.
TEST_F(KernelStreamTest, AnItemTheKernelMarkedCpuIntensiveIsAHog) {
  Watchdog dog(30 * kSec);
  dog.hog_thresh(20'000'000);
  model_.add_observer(&dog);
  std::vector<std::string> said;
  auto run = [&](int i, std::uint32_t worker_flags, std::uint32_t wq_flags) {
    queue(i * kSec);
    auto start = event(CMWQ_EV_WORK_START, i * kSec + 1);
    start.wq_flags = wq_flags;
    start.worker_flags = wq_flags & cmwq::WQ_CPU_INTENSIVE ? std::uint32_t{cmwq::WORKER_CPU_INTENSIVE} : 0u;
    feed(start);
    auto end = event(CMWQ_EV_WORK_END, i * kSec + 30'000'000);
    end.wq_flags = wq_flags;
    end.worker_flags = worker_flags;
    end.runtime_ns = 25'000'000;
    feed(end);
    for (const Alert& a : dog.check(model_, i * kSec + 30'000'000)) said.push_back(a.message);
  };
  for (int i = 1; i <= 3; ++i) run(i, cmwq::WORKER_CPU_INTENSIVE, 0x100);
  EXPECT_TRUE(said.empty());  // from the 4th time on
  run(4, cmwq::WORKER_CPU_INTENSIVE, 0x100);
  run(5, 0, 0x100);  // a short one
  run(6, cmwq::WORKER_CPU_INTENSIVE, 0x100 | cmwq::WQ_CPU_INTENSIVE);  // its workqueue's flag, not a hog
  run(7, cmwq::WORKER_CPU_INTENSIVE, 0x100);
  EXPECT_EQ(said, (std::vector<std::string>{
                      "workqueue: vmstat_update hogged CPU for >20000us 4 times, consider switching to WQ_UNBOUND",
                      "workqueue: vmstat_update hogged CPU for >20000us 5 times, consider switching to WQ_UNBOUND"}));
  EXPECT_EQ(model_.hogs().at("vmstat_update"), 5u);
  EXPECT_EQ(model_.anomalies(), 0u);
}

// An unbound pool prints its attributes' CPUs and its node, as pr_cont_pool_info() does; without a
// mask (an imported trace), all possible CPUs and no node.
TEST_F(KernelStreamTest, AnUnboundPoolHasTheCpusOfItsAttributes) {
  auto e = event(CMWQ_EV_WORK_QUEUE, 1 * kSec, 1);
  e.pool = cmwq_kernel_pool{5, -1, 0, 0, 0x4, 0, 1, 1, 0, 0, {0b10}};
  feed(e);
  e.work += 64;
  e.pool = cmwq_kernel_pool{6, -1, -1, -20, 0x4, 0, 1, 1, 0, 0, {}};
  feed(e);
  EXPECT_EQ(model_.pool_identity(model_.pools().at(5)), " cpus=1 node=0 flags=0x4 nice=0");
  EXPECT_EQ(model_.pool_identity(model_.pools().at(6)), " cpus=0-1 flags=0x4 nice=-20");
}

TEST_F(KernelStreamTest, AStuckPoolIsReportedInTheKernelsWords) {
  queue(1 * kSec);
  Watchdog dog(5 * kSec);
  EXPECT_TRUE(dog.check(model_, 5 * kSec).empty());
  auto alerts = dog.check(model_, 7 * kSec);
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].message, "BUG: workqueue lockup - pool cpus=0 node=0 flags=0x0 nice=0 stuck for 6s!");
  auto busy = cmwq::report::show_busy(model_.busy(7 * kSec));
  EXPECT_NE(std::find(busy.begin(), busy.end(), "    pending: vmstat_update"), busy.end());
}

TEST_F(KernelStreamTest, TheDumpIsPrintedAsTheTracedKernelPrintsIt) {
  EXPECT_EQ(cmwq::kernel_of_release("6.18.44-fc-v782"), cmwq::Kernel::V6_9);
  EXPECT_EQ(cmwq::kernel_of_release("7.0.0-rc1"), cmwq::Kernel::V7_0);
  EXPECT_EQ(cmwq::kernel_of_release("6.5.0"), cmwq::Kernel::V6_5);
  EXPECT_EQ(cmwq::kernel_of_release("5.15.0-91-generic"), cmwq::Kernel::Seeds);
  EXPECT_EQ(cmwq::kernel_of_release("garbage"), cmwq::Kernel::Seeds);
  auto dump_of = [](const char* release) {
    KernelStream stream(symbols(), kPointers, 2, 30 * kSec);
    stream.print_as(cmwq::dialect_of(cmwq::kernel_of_release(release)));
    Model model;
    auto feed_to = [&](const cmwq_kernel_event& e) {
      std::vector<std::byte> out;
      stream.translate(e, out);
      cmwq::for_each_record(out, [&](const cmwq::Record& r) { model.apply(r); });
    };
    feed_to(event(CMWQ_EV_WORK_QUEUE, 1 * kSec, 1));
    auto activate = event(CMWQ_EV_WORK_ACTIVATE, 1 * kSec, 1);
    activate.nr_active = 1;
    feed_to(activate);
    auto start = event(CMWQ_EV_WORK_START, 2 * kSec);
    start.nr_active = 1;
    feed_to(start);
    EXPECT_FALSE(model.from_report());  // traced: when items started is known
    return cmwq::report::show_busy(model.busy(7 * kSec));
  };
  auto pwq_line = [](const std::vector<std::string>& lines) {
    auto it = std::find_if(lines.begin(), lines.end(), [](const std::string& l) { return l.starts_with("  pwq 0: "); });
    return it == lines.end() ? std::string() : *it;
  };
  auto has = [](const std::vector<std::string>& lines, const std::string& line) {
    return std::find(lines.begin(), lines.end(), line) != lines.end();
  };
  // 6.9 on: max_active is the workqueue's, not the pwq line's.
  auto now = dump_of("6.18.44-fc-v782");
  std::string line = pwq_line(now);
  EXPECT_TRUE(line.find(" active=") != std::string::npos && line.find('/') == std::string::npos) << line;
  EXPECT_TRUE(has(now, "    in-flight: 100:vmstat_update")) << fmt::format("{}", fmt::join(now, "\n"));
  // 7.0: how long each in-flight item has run.
  EXPECT_TRUE(has(dump_of("7.0.0"), "    in-flight: 100:vmstat_update for 5s"));
  // Before: the seeds' form, as libcmwq prints it.
  line = pwq_line(dump_of("5.15.0"));
  EXPECT_NE(line.find("/1024 refcnt="), std::string::npos) << line;
}

// 6.9+: a BH workqueue's item runs in softirq on its CPU, by its BH pool's one worker (no task):
// the BPF side names it CMWQ_KERNEL_BH_TID(pool), and its time is CPU time (it cannot sleep).
TEST_F(KernelStreamTest, BhItemsRunOnTheirCpusBhPoolAndPrintAsTheKernelDoes) {
  KernelStream stream(symbols(), kPointers, 2, 30 * kSec);
  stream.print_as(cmwq::dialect_of(cmwq::Kernel::V6_9));
  Model model;
  std::vector<cmwq_ev_state> ends;
  auto feed_to = [&](const cmwq_kernel_event& e) {
    std::vector<std::byte> out;
    stream.translate(e, out);
    cmwq::for_each_record(out, [&](const cmwq::Record& r) {
      model.apply(r);
      if (r.h->kind == CMWQ_EV_WORK_END) ends.push_back(*r.state());
    });
  };
  // CPU 1's pools in 6.9: BH 4, BH-highpri 5 (POOL_BH, and always DISASSOCIATED), normal 6, highpri 7.
  auto bh_event = [&](std::uint16_t kind, std::int64_t ts, int pool, std::uint32_t tid) {
    auto e = event(kind, ts, tid);
    e.pool = cmwq_kernel_pool{pool, 1, 0, pool == 5 ? -20 : 0, 0x5, 0, 0, 1, 0, 0, {}};
    e.work = kWork + 64 * static_cast<std::uint64_t>(pool);
    e.wq_flags = 0x1 | 0x100;  // WQ_BH | WQ_PERCPU
    e.max_active = 256;
    std::snprintf(e.wq_name, sizeof e.wq_name, pool == 5 ? "events_bh_highpri" : "events_bh");
    e.wq = kWq + static_cast<std::uint64_t>(pool);
    return e;
  };
  for (int pool : {4, 5}) {
    feed_to(bh_event(CMWQ_EV_WORK_QUEUE, 1 * kSec, pool, 1));
    auto activate = bh_event(CMWQ_EV_WORK_ACTIVATE, 1 * kSec, pool, 1);
    activate.nr_active = 1;
    feed_to(activate);
    auto start = bh_event(CMWQ_EV_WORK_START, 2 * kSec, pool, CMWQ_KERNEL_BH_TID(pool));
    start.nr_active = 1;
    start.runtime_ns = start.ts;
    feed_to(start);
  }
  auto dump = cmwq::report::show_busy(model.busy(3 * kSec));
  auto has = [&](const std::string& line) { return std::find(dump.begin(), dump.end(), line) != dump.end(); };
  std::string all = fmt::format("{}", fmt::join(dump, "\n"));
  EXPECT_TRUE(has("  pwq 4: cpus=1 node=0 flags=0x5 bh active=1 refcnt=2")) << all;
  EXPECT_TRUE(has("  pwq 5: cpus=1 node=0 flags=0x5 bh-hi active=1 refcnt=2")) << all;
  EXPECT_TRUE(has("    in-flight: bh:vmstat_update")) << all;
  EXPECT_TRUE(has("    in-flight: bh-hi:vmstat_update")) << all;
  // Its worker is the pool's, not a task's: two BH pools, two workers.
  EXPECT_EQ(model.workers().size(), 2u);
  auto end = bh_event(CMWQ_EV_WORK_END, 2 * kSec + 3'000'000, 4, CMWQ_KERNEL_BH_TID(4));
  end.runtime_ns = end.ts;
  feed_to(end);
  ASSERT_EQ(ends.size(), 1u);
  EXPECT_EQ(ends[0].arg, 3'000'000);  // its CPU time: 3 ms
  EXPECT_EQ(ends[0].pool, 4);
  // Always DISASSOCIATED, which says nothing of its CPU: not "offline" when it stalls, and a CPU's
  // hotplug leaves its flags as they are.
  feed_to(bh_event(CMWQ_EV_WORK_QUEUE, 4 * kSec, 4, 1));
  auto activate = bh_event(CMWQ_EV_WORK_ACTIVATE, 4 * kSec, 4, 1);
  activate.nr_active = 1;
  feed_to(activate);
  auto why = explain(model, 60 * kSec, 30 * kSec);
  ASSERT_FALSE(why.pools.empty());
  for (const auto& stuck : why.pools)
    for (const auto& cause : stuck.causes) EXPECT_NE(cause.kind, "disassociated") << cause.text;
  cmwq_ev_state online{};
  online.h = cmwq_event_header{CMWQ_EV_CPU_ONLINE, sizeof online, 0, 0, -1, 61 * kSec, 0};
  online.arg = 1;
  model.apply(cmwq::Record{&online.h});
  EXPECT_EQ(model.pools().at(4).flags, 0x5u);
}

TEST_F(KernelStreamTest, QueuedAgainWhileQueuedWasTakenBackUnseen) {
  queue(1 * kSec);
  queue(2 * kSec);  // mod_delayed_work() took it off the worklist and queued it again
  EXPECT_EQ(model_.anomalies(), 0u);
  EXPECT_EQ(model_.pools().at(0).worklist.size(), 1u);
  EXPECT_EQ(model_.open_instances().size(), 1u);
  EXPECT_EQ(model_.open_instances()[0].queued_ns, 2 * kSec);
}

TEST_F(KernelStreamTest, AnItemTakenBackOffItsListLeavesIt) {
  queue(1 * kSec);
  auto grab = event(CMWQ_EV_WORK_CANCEL, 2 * kSec, 1);
  grab.nr_active = 0;  // after it gave back its slot
  feed(grab);
  EXPECT_TRUE(model_.pools().at(0).worklist.empty());
  EXPECT_TRUE(model_.open_instances().empty());
  EXPECT_EQ(model_.pwqs().begin()->second.nr_active, 0);
  Watchdog dog(5 * kSec);
  EXPECT_TRUE(dog.check(model_, 60 * kSec).empty());
  // Grabbing one that was only on its timer says nothing.
  feed(grab);
  EXPECT_EQ(model_.anomalies(), 0u);
}

TEST_F(KernelStreamTest, AnItemMissingFromAnEmptyWorklistThatDoesNotStartWasTakenBack) {
  queue(1 * kSec);  // then cancel_work() took it back: no tracepoint, and no try_to_grab_pending program
  constexpr std::uint64_t kOther = kWork + 0x100;
  auto other = event(CMWQ_EV_WORK_QUEUE, 2 * kSec, 1);
  other.work = kOther;
  other.pool.worklist_empty = 1;  // read under the pool's lock
  feed(other);
  EXPECT_EQ(model_.pools().at(0).worklist.size(), 1u);  // a worker may have just taken it: not yet
  auto later = event(CMWQ_EV_WORK_QUEUE, 2 * kSec + KernelStream::kStartGraceNs, 1);
  later.work = kOther + 0x100;
  feed(later);
  EXPECT_TRUE(model_.pools().at(0).worklist.empty());
  EXPECT_EQ(model_.anomalies(), 0u);
  Watchdog dog(5 * kSec);
  EXPECT_TRUE(dog.check(model_, 60 * kSec).empty());
}

TEST_F(KernelStreamTest, AnItemMissingFromAnEmptyWorklistThatStartsWasNotTakenBack) {
  queue(1 * kSec);
  auto other = event(CMWQ_EV_WORK_QUEUE, 2 * kSec, 1);
  other.work = kWork + 0x100;
  other.pool.worklist_empty = 1;  // the worker took kWork off the list and has not said so yet
  feed(other);
  feed(event(CMWQ_EV_WORK_START, 2 * kSec + 10));
  auto later = event(CMWQ_EV_WORK_END, 4 * kSec);
  feed(later);
  EXPECT_EQ(model_.anomalies(), 0u);
  EXPECT_EQ(model_.workqueues().begin()->second.counters.completed, 1u);
  EXPECT_EQ(model_.open_instances().size(), 1u);  // only the other one, still queued
}

TEST_F(KernelStreamTest, AnItemQueuedAgainWhileItRunsWaitsForItsWorker) {
  feed(event(CMWQ_EV_WORK_START, 1 * kSec));
  queue(2 * kSec);  // the same work_struct, queued while it runs: a colliding worker hands it over
  auto other = event(CMWQ_EV_WORK_QUEUE, 3 * kSec, 1);
  other.work = kWork + 0x100;
  other.pool.worklist_empty = 1;
  feed(other);
  auto much_later = event(CMWQ_EV_WORK_QUEUE, 9 * kSec, 1);
  much_later.work = kWork + 0x200;
  feed(much_later);
  auto queued = model_.open_instances();
  EXPECT_TRUE(std::any_of(queued.begin(), queued.end(), [](const WorkInstance& w) {
    return w.work == kPointers.hide(kWork) && w.queued_ns == 2 * kSec;
  }));
}

TEST_F(KernelStreamTest, ItemsRunningWhenTracingBeganEndUnremarked) {
  auto end = event(CMWQ_EV_WORK_END, 1 * kSec);
  feed(end);  // its start was before us
  EXPECT_EQ(model_.anomalies(), 0u);
  auto start = event(CMWQ_EV_WORK_START, 2 * kSec);  // queued before us
  feed(start);
  EXPECT_EQ(model_.workers().at(kWorker).current.func, "vmstat_update");
  EXPECT_EQ(model_.anomalies(), 0u);
}

TEST_F(KernelStreamTest, AWorkerGoingToSleepWithWorkerIdleIsIdle) {
  auto start = event(CMWQ_EV_WORK_START, 1 * kSec);
  feed(start);
  feed(event(CMWQ_EV_WORK_END, 1 * kSec + 10));
  auto idle = event(CMWQ_EV_OFF_CPU, 1 * kSec + 20);
  idle.work = 0;
  idle.worker_flags = 4;  // WORKER_IDLE
  feed(idle);
  EXPECT_EQ(model_.workers().at(kWorker).state, WorkerState::Idle);
  EXPECT_EQ(model_.pools().at(0).idle.front(), static_cast<int>(kWorker));
  auto exit = event(CMWQ_EV_WORKER_DESTROY, 2 * kSec);
  exit.pool.id = -1;  // detached from its pool by then
  feed(exit);
  EXPECT_TRUE(model_.pools().at(0).idle.empty());
  EXPECT_FALSE(model_.workers().contains(kWorker));  // gone from the model (its row in a recording stays)
}

TEST_F(KernelStreamTest, UnknownFunctionsAreNamedByTheirHashedAddress) {
  auto e = event(CMWQ_EV_WORK_QUEUE, 1 * kSec, 1);
  e.func = 0xffffffffc0001234;  // a module loaded after the symbols were read
  feed(e);
  EXPECT_EQ(model_.open_instances().at(0).func, fmt::format("{:#x}", kPointers.hide(0xffffffffc0001234)));
}

}  // namespace
}  // namespace wqscope
