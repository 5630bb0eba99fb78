// The model and the recording, fed by the simulator (no BPF): every item of a
// deterministic story lands in work_items with its times.
#include "ingest.h"
#include "inspect.h"
#include "log_chunk.h"
#include "model.h"
#include "reader.h"
#include "recording.h"

#include <cmwq/packed.h>
#include <cmwq/recorder.h>
#include <cmwq/sim.h>

#include <gtest/gtest.h>
#include <sqlite3.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
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

/// The records of `bytes` without those at positions [from, to).
std::vector<std::byte> without(std::span<const std::byte> bytes, std::size_t from, std::size_t to) {
  std::vector<std::byte> out;
  std::size_t i = 0;
  cmwq::for_each_record(bytes, [&](const cmwq::Record& r) {
    auto* p = reinterpret_cast<const std::byte*>(r.h);
    if (i < from || i >= to) out.insert(out.end(), p, p + r.h->size);
    ++i;
  });
  return out;
}

TEST(Model, SimulatedXfslogdLandsInTheRecording) {
  auto sc = cmwq::sim::load_scenario(std::string(CMWQ_SCENARIOS) + "/seed000-xfslogd.scn");
  sc.config.rescuer_policy = cmwq::RescuerPolicy::k2014;
  auto result = cmwq::sim::run(sc, true);
  TempDir dir;
  std::string path = (dir.path / "x.db").string();
  {
    auto rec = Recording::create(path, {"cmwq-sim seed000-xfslogd.scn", 1, 0, "deadlines"});
    Ingest ingest(rec.get(), 30'000'000'000, Ingest::Clock::deadlines);
    ingest.batch(1, CMWQ_STREAM_ID(1, 1), result.events);
    ingest.finish(result.end);
    const Model& model = ingest.trace().primary();
    EXPECT_EQ(model.lost(), 0u);
    EXPECT_EQ(model.anomalies(), 0u);
    rec->finish("simulation ended", result.end, 0, model.lost());
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

TEST(Recording, TablesAreDerivedOffTheHotPathAndACutOffRecordingIsCompleted) {
  // The xfslogd story in busy commits: the log grows, the derived tables wait for a quiet commit or
  // the end. Cut off (no finish, as a SIGKILL leaves it), the next reader completes the tables, and
  // they equal those of the same recording finished.
  auto sc = cmwq::sim::load_scenario(std::string(CMWQ_SCENARIOS) + "/seed000-xfslogd.scn");
  sc.config.rescuer_policy = cmwq::RescuerPolicy::k2014;
  auto result = cmwq::sim::run(sc, true);
  TempDir dir;
  auto record = [&](const std::string& path, bool finish) {
    auto rec = Recording::create(path, {"cmwq-sim seed000-xfslogd.scn", 1, 0, "deadlines"});
    Ingest ingest(rec.get(), 30'000'000'000, Ingest::Clock::deadlines);
    ingest.batch(1, CMWQ_STREAM_ID(1, 1), result.events);
    rec->commit();  // thousands of records since the last commit: busy, nothing derived
    EXPECT_EQ(query(path, "SELECT (SELECT count(*) FROM events), derived, (SELECT max(last) FROM log) > 4000 FROM run"),
              "0|0|1");
    if (!finish) return;
    ingest.finish(result.end);
    rec->finish("simulation ended", result.end, 0, 0);
  };
  std::string finished = (dir.path / "finished.db").string(), cut = (dir.path / "cut.db").string();
  record(finished, true);
  record(cut, false);
  const char* tables = "SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM names), "
                       "(SELECT group_concat(work || func || ifnull(ended_ns, '-'), ',') FROM work_items), "
                       "(SELECT count(*) FROM workers), (SELECT count(*) FROM mayday_episodes), "
                       "derived = (SELECT max(last) FROM log) FROM run";
  std::string want = query(finished, tables);
  EXPECT_EQ(query(finished, "SELECT derived = events AND events = (SELECT count(*) FROM events) FROM run"), "1");
  EXPECT_EQ(query(cut, "SELECT end_reason IS NULL, derived FROM run"), "1|0");
  RecordingReader reader(cut);  // may write it: completes it
  EXPECT_EQ(reader.run().end_reason.rfind("cut off:", 0), 0u) << reader.run().end_reason;
  EXPECT_EQ(query(cut, tables), want);
  EXPECT_FALSE(Recording::complete(cut));  // once is enough
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

// Today's kernels, as libcmwq models them: the model prints each in its era's form (the stream says
// which after its HELLO), BH pools and their "bh" workers, pods' pools with their CPUs and node.
TEST(Model, RebuildsTodaysKernelsDumps) {
  for (const char* scenario : {"today-bh.scn", "today-node-max-active.scn", "today-pods.scn"})
    expect_same_dumps(std::string(CMWQ_SCENARIOS) + "/" + scenario, 1);
}

// The model's indexes (its items by work id, its pools and workqueues by id) point into its own
// lists and maps: a copy, or a model assigned another, finds its own and goes on by itself.
TEST(Model, ACopyGoesOnByItself) {
  auto result = cmwq::sim::run(cmwq::sim::load_scenario(std::string(CMWQ_TEST_SCENARIOS) + "/many-items.scn"), true);
  std::vector<cmwq::Record> records;
  cmwq::for_each_record(result.events, [&](const cmwq::Record& r) { records.push_back(r); });
  std::size_t half = records.size() / 2, most = records.size() * 3 / 4;
  std::int64_t half_ts = records[half - 1].ts(), most_ts = records[most - 1].ts();
  auto dump = [](const Model& m, std::int64_t t) {
    std::string text;
    for (const std::string& line : cmwq::report::show_busy(m.busy(t))) text += line + "\n";
    return text;
  };
  Model whole, original;
  for (std::size_t i = 0; i < half; ++i) {
    whole.apply(records[i]);
    original.apply(records[i]);
  }
  const std::string at_half = dump(original, half_ts);
  ASSERT_NE(at_half.find("inactive"), std::string::npos) << "items wait behind max_active at half:\n" << at_half;
  Model copy = original;
  Model assigned;
  assigned.apply(records[0]);
  assigned = original;
  for (std::size_t i = half; i < most; ++i)
    for (Model* m : {&whole, &copy, &assigned}) m->apply(records[i]);
  const std::string expected = dump(whole, most_ts);
  ASSERT_NE(expected.find("pending"), std::string::npos) << expected;
  EXPECT_EQ(dump(copy, most_ts), expected);
  EXPECT_EQ(dump(assigned, most_ts), expected);
  EXPECT_EQ(copy.open_instances().size(), whole.open_instances().size());
  EXPECT_EQ(assigned.held_back().at("bound").count, whole.held_back().at("bound").count);
  EXPECT_EQ(dump(original, half_ts), at_half) << "the copies' records changed the original";
}

/// many-items.scn simulated and imported into `dir`/many.db (snapshots and all); its path.
std::string many_items_recording(const TempDir& dir) {
  std::string events = (dir.path / "many.bin").string(), db = (dir.path / "many.db").string();
  auto result = cmwq::sim::run(cmwq::sim::load_scenario(std::string(CMWQ_TEST_SCENARIOS) + "/many-items.scn"), true);
  std::ofstream(events, std::ios::binary)
      .write(reinterpret_cast<const char*>(result.events.data()), static_cast<std::streamsize>(result.events.size()));
  ::testing::internal::CaptureStderr();
  int rc = import_events(events, db, 30'000'000'000);
  ::testing::internal::GetCapturedStderr();
  EXPECT_EQ(rc, 0);
  return db;
}

TEST(Recording, SnapshotsGiveTheStateReplayGives) {
  TempDir dir;
  std::string db = many_items_recording(dir);
  ASSERT_EQ(query(db, "SELECT count(*) >= 1 FROM snapshots"), "1");
  RecordingReader reader(db);
  std::int64_t snap = std::stoll(query(db, "SELECT min(ts) FROM snapshots")), end = reader.last_ns();
  for (std::int64_t t : {snap / 2, snap, snap + 1, (snap + end) / 2, end}) {
    Trace snapshot_trace, start_trace;
    reader.state_at(snapshot_trace, t);
    reader.replay(
        [&](int stream, const cmwq::Record& r) {
          start_trace.apply(stream, r);
          return true;
        },
        t);
    const Model &from_snapshot = snapshot_trace.primary(), &from_start = start_trace.primary();
    EXPECT_EQ(cmwq::report::show_busy(from_snapshot.busy(t)), cmwq::report::show_busy(from_start.busy(t))) << t;
    EXPECT_EQ(cmwq::report::wq_monitor_table(from_snapshot.monitor()),
              cmwq::report::wq_monitor_table(from_start.monitor()));
    EXPECT_EQ(from_snapshot.records(), from_start.records());
  }
}

// Format 3 wrote the log's records as they are (format 4 packs them): such a recording still reads,
// to the same state.
TEST(Recording, AFormat3RecordingReadsAsItWas) {
  TempDir dir;
  std::string db = many_items_recording(dir);
  auto state = [&] {
    RecordingReader reader(db);
    Trace trace;
    reader.state_at(trace, reader.last_ns());
    std::string out = std::to_string(trace.primary().records());
    for (const std::string& line : cmwq::report::show_busy(trace.primary().busy(reader.last_ns()))) out += "\n" + line;
    return out;
  };
  std::string want = state();
  sqlite3* h = nullptr;
  ASSERT_EQ(sqlite3_open(db.c_str(), &h), SQLITE_OK);
  std::vector<std::pair<std::int64_t, std::vector<std::byte>>> chunks;
  sqlite3_stmt* sel = nullptr;
  sqlite3_prepare_v2(h, "SELECT id, records FROM log", -1, &sel, nullptr);
  while (sqlite3_step(sel) == SQLITE_ROW) {
    auto& [id, raw] = chunks.emplace_back(sqlite3_column_int64(sel, 0), std::vector<std::byte>{});
    for_each_logged({static_cast<const std::uint8_t*>(sqlite3_column_blob(sel, 1)),
                     static_cast<std::size_t>(sqlite3_column_bytes(sel, 1))},
                    [](int stream) { return static_cast<std::uint32_t>(stream); },  // the stream in the pid
                    [&](int, const cmwq::Record& r) {
                      auto* p = reinterpret_cast<const std::byte*>(r.h);
                      raw.insert(raw.end(), p, p + r.h->size);
                    });
  }
  sqlite3_finalize(sel);
  ASSERT_FALSE(chunks.empty());
  sqlite3_stmt* upd = nullptr;
  sqlite3_prepare_v2(h, "UPDATE log SET records = ? WHERE id = ?", -1, &upd, nullptr);
  for (auto& [id, raw] : chunks) {
    sqlite3_bind_blob(upd, 1, raw.data(), static_cast<int>(raw.size()), SQLITE_STATIC);
    sqlite3_bind_int64(upd, 2, id);
    ASSERT_EQ(sqlite3_step(upd), SQLITE_DONE);
    sqlite3_reset(upd);
  }
  sqlite3_finalize(upd);
  sqlite3_exec(h, "PRAGMA user_version = 3", nullptr, nullptr, nullptr);
  sqlite3_close(h);
  EXPECT_EQ(query(db, "SELECT sum(length(records)) / max(last) >= 80 FROM log"), "1");  // as they are: 88 bytes a record
  EXPECT_EQ(state(), want);
}

// A stream with gaps (records cut out, as a full ring buffer would): the state at any instant is the
// same from the nearest snapshot plus its tail as from a full replay, and as live ingest saw it.
TEST(Recording, SnapshotsOfALossyStreamGiveTheStateReplayGives) {
  TempDir dir;
  std::string db = (dir.path / "lossy.db").string();
  auto result = cmwq::sim::run(cmwq::sim::load_scenario(std::string(CMWQ_TEST_SCENARIOS) + "/many-items.scn"), true);
  std::size_t n = 0;
  cmwq::for_each_record(result.events, [&](const cmwq::Record&) { ++n; });
  auto lossy = without(without(result.events, n / 5, n / 5 + 3000), n / 2, n / 2 + 5000);
  std::map<std::int64_t, std::vector<std::string>> live;  // the busy dump as live ingest had it
  std::vector<std::int64_t> instants;
  {
    auto rec = Recording::create(db, {"lossy", 1, 0, "deadlines"});
    Ingest ingest(rec.get(), 30'000'000'000, Ingest::Clock::deadlines);
    std::int64_t step = result.end / 20;
    cmwq::for_each_record(lossy, [&](const cmwq::Record& r) {
      auto ts = static_cast<std::int64_t>(r.h->ts);
      if (!ingest.trace().models().empty() && (instants.empty() ? ts >= step : ts >= instants.back() + step)) {
        std::int64_t t = instants.empty() ? step : instants.back() + step;
        if (ts > t) {  // everything up to t is in: the state at t
          instants.push_back(t);
          live[t] = cmwq::report::show_busy(ingest.trace().primary().busy(t));
        }
      }
      ingest.batch(1, CMWQ_STREAM_ID(1, 1), std::span(reinterpret_cast<const std::byte*>(r.h), r.h->size));
    });
    ingest.finish(result.end);
    rec->finish("simulation ended", result.end, 0, ingest.trace().lost());
  }
  ASSERT_GE(instants.size(), 15u);
  ASSERT_GE(std::stoll(query(db, "SELECT count(DISTINCT event) FROM snapshots")), 1);
  ASSERT_GE(std::stoll(query(db, "SELECT count(*) FROM events WHERE kind = 37")), 2);
  RecordingReader reader(db);
  for (std::int64_t t : instants) {
    Trace from_snapshot, from_start;
    reader.state_at(from_snapshot, t);
    reader.replay(
        [&](int stream, const cmwq::Record& r) {
          from_start.apply(stream, r);
          return true;
        },
        t);
    auto busy = cmwq::report::show_busy(from_snapshot.primary().busy(t));
    EXPECT_EQ(busy, cmwq::report::show_busy(from_start.primary().busy(t))) << t;
    EXPECT_EQ(busy, live[t]) << t;
    EXPECT_EQ(cmwq::report::wq_monitor_table(from_snapshot.primary().monitor()),
              cmwq::report::wq_monitor_table(from_start.primary().monitor()));
    EXPECT_EQ(from_snapshot.primary().lost(), from_start.primary().lost());
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

TEST(Recording, EveryRecordIsARowOnceCommitted) {
  // Rows are held back for multi-row INSERTs: a commit must write a part batch too.
  TempDir dir;
  std::string path = (dir.path / "x.db").string();
  auto rec = Recording::create(path, {"x", 1, 0});
  auto add = [&](int stream, std::uint64_t seq, std::uint64_t ts) {
    cmwq_ev_state e{};
    e.h = cmwq_event_header{CMWQ_EV_WORKER_IDLE, sizeof e, 1, 1, 0, ts, seq};
    rec->add(stream, cmwq::Record{&e.h});
  };
  for (std::uint64_t seq = 1; seq <= 150; ++seq) add(1, seq, seq * 10);
  rec->commit();
  EXPECT_EQ(query(path, "SELECT count(*), sum(ts), max(id) FROM events"), "150|113250|150");
  add(2, 70, 7);  // another System's stream: its own seq, beside the first's
  rec->commit();
  EXPECT_EQ(query(path, "SELECT count(*), group_concat(ts) FROM events WHERE seq = 70"), "2|700,7");
}

TEST(Ingest, GapsInTheSequenceBecomeGapRecords) {
  cmwq::Recorder r(1, 1, 1, 0);
  r.restart(0);
  cmwq::Pool pool;
  cmwq::Event e{1, cmwq::EventKind::PoolCreate, &pool, nullptr, nullptr, nullptr, 0};
  for (int i = 0; i < 5; ++i) r.record(e, 1);
  auto bytes = r.take();
  Ingest ingest(nullptr, 1'000'000'000, Ingest::Clock::deadlines);
  ingest.batch(1, CMWQ_STREAM_ID(1, 1), without(bytes, 2, 4));  // seq 3 and 4 lost
  EXPECT_EQ(ingest.trace().primary().lost(), 2u);
  EXPECT_EQ(ingest.counts().gaps, 1u);
}

// Garbage between good batches (a forged probe): counted and skipped, never the end of the stream.
TEST(Ingest, AMalformedBatchIsCountedAndSkipped) {
  auto result = cmwq::sim::run(cmwq::sim::load_scenario(std::string(CMWQ_SCENARIOS) + "/seed000-xfslogd.scn"), true);
  std::span<const std::byte> all(result.events);
  std::size_t half = 0, i = 0, n = 0;
  cmwq::for_each_record(all, [&](const cmwq::Record&) { ++n; });
  cmwq::for_each_record(all, [&](const cmwq::Record& r) {
    if (i++ == n / 2) half = static_cast<std::size_t>(reinterpret_cast<const std::byte*>(r.h) - all.data());
  });
  std::vector<std::byte> garbage(all.begin(), all.begin() + 56);  // a HELLO, then a record claiming 0x5a5a bytes
  garbage.resize(400, std::byte{0x5a});
  Ingest ingest(nullptr, 1'000'000'000, Ingest::Clock::deadlines);
  ingest.batch(1, CMWQ_STREAM_ID(1, 1), all.first(half));
  ingest.batch(1, CMWQ_STREAM_ID(1, 1), garbage);
  ingest.batch(1, CMWQ_STREAM_ID(1, 1), all.subspan(half));
  ingest.finish(result.end);
  EXPECT_EQ(ingest.counts().malformed_batches, 1u);
  EXPECT_EQ(ingest.counts().out_of_sequence, 1u);  // the forged HELLO's seq 1, long passed
  EXPECT_EQ(ingest.trace().primary().lost(), 0u);  // the good records are all there
  EXPECT_EQ(ingest.trace().records(), n);
}

// A live collector that reads slower than the target writes judges no further than the newest record
// it read: the pool's progress may be among the unread ones (in CI, a watch under ASan lagged 1.1 s
// behind a healthy server and reported its pools stuck).
TEST(Ingest, AReaderBehindJudgesNoFurtherThanItRead) {
  auto result = cmwq::sim::run(cmwq::sim::load_scenario(std::string(CMWQ_SCENARIOS) + "/seed000-xfslogd.scn"), true);
  constexpr std::int64_t cut = 50'000'000;  // the rescuer is halfway through the 1000 items: work waits
  std::vector<std::byte> read;
  cmwq::for_each_record(result.events, [&](const cmwq::Record& r) {
    auto* p = reinterpret_cast<const std::byte*>(r.h);
    if (static_cast<std::int64_t>(r.h->ts) <= cut) read.insert(read.end(), p, p + r.h->size);
  });
  std::vector<Alert> alerts;
  Ingest ingest(nullptr, 1'000'000'000, Ingest::Clock::live,
                [&](int, const std::vector<Alert>& a, const Model&) { alerts.insert(alerts.end(), a.begin(), a.end()); });
  ingest.batch(1, CMWQ_STREAM_ID(1, 1), read);
  ASSERT_GT(ingest.trace().primary().pools().at(1).pending, 0);
  const std::int64_t now = cut + 2'000'000'000;
  ingest.tick(now, /*behind=*/true);
  EXPECT_TRUE(alerts.empty()) << alerts.front().message;
  ingest.tick(now, /*behind=*/false);  // everything is read: the pool made no progress for 2 s
  ASSERT_EQ(alerts.size(), 1u);
  EXPECT_EQ(alerts[0].kind, AlertKind::Lockup);
  EXPECT_EQ(alerts[0].pool, 1);
  EXPECT_GE(alerts[0].stuck_ns, 1'900'000'000);
}

// `record`'s common case: a packed batch in sequence goes into the log as it came (recording format 5),
// with the off/on-CPU records held until its records passed them in a part of their own. The log
// reads back record for record as when each record was packed again, the held one among the batch's
// records where it was applied, and its tables are the same; a batch after a gap is logged record by
// record, after its GAP.
TEST(Ingest, PackedBatchesAreLoggedAsTheyCameAndReadAsApplied) {
  auto result = cmwq::sim::run(cmwq::sim::load_scenario(std::string(CMWQ_SCENARIOS) + "/seed000-xfslogd.scn"), true);
  std::vector<std::vector<std::byte>> batches(1);  // ~200 records each
  std::size_t n = 0;
  cmwq::for_each_record(result.events, [&](const cmwq::Record& r) {
    if (++n % 200 == 0) batches.emplace_back();
    auto* p = reinterpret_cast<const std::byte*>(r.h);
    batches.back().insert(batches.back().end(), p, p + r.h->size);
  });
  ASSERT_GT(batches.size(), 20u);
  batches.erase(batches.begin() + 5);  // lost: the next one is logged after a GAP
  std::uint64_t sched_at = 0;  // within batch 10: an off-CPU record held until the pool's records pass it
  cmwq::for_each_record(batches[10], [&](const cmwq::Record& r) { if (!sched_at && r.h->seq % 200 == 100) sched_at = r.h->ts; });
  cmwq_ev_state off{};
  off.h = {CMWQ_EV_OFF_CPU, sizeof off, 1, 4242, 0, sched_at, 0};
  off.pool = -1;
  off.worker = 4242;

  auto record = [&](const std::string& db, bool packed) {
    auto rec = Recording::create(db, {"sim", 1, 0});
    Ingest ingest(rec.get(), 30'000'000'000, Ingest::Clock::live);
    for (std::size_t i = 0; i < batches.size(); ++i) {
      if (i == 10) ingest.sched(off);
      std::vector<std::byte> bytes = batches[i];
      if (packed) cmwq::pack(batches[i], bytes);
      ingest.batch(1, CMWQ_STREAM_ID(1, 1), bytes);
    }
    ingest.finish(result.end);
    rec->finish("simulation ended", result.end, 0, ingest.trace().lost());
  };
  auto log = [&](const std::string& db, std::size_t* batch_parts, std::size_t* held_parts) {
    sqlite3* h = nullptr;
    sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr);
    sqlite3_stmt* sel = nullptr;
    sqlite3_prepare_v2(h, "SELECT records FROM log ORDER BY id", -1, &sel, nullptr);
    std::vector<std::pair<int, std::vector<std::byte>>> out;
    while (sqlite3_step(sel) == SQLITE_ROW) {
      std::span blob(static_cast<const std::uint8_t*>(sqlite3_column_blob(sel, 0)),
                     static_cast<std::size_t>(sqlite3_column_bytes(sel, 0)));
      for (std::size_t at = sizeof LogChunk::kLogMagic; at < blob.size();) {  // its parts (log_chunk.h)
        bool batch = blob[at] == static_cast<std::uint8_t>(LogChunk::kBatchPart);
        *batch_parts += batch;
        *held_parts += blob[at] == static_cast<std::uint8_t>(LogChunk::kHeldPart);
        std::uint32_t size = 0;
        std::memcpy(&size, blob.data() + at + (batch ? 5 : 1), sizeof size);
        at += (batch ? 9 : 5) + size;
      }
      for_each_logged(blob, [](int) { return 7u; }, [&](int stream, const cmwq::Record& r) {
        auto* p = reinterpret_cast<const std::byte*>(r.h);
        out.emplace_back(stream, std::vector<std::byte>(p, p + r.h->size));
      });
    }
    sqlite3_finalize(sel);
    sqlite3_close(h);
    return out;
  };
  TempDir dir;
  std::string as_came = (dir.path / "as_came.db").string(), each = (dir.path / "each.db").string();
  record(as_came, true);
  record(each, false);
  std::size_t parts_as_came = 0, parts_each = 0, held_as_came = 0, held_each = 0;
  auto got = log(as_came, &parts_as_came, &held_as_came), want = log(each, &parts_each, &held_each);
  EXPECT_EQ(parts_as_came, batches.size() - 1);  // all but the one after the gap
  EXPECT_EQ(held_as_came, 1u);
  EXPECT_EQ(parts_each + held_each, 0u);
  ASSERT_EQ(got.size(), want.size());
  EXPECT_TRUE(got == want);
  EXPECT_EQ(std::count_if(got.begin(), got.end(), [](auto& l) {
              return reinterpret_cast<const cmwq_event_header*>(l.second.data())->kind == CMWQ_EV_GAP;
            }), 1);
  for (const char* table : {"events", "work_items", "workers", "names"})
    EXPECT_EQ(query(as_came, std::string("SELECT * FROM ") + table + " ORDER BY 1"),
              query(each, std::string("SELECT * FROM ") + table + " ORDER BY 1")) << table;
  EXPECT_NE(query(as_came, "SELECT count(*) FROM work_items"), "0");
}

// Two Systems in one process: each is its own stream with its own ids; neither is a gap in the other.
TEST(Ingest, TwoSystemsAreTwoStreams) {
  auto a = cmwq::sim::run(cmwq::sim::load_scenario(std::string(CMWQ_SCENARIOS) + "/seed000-xfslogd.scn"), true);
  auto b = cmwq::sim::run(cmwq::sim::load_scenario(std::string(CMWQ_SCENARIOS) + "/seed004-hotplug-lockup.scn"), true);
  Ingest ingest(nullptr, 30'000'000'000, Ingest::Clock::deadlines);
  ingest.batch(7, CMWQ_STREAM_ID(1, 1), a.events);
  ingest.batch(7, CMWQ_STREAM_ID(2, 1), b.events);
  ingest.finish(std::max(a.end, b.end));
  ASSERT_EQ(ingest.trace().models().size(), 2u);
  EXPECT_EQ(ingest.trace().lost(), 0u);
  EXPECT_EQ(ingest.counts().out_of_sequence, 0u);
  auto names = [](const Model& m) {
    std::set<std::string> out;
    for (auto& [id, wq] : m.workqueues()) out.insert(wq.name);
    return out;
  };
  EXPECT_TRUE(names(ingest.trace().models().at(1)).contains("xfslogd"));
  EXPECT_FALSE(names(ingest.trace().models().at(1)).contains("rcu_gp"));
  EXPECT_TRUE(names(ingest.trace().models().at(2)).contains("rcu_gp"));
}

/// A second session of the stream's System, as the pool writes one when another tracer attaches:
/// HELLO, the state announced again (here: its workqueues), ANNOUNCED; seq goes on after `skip`.
std::vector<std::byte> second_session(std::span<const std::byte> first, std::uint64_t skip) {
  std::vector<std::byte> out;
  std::uint64_t seq = 0;
  std::vector<cmwq_ev_state> creates;
  cmwq_ev_hello hello{};
  cmwq::for_each_record(first, [&](const cmwq::Record& r) {
    seq = std::max(seq, r.h->seq);
    if (r.h->kind == CMWQ_EV_HELLO) hello = *r.hello();
    if (r.h->kind == CMWQ_EV_WQ_CREATE) creates.push_back(*r.state());
  });
  auto put = [&](auto rec) {
    rec.h.seq = seq + ++skip;
    auto* p = reinterpret_cast<const std::byte*>(&rec);
    out.insert(out.end(), p, p + sizeof rec);
  };
  hello.session = 2;
  put(hello);
  for (auto& c : creates) put(c);
  cmwq_ev_state done = creates.front();
  done.h.kind = CMWQ_EV_ANNOUNCED;
  put(done);
  return out;
}

// Another tracer attached: the pool announces its state again. A model that followed the first
// session knows it, and more (the counters): it keeps what it knew. After a gap it learns from it.
TEST(Ingest, ANewSessionKeepsWhatTheModelKnew) {
  auto result = cmwq::sim::run(cmwq::sim::load_scenario(std::string(CMWQ_SCENARIOS) + "/seed000-xfslogd.scn"), true);
  for (std::uint64_t skip : {0, 5}) {
    SCOPED_TRACE(skip);
    Ingest ingest(nullptr, 30'000'000'000, Ingest::Clock::deadlines);
    ingest.batch(1, CMWQ_STREAM_ID(1, 1), result.events);
    auto before = cmwq::report::wq_monitor_table(ingest.trace().primary().monitor());
    ingest.batch(1, CMWQ_STREAM_ID(1, 2), second_session(result.events, skip));
    const Model& m = ingest.trace().primary();
    ASSERT_EQ(ingest.trace().models().size(), 1u);  // the same System: the same stream
    if (skip == 0) {
      EXPECT_GT(m.restated(), 0u);
      EXPECT_EQ(cmwq::report::wq_monitor_table(m.monitor()), before);
    } else {
      EXPECT_EQ(m.restated(), 0u);
      EXPECT_EQ(m.lost(), skip);
      EXPECT_NE(cmwq::report::wq_monitor_table(m.monitor()), before);  // counted anew from the announcement
    }
  }
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
  Ingest ingest(nullptr, 30'000'000'000, Ingest::Clock::deadlines);
  ingest.batch(1, CMWQ_STREAM_ID(1, 1), without(result.events, records.size() / 3, records.size() / 2));
  const Model& m = ingest.trace().primary();
  EXPECT_GT(m.lost(), 500u);
  for (auto& [id, p] : m.pools()) EXPECT_EQ(p.pending, 0) << "pool " << id;
  for (auto& [key, q] : m.pwqs()) EXPECT_TRUE(q.inactive.empty()) << "pwq of workqueue " << key.first;
  EXPECT_TRUE(m.open_instances().empty());
}

}  // namespace
}  // namespace wqscope
