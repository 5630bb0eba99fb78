// The event schema: records round-trip, bad streams are refused with a clear
// error, simulator and runtime emit the same kinds, and a stuck item's start is
// handed over while it is still stuck.
#include <cmwq/cmwq.h>
#include <cmwq/recorder.h>
#include <cmwq/sim.h>

#include <gtest/gtest.h>

#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <sstream>

using namespace std::chrono_literals;

namespace cmwq {
namespace {

struct Decoded {
  std::vector<std::uint16_t> kinds;
  std::map<std::uint32_t, std::string> names;
  std::map<std::string, std::vector<std::uint16_t>> work_kinds;  // by function name
  std::vector<std::string> starts;                               // functions, in start order
  std::uint64_t last_seq = 0;
  bool gapless = true;
};

void decode(std::span<const std::byte> bytes, Decoded& d) {
  for_each_record(bytes, [&](const Record& r) {
    d.gapless = d.gapless && (d.last_seq == 0 || r.h->seq == d.last_seq + 1);
    d.last_seq = r.h->seq;
    d.kinds.push_back(r.h->kind);
    if (r.h->kind == CMWQ_EV_NAME) d.names[r.name()->id] = r.name()->text;
    if (r.h->kind >= CMWQ_EV_WORK_QUEUE && r.h->kind <= CMWQ_EV_WORK_CANCEL) {
      const std::string& fn = d.names.at(r.state()->func);
      d.work_kinds[fn].push_back(r.h->kind);
      if (r.h->kind == CMWQ_EV_WORK_START) d.starts.push_back(fn);
    }
  });
}

TEST(Events, StreamsRoundTripAndBadStreamsAreRefused) {
  Recorder rec(42, 1, 2, 30 * kSec);
  rec.restart(5);
  Pool pool;
  pool.id = 3;
  pool.cpu = 1;
  Workqueue wq;
  wq.id = 7;
  wq.name = "events";
  Work w{"my_fn"};
  w.id = 99;
  rec.record(Event{10, EventKind::WqCreate, nullptr, nullptr, nullptr, &wq, 256}, 11);
  rec.record(Event{20, EventKind::WorkQueue, &pool, nullptr, &w, &wq, -1}, 12);
  std::uint64_t n = 0;
  auto bytes = rec.take(&n);
  EXPECT_EQ(n, 5u);  // HELLO, NAME events, WQ_CREATE, NAME my_fn, WORK_QUEUE
  std::vector<const cmwq_event_header*> seen;
  for_each_record(bytes, [&](const Record& r) { seen.push_back(r.h); });
  ASSERT_EQ(seen.size(), 5u);
  EXPECT_EQ(seen[0]->kind, CMWQ_EV_HELLO);
  EXPECT_EQ(seen[4]->kind, CMWQ_EV_WORK_QUEUE);
  auto* q = reinterpret_cast<const cmwq_ev_state*>(seen[4]);
  EXPECT_EQ(q->h.pid, 42u);
  EXPECT_EQ(q->h.tid, 12u);
  EXPECT_EQ(q->h.cpu, 1);
  EXPECT_EQ(q->h.seq, 5u);
  EXPECT_EQ(q->work, 99u);
  EXPECT_EQ(q->wq, 7u);
  EXPECT_EQ(q->pool, 3);
  EXPECT_EQ(q->arg, -1);

  auto error_of = [](std::vector<std::byte> b) {
    try {
      for_each_record(b, [](const Record&) {});
    } catch (const RecordError& e) {
      return std::string(e.what());
    }
    return std::string("no error");
  };
  auto truncated = bytes;
  truncated.resize(bytes.size() - 10);
  EXPECT_EQ(error_of(truncated).substr(0, 45), "event stream: record at byte 352 claims 88 by");
  auto bad_kind = bytes;
  reinterpret_cast<cmwq_event_header*>(bad_kind.data())->kind = 999;
  EXPECT_EQ(error_of(bad_kind), "event stream: record at byte 0 has unknown kind 999 (this reader knows 1-40)");
  auto newer = bytes;
  reinterpret_cast<cmwq_ev_hello*>(newer.data())->version = CMWQ_EVENTS_VERSION + 1;
  EXPECT_EQ(error_of(newer), "event stream: schema version 3 is newer than this reader's 2; update wqscope");
  std::vector<std::byte> junk(100, std::byte{0xff});
  EXPECT_NE(error_of(junk), "no error");
}

// A new session (another tracer attached) starts with a HELLO that names the System and the
// session, and sends each name again on its next use, with the id it had: ids and seq go on.
TEST(Events, ANewSessionKeepsItsIdsAndSequence) {
  Recorder rec(42, 3, 2, 30 * kSec);
  rec.restart(0);
  Workqueue wq;
  wq.id = 7;
  wq.name = "events";
  Work a{"fn_a"}, b{"fn_b"};
  Pool pool;
  rec.record(Event{1, EventKind::WorkQueue, &pool, nullptr, &a, &wq, -1}, 1);
  rec.record(Event{2, EventKind::WorkQueue, &pool, nullptr, &b, &wq, -1}, 1);
  EXPECT_EQ(rec.stream_id(), CMWQ_STREAM_ID(3, 1));
  rec.restart(3);
  rec.record(Event{4, EventKind::WorkQueue, &pool, nullptr, &b, &wq, -1}, 1);
  rec.announced(5);
  EXPECT_EQ(rec.stream_id(), CMWQ_STREAM_ID(3, 2));
  std::vector<std::pair<std::uint32_t, std::string>> names;
  std::vector<std::uint64_t> seqs;
  std::uint32_t session = 0;
  for_each_record(rec.take(), [&](const Record& r) {
    seqs.push_back(r.h->seq);
    if (r.h->kind == CMWQ_EV_NAME) names.emplace_back(r.name()->id, r.name()->text);
    if (r.h->kind == CMWQ_EV_HELLO) {
      EXPECT_EQ(r.hello()->system, 3u);
      session = r.hello()->session;
    }
  });
  EXPECT_EQ(session, 2u);
  ASSERT_EQ(names.size(), 3u);
  EXPECT_EQ(names[2], (std::pair<std::uint32_t, std::string>{2, "fn_b"}));  // again, as id 2
  for (std::size_t i = 0; i < seqs.size(); ++i) EXPECT_EQ(seqs[i], i + 1);
}

// The same story on both drivers: one CPU, an ordered workqueue, three items.
TEST(Events, SimulatorAndRuntimeEmitTheSameKinds) {
  std::istringstream in(
      "cpus 1\nworkqueue ord ordered\n"
      "work a ord fn=fa: burn 1ms\nwork b ord fn=fb: sleep 1ms\nwork c ord fn=fc: burn 1ms\n"
      "at 0 queue a b c\n");
  sim::Result r = sim::run(sim::parse_scenario(in, "t.scn"), true);
  Decoded s;
  decode(r.events, s);

  Decoded rt;
  std::mutex mu;
  {
    Options o;
    o.cpus = 1;
    o.log = [](std::string_view) {};
    o.on_events = [&](std::span<const std::byte> b, std::uint64_t) {
      std::lock_guard lk(mu);
      decode(b, rt);
    };
    System sys(o);
    Workqueue* wq = sys.alloc_ordered_workqueue("ord");
    auto burn = [](Work&) {
      auto end = std::chrono::steady_clock::now() + 1ms;
      while (std::chrono::steady_clock::now() < end) {
      }
    };
    Work a{"fa", burn}, b{"fb", [](Work&) { sleep_for(1ms); }}, c{"fc", burn};
    sys.queue_work(wq, a), sys.queue_work(wq, b), sys.queue_work(wq, c);
    sys.flush_workqueue(wq);
    sys.destroy_workqueue(wq);
  }
  EXPECT_TRUE(s.gapless);
  EXPECT_TRUE(rt.gapless);
  for (auto* fn : {"fa", "fb", "fc"}) EXPECT_EQ(s.work_kinds[fn], rt.work_kinds[fn]) << fn;
  EXPECT_EQ(s.work_kinds["fa"], (std::vector<std::uint16_t>{CMWQ_EV_WORK_QUEUE, CMWQ_EV_WORK_ACTIVATE,
                                                             CMWQ_EV_WORK_START, CMWQ_EV_WORK_END}));
  EXPECT_EQ(s.starts, (std::vector<std::string>{"fa", "fb", "fc"}));
  EXPECT_EQ(rt.starts, s.starts);
  // Every kind the simulator emitted for this story, the runtime emitted too.
  std::set<std::uint16_t> sk(s.kinds.begin(), s.kinds.end()), rk(rt.kinds.begin(), rt.kinds.end());
  for (auto k : sk) EXPECT_TRUE(rk.count(k)) << "kind " << k << " only in the simulator";
  EXPECT_TRUE(sk.count(CMWQ_EV_WORKER_SLEEP));
}

TEST(Events, AStuckItemsStartIsHandedOverWhileItIsStuck) {
  std::mutex mu;
  std::condition_variable cv;
  bool start_seen = false;
  Options o;
  o.cpus = 1;
  o.log = [](std::string_view) {};
  o.on_events = [&](std::span<const std::byte> b, std::uint64_t) {
    for_each_record(b, [&](const Record& r) {
      if (r.h->kind == CMWQ_EV_WORK_START) {
        std::lock_guard lk(mu);
        start_seen = true;
        cv.notify_all();
      }
    });
  };
  System sys(o);
  Completion never, started;
  Work stuck{"stuck_fn", [&](Work&) {
               started.complete();
               never.wait();
             }};
  sys.schedule_work(stuck);
  started.wait();
  auto t0 = std::chrono::steady_clock::now();
  {
    std::unique_lock lk(mu);
    EXPECT_TRUE(cv.wait_for(lk, 5s, [&] { return start_seen; })) << "start of a stuck item never handed over";
  }
  auto waited = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  RecordProperty("start_visible_after_ms", static_cast<int>(waited.count()));
  never.complete();  // only now may the item return
  sys.flush_work(stuck);
}

}  // namespace
}  // namespace cmwq
