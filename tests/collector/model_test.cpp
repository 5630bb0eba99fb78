// The model and the recording, fed by the simulator (no BPF): every item of a
// deterministic story lands in work_items with its times.
#include "model.h"
#include "recording.h"

#include <cmwq/sim.h>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <filesystem>
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
  EXPECT_EQ(query(path, "SELECT count(*) FROM events JOIN kinds USING (kind) WHERE name = 'MAYDAY'"), "1");
  EXPECT_EQ(query(path, "SELECT end_reason, lost_events FROM run"), "simulation ended|0");
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

}  // namespace
}  // namespace wqscope
