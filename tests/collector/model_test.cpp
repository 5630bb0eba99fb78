// The model and the recording, fed by the simulator (no BPF): every item of a
// deterministic story lands in work_items with its times.
#include "inspect.h"
#include "model.h"
#include "reader.h"
#include "recording.h"

#include <cmwq/sim.h>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <unistd.h>

namespace wqscope {
namespace {

std::string query(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr);
  std::string out;
  sqlite3_exec(
      h, sql.c_str(),
      [](void* o, int n, char** v, char**) {
        auto& text = *static_cast<std::string*>(o);
        for (int i = 0; i < n; ++i) {
          if (i) text += '|';
          if (v[i]) text += v[i];
        }
        return 0;
      },
      &out, nullptr);
  sqlite3_close(h);
  return out;
}

struct TempDir {
  std::filesystem::path path = std::filesystem::temp_directory_path() / ("wqscope_test_" + std::to_string(getpid()));
  TempDir() { std::filesystem::create_directories(path); }
  ~TempDir() { std::filesystem::remove_all(path); }
};

TEST(Model, SimulatedXfslogdLandsInTheRecording) {
  auto sc = cmwq::sim::load_scenario(std::string(CMWQ_SCENARIOS) + "/seed000-xfslogd.scn");
  sc.config.rescuer_policy = cmwq::RescuerPolicy::k2014;
  auto result = cmwq::sim::run(sc, true);
  TempDir dir;
  std::string path = (dir.path / "x.db").string();
  {
    auto rec = Recording::create(path, {"cmwq-sim seed000-xfslogd.scn", 1, 0});
    Model model(rec.get());
    cmwq::for_each_record(result.events, [&](const cmwq::Record& r) {
      rec->add(r);
      model.apply(r);
    });
    EXPECT_EQ(model.lost(), 0u);
    EXPECT_EQ(model.anomalies(), 0u);
    model.finish();
    rec->finish("simulation ended", result.end, 0, model);
  }
  EXPECT_EQ(query(path, "SELECT count(*) FROM work_items WHERE func = 'xfs_buf_iodone_work' AND ended_ns IS NOT NULL"),
            "1000");
  // 2014 policy: the rescuer ran them all, back to back from the first mayday at 10 ms.
  EXPECT_EQ(query(path, "SELECT count(DISTINCT worker) FROM work_items WHERE wq = 'xfslogd'"), "1");
  EXPECT_EQ(query(path, "SELECT min(started_ns), max(ended_ns) FROM work_items WHERE wq = 'xfslogd'"),
            "10000000|110000000");
  EXPECT_EQ(query(path, "SELECT rescuer_of IS NOT NULL FROM workers WHERE pid = (SELECT worker FROM work_items LIMIT 1)"),
            "1");
  EXPECT_EQ(query(path, "SELECT count(*) FROM events JOIN kinds USING (kind) WHERE name = 'MAYDAY' AND work != 0"), "1");
  EXPECT_EQ(query(path, "SELECT end_reason, lost_events FROM run"), "simulation ended|0");
  // One call for rescue: from the first mayday at 10 ms until the manager, back from its 1 s creation
  // cooldown, finds no work left to need a worker for; the rescuer ran all 1000 meanwhile.
  EXPECT_EQ(query(path, "SELECT pool, started_ns, ended_ns, maydays, rescued, workqueues FROM mayday_episodes"),
            "1|10000000|1000000000|1|1000|xfslogd");
}

/// The dumps a simulation printed, by time: each "Showing busy ..." block without its "[ time] " prefixes.
std::map<std::int64_t, std::vector<std::string>> dumps_in(const cmwq::sim::Result& result) {
  std::map<std::int64_t, std::vector<std::string>> out;
  std::vector<std::string>* current = nullptr;
  for (const std::string& line : result.log) {
    auto close = line.find("] ");
    if (line.empty() || line[0] != '[' || close == std::string::npos) continue;
    auto ns = static_cast<std::int64_t>(std::llround(std::stod(line.substr(1, close - 1)) * 1e9));
    std::string text = line.substr(close + 2);
    if (text == "Showing busy workqueues and worker pools:") current = &out[ns];
    else if (text.starts_with("BUG:") || text.starts_with("cmwq-sim:")) current = nullptr;
    if (current) current->push_back(text);
  }
  return out;
}

/// Every dump the pool printed equals the one the model rebuilds from the events up to that instant.
void expect_same_dumps(const std::string& scenario, std::size_t expected_dumps) {
  SCOPED_TRACE(scenario);
  auto result = cmwq::sim::run(cmwq::sim::load_scenario(scenario), true);
  auto dumps = dumps_in(result);
  ASSERT_EQ(dumps.size(), expected_dumps);
  Model model;
  auto next = dumps.begin();
  cmwq::for_each_record(result.events, [&](const cmwq::Record& r) {
    for (; next != dumps.end() && static_cast<std::int64_t>(r.h->ts) > next->first; ++next)
      EXPECT_EQ(cmwq::report::show_busy(model.busy(next->first)), next->second) << "at " << next->first << " ns";
    model.apply(r);
    // The pool's watchdog dumps right after its LOCKUP record, before anything else happens.
    if (r.h->kind == CMWQ_EV_LOCKUP && next != dumps.end() && next->first == static_cast<std::int64_t>(r.h->ts)) {
      EXPECT_EQ(cmwq::report::show_busy(model.busy(next->first)), next->second);
      ++next;
    }
  });
  for (; next != dumps.end(); ++next) EXPECT_EQ(cmwq::report::show_busy(model.busy(next->first)), next->second);
  EXPECT_EQ(model.anomalies(), 0u);
}

TEST(Model, RebuildsTheKernelsBusyDump) {
  expect_same_dumps(std::string(CMWQ_TEST_SCENARIOS) + "/busy-dumps.scn", 4);
}

TEST(Model, RebuildsTheSeed004LockupDump) {
  expect_same_dumps(std::string(CMWQ_SCENARIOS) + "/seed004-hotplug-lockup.scn", 1);
}

TEST(Recording, SnapshotsGiveTheStateReplayGives) {
  TempDir dir;
  std::string events = (dir.path / "many.bin").string(), db = (dir.path / "many.db").string();
  {
    auto result = cmwq::sim::run(cmwq::sim::load_scenario(std::string(CMWQ_TEST_SCENARIOS) + "/many-items.scn"), true);
    std::ofstream(events, std::ios::binary)
        .write(reinterpret_cast<const char*>(result.events.data()), static_cast<std::streamsize>(result.events.size()));
  }
  ::testing::internal::CaptureStderr();
  ASSERT_EQ(import_events(events, db, 30'000'000'000), 0);
  ::testing::internal::GetCapturedStderr();
  ASSERT_EQ(query(db, "SELECT count(*) >= 1 FROM snapshots"), "1");
  RecordingReader reader(db);
  std::int64_t snap = std::stoll(query(db, "SELECT min(ts) FROM snapshots")), end = reader.last_ns();
  for (std::int64_t t : {snap / 2, snap, snap + 1, (snap + end) / 2, end}) {
    Model from_snapshot, from_start;
    reader.state_at(from_snapshot, t);
    reader.replay(
        [&](const cmwq::Record& r) {
          from_start.apply(r);
          return true;
        },
        t);
    EXPECT_EQ(cmwq::report::show_busy(from_snapshot.busy(t)), cmwq::report::show_busy(from_start.busy(t))) << t;
    EXPECT_EQ(cmwq::report::wq_monitor_table(from_snapshot.monitor()),
              cmwq::report::wq_monitor_table(from_start.monitor()));
    EXPECT_EQ(from_snapshot.records(), from_start.records());
  }
}

TEST(Model, SleepAndWakeRecordsCarryNrRunningAfterThem) {
  // The documentation's timeline: w0 is the only item running on CPU 0 when it sleeps at 5 ms.
  auto result = cmwq::sim::run(cmwq::sim::load_scenario(std::string(CMWQ_SCENARIOS) + "/doc-cmwq-max-active-3.scn"),
                               true);
  int sleeps = 0, wakes = 0;
  cmwq::for_each_record(result.events, [&](const cmwq::Record& r) {
    if (r.h->kind == CMWQ_EV_WORKER_SLEEP && r.h->ts == 5'000'000) {
      ++sleeps;
      EXPECT_EQ(r.state()->nr_running, 0);
    }
    if (r.h->kind == CMWQ_EV_WORKER_WAKE && r.h->ts == 15'000'000) {
      ++wakes;
      EXPECT_GE(r.state()->nr_running, 1);
    }
  });
  EXPECT_EQ(sleeps, 1);
  EXPECT_GE(wakes, 1);
}

TEST(Recording, RefusesToOverwriteAndSaysWhy) {
  TempDir dir;
  std::string path = (dir.path / "x.db").string();
  Recording::create(path, {"x", 1, 0});
  try {
    Recording::create(path, {"x", 1, 0});
    FAIL();
  } catch (const RecordingError& e) {
    EXPECT_EQ(std::string(e.what()), path + ": already exists; wqscope never overwrites a recording, choose another "
                                           "-o or remove it");
  }
}

TEST(Recording, EveryRecordIsARowOnceCommittedAndARepeatedSeqReplaces) {
  // Rows are held back for multi-row INSERTs: a commit must write a part batch too.
  TempDir dir;
  std::string path = (dir.path / "x.db").string();
  auto rec = Recording::create(path, {"x", 1, 0});
  auto add = [&](std::uint64_t seq, std::uint64_t ts) {
    cmwq_ev_state e{};
    e.h = cmwq_event_header{CMWQ_EV_WORKER_IDLE, sizeof e, 1, 1, 0, ts, seq};
    rec->add(cmwq::Record{&e.h});
  };
  for (std::uint64_t seq = 1; seq <= 150; ++seq) add(seq, seq * 10);
  rec->commit();
  EXPECT_EQ(query(path, "SELECT count(*), sum(ts) FROM events"), "150|113250");
  add(70, 7);  // two streams in one process: the later record replaces the earlier, nothing else moves
  add(151, 1510);
  rec->commit();
  EXPECT_EQ(query(path, "SELECT count(*), (SELECT ts FROM events WHERE seq = 70) FROM events"), "151|7");
}

TEST(Model, GapsInTheSequenceAreCountedAsLost) {
  cmwq::Recorder r(1, 1, 0);
  r.restart(0);
  cmwq::Pool pool;
  cmwq::Event e{1, cmwq::EventKind::PoolCreate, &pool, nullptr, nullptr, nullptr, 0};
  for (int i = 0; i < 5; ++i) r.record(e, 1);
  auto bytes = r.take();
  // Drop records 3 and 4 (seq 3, 4) of the stream.
  std::vector<std::byte> holed(bytes.begin(), bytes.begin() + 48 + 2 * 88);
  holed.insert(holed.end(), bytes.begin() + 48 + 4 * 88, bytes.end());
  Model m;
  cmwq::for_each_record(holed, [&](const cmwq::Record& rec) { m.apply(rec); });
  EXPECT_EQ(m.lost(), 2u);
}

// The model keeps names printable (untrusted.h); its observers (the recording's names table) get the
// bytes as sent, which a replay brings back through the model.
TEST(Model, NamesArePrintable) {
  struct Names : ModelObserver {
    std::string text;
    void on_name(std::uint32_t, std::uint32_t, const std::string& t) override { text = t; }
  } names;
  Model m(&names);
  cmwq_ev_name n{};
  n.h = cmwq_event_header{CMWQ_EV_NAME, sizeof n, 1, 1, 0, 1, 1};
  n.name_kind = CMWQ_NAME_WQ;
  std::snprintf(n.text, sizeof n.text, "%s", "evil\x1b]0;owned\x07\x1b[2J\n\x7fwq");
  m.apply(cmwq::Record{&n.h});
  EXPECT_EQ(m.name(n.id), "evil\\x1b]0;owned\\x07\\x1b[2J\\x0a\\x7fwq");
  EXPECT_EQ(names.text, "evil\x1b]0;owned\x07\x1b[2J\n\x7fwq");
}

// Records lost in the middle of a run (the ring buffer was full): what left the lists meanwhile is
// not kept as pending forever. Once the pool has drained, nothing is listed and nothing is open.
TEST(Model, ListsStartOverAfterLostRecords) {
  auto sc = cmwq::sim::load_scenario(std::string(CMWQ_SCENARIOS) + "/seed000-xfslogd.scn");
  auto result = cmwq::sim::run(sc, true);
  std::vector<cmwq::Record> records;
  cmwq::for_each_record(result.events, [&](const cmwq::Record& r) { records.push_back(r); });
  Model m;
  m.start_over_after_gaps();
  for (std::size_t i = 0; i < records.size(); ++i)
    if (i < records.size() / 3 || i >= records.size() / 2) m.apply(records[i]);
  EXPECT_GT(m.lost(), 500u);
  for (auto& [id, p] : m.pools()) EXPECT_EQ(p.pending, 0) << "pool " << id;
  for (auto& [key, q] : m.pwqs()) EXPECT_TRUE(q.inactive.empty()) << "pwq of workqueue " << key.first;
  EXPECT_TRUE(m.open_instances().empty());
}

}  // namespace
}  // namespace wqscope
