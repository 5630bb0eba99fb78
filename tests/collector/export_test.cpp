// wqscope export, on recordings of the simulator (no BPF, no root): the trace is JSON that Perfetto
// and chrome://tracing accept — every track named, the slices of a track nested, counters numbers —
// with a slice per item run, the maydays and the alerts; and the command's errors.
#include "export.h"
#include "ingest.h"
#include "model.h"
#include "reader.h"
#include "recording.h"
#include "watchdog.h"

#include <cmwq/sim.h>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>
#include <sqlite3.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <sys/wait.h>
#include <unistd.h>

namespace wqscope {
namespace {

using nlohmann::json;
namespace fs = std::filesystem;

struct TempDir {
  fs::path path = fs::temp_directory_path() / ("wqscope_export_test_" + std::to_string(getpid()));
  TempDir() { fs::create_directories(path); }
  ~TempDir() { fs::remove_all(path); }
  std::string operator/(const std::string& name) const { return (path / name).string(); }
};

std::int64_t count(const std::string& db, const std::string& sql) {
  sqlite3* h = nullptr;
  sqlite3_open_v2(db.c_str(), &h, SQLITE_OPEN_READONLY, nullptr);
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(h, sql.c_str(), -1, &s, nullptr);
  std::int64_t n = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
  sqlite3_finalize(s);
  sqlite3_close(h);
  return n;
}

/// A kernel sched record (seq 0, outside the pool's sequence) for `worker`.
cmwq_ev_state sched(std::uint16_t kind, std::int64_t ts, int worker) {
  cmwq_ev_state e{};
  e.h.kind = kind;
  e.h.size = sizeof e;
  e.h.ts = static_cast<std::uint64_t>(ts);
  e.h.tid = static_cast<std::uint32_t>(worker);
  e.h.cpu = -1;
  e.worker = worker;
  e.pool = -1;
  e.nr_active = -1;
  e.flags = kind == CMWQ_EV_OFF_CPU ? 1 : 0;  // S
  return e;
}

/// A recording of `scenario` as the collector makes one, alerts (threshold `thresh`) included. The
/// simulator has no scheduler, so waits off the CPU are added: one inside the first item run, and
/// one across the end of the second (clocks that disagree), which the export must clip.
void record(const std::string& scenario, const std::string& path, std::int64_t thresh, bool rescuer2014 = false) {
  auto sc = cmwq::sim::load_scenario(scenario);
  if (rescuer2014) sc.config.rescuer_policy = cmwq::RescuerPolicy::k2014;
  auto result = cmwq::sim::run(sc, true);
  auto rec = Recording::create(path, {"cmwq-sim " + fs::path(scenario).filename().string(), 4242, 0, "deadlines"});
  Ingest ingest(rec.get(), thresh, Ingest::Clock::deadlines);
  int starts = 0;
  cmwq::for_each_record(result.events, [&](const cmwq::Record& r) {
    ingest.batch(4242, CMWQ_STREAM_ID(1, 1), std::span(reinterpret_cast<const std::byte*>(r.h), r.h->size));
    if (r.h->kind == CMWQ_EV_WORK_START && ++starts <= 2) {
      auto ts = static_cast<std::int64_t>(r.h->ts);
      std::int64_t off = starts == 1 ? 10'000 : 90'000, on = starts == 1 ? 50'000 : 150'000;
      ingest.sched(sched(CMWQ_EV_OFF_CPU, ts + off, r.state()->worker));
      ingest.sched(sched(CMWQ_EV_ON_CPU, ts + on, r.state()->worker));
    }
  });
  ingest.finish(result.end);
  rec->finish("simulation ended", result.end, 0, ingest.trace().lost());
}

/// What a trace holds, after checking what the viewers need of it.
struct Trace {
  std::map<std::string, int> slices;  // by name
  std::map<std::string, int> instants, counters;  // by cat, by name
  std::map<int, std::string> threads;
  std::vector<json> events;
};

Trace check(const std::string& path) {
  Trace t;
  std::ifstream f(path);
  json doc = json::parse(f);  // throws on anything that is not JSON
  EXPECT_EQ(doc.value("displayTimeUnit", ""), "ns");
  EXPECT_TRUE(doc["traceEvents"].is_array());
  std::set<std::int64_t> processes, pids;
  std::set<std::pair<std::int64_t, std::int64_t>> named, tids;
  std::map<std::pair<std::int64_t, std::int64_t>, std::vector<std::pair<std::int64_t, std::int64_t>>> tracks;
  std::map<std::pair<std::string, std::int64_t>, int> async;  // open b's by (cat, id)
  auto ns = [](const json& us) { return std::llround(us.get<double>() * 1000); };
  for (const json& e : doc["traceEvents"]) {
    t.events.push_back(e);
    std::string ph = e.at("ph");
    EXPECT_TRUE(e.at("pid").is_number_integer()) << e;
    std::int64_t pid = e["pid"];
    pids.insert(pid);
    if (ph == "M") {
      if (e["name"] == "process_name") processes.insert(pid);
      if (e["name"] == "thread_name") {
        named.insert({pid, e["tid"]});
        t.threads[e["tid"]] = e["args"]["name"];
      }
      continue;
    }
    EXPECT_TRUE(e.at("ts").is_number()) << e;
    EXPECT_TRUE(e.at("name").is_string() && !e["name"].get<std::string>().empty()) << e;
    if (ph == "X") {
      EXPECT_TRUE(e.at("dur").is_number() && e["dur"] >= 0) << e;
      tids.insert({pid, e.at("tid")});
      tracks[{pid, e["tid"]}].push_back({ns(e["ts"]), ns(e["ts"]) + ns(e["dur"])});
      ++t.slices[e["name"]];
    } else if (ph == "C") {
      EXPECT_TRUE(e.at("args").is_object() && !e["args"].empty()) << e;
      for (auto& [k, v] : e["args"].items()) EXPECT_TRUE(v.is_number()) << k << " in " << e;
      ++t.counters[e["name"]];
    } else if (ph == "i") {
      EXPECT_TRUE(e.at("s") == "p" || e["s"] == "g") << e;
      ++t.instants[e.at("cat")];
    } else if (ph == "b" || ph == "e") {
      int& open = async[{e.at("cat"), e.at("id")}];
      EXPECT_EQ(open, ph == "b" ? 0 : 1) << e;
      open += ph == "b" ? 1 : -1;
    } else {
      ADD_FAILURE() << "unexpected phase (only X slices, no B/E): " << e;
    }
  }
  for (auto& [key, open] : async) EXPECT_EQ(open, 0) << key.first << " " << key.second << " never ends";
  for (std::int64_t pid : pids) EXPECT_TRUE(processes.count(pid)) << "pid " << pid << " has no process_name";
  for (auto& tid : tids) EXPECT_TRUE(named.count(tid)) << "tid " << tid.second << " has no thread_name";
  // Slices of one track nest: sorted by start (longest first), none ends inside an enclosing one's end.
  for (auto& [tid, spans] : tracks) {
    std::sort(spans.begin(), spans.end(), [](auto& a, auto& b) {
      return a.first != b.first ? a.first < b.first : a.second > b.second;
    });
    std::vector<std::int64_t> ends;
    for (auto [start, end] : spans) {
      while (!ends.empty() && ends.back() <= start) ends.pop_back();
      EXPECT_TRUE(ends.empty() || end <= ends.back())
          << "tid " << tid.second << ": [" << start << ", " << end << ") overlaps a slice ending at " << ends.back();
      ends.push_back(end);
    }
  }
  return t;
}

TEST(Export, XfslogdRescuerAndMayday) {
  TempDir dir;
  std::string db = dir / "x.db", out = dir / "x.json";
  record(std::string(CMWQ_SCENARIOS) + "/seed000-xfslogd.scn", db, 30'000'000'000, true);
  auto t0 = std::chrono::steady_clock::now();
  RecordingReader reader(db);
  ExportSummary s = export_perfetto(reader, out);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::cout << "xfslogd: " << s.records << " records -> " << s.trace_events << " trace events, " << s.bytes
            << " bytes in " << secs << " s\n";
  EXPECT_EQ(s.bytes, fs::file_size(out));
  EXPECT_EQ(fs::status(out).permissions() & fs::perms::all, fs::perms::owner_read | fs::perms::owner_write);
  Trace t = check(out);
  EXPECT_EQ(t.slices["xfs_buf_iodone_work"], 1000);
  EXPECT_EQ(s.items, 1000u);
  EXPECT_EQ(t.instants["mayday"], 1);
  EXPECT_EQ(t.slices["blocked without telling the pool"], 2);
  // 2014 policy: the rescuer ran them all, from the first mayday at 10 ms (µs from the start).
  int rescuer = 0;
  for (auto& [tid, name] : t.threads)
    if (name == "rescuer of xfslogd") rescuer = tid;
  ASSERT_NE(rescuer, 0);
  double first = 1e18;
  for (const json& e : t.events) {
    if (e["ph"] == "X" && e["name"] == "xfs_buf_iodone_work") {
      EXPECT_EQ(e["tid"], rescuer);
      EXPECT_EQ(e["args"]["workqueue"], "xfslogd");
      first = std::min(first, e["ts"].get<double>());
    }
    if (e["ph"] == "M" && e["name"] == "process_name") {
      EXPECT_EQ(e["args"]["name"], "cmwq-sim seed000-xfslogd.scn");
    }
    if (e["ph"] == "b") {  // the call for rescue: from the first mayday until the manager is back at 1 s
      EXPECT_EQ(e["name"], "pool 1 calling for rescue");
      EXPECT_EQ(e["ts"], 10000);
    }
    if (e["ph"] == "e") {
      EXPECT_EQ(e["ts"], 1000000);
    }
  }
  EXPECT_EQ(first, 10000);
  for (auto& [tid, name] : t.threads)
    if (tid != rescuer) {
      EXPECT_TRUE(name.starts_with("worker " + std::to_string(tid) + " (pool ")) << name;
    }
  EXPECT_GT(t.counters["pool 1"], 0);
}

TEST(Export, BusyDumpsWithAlerts) {
  TempDir dir;
  std::string db = dir / "b.db", out = dir / "b.json";
  record(std::string(CMWQ_TEST_SCENARIOS) + "/busy-dumps.scn", db, 20'000'000);
  RecordingReader reader(db);
  ExportSummary s = export_perfetto(reader, out);
  Trace t = check(out);
  std::int64_t started = count(db, "SELECT count(*) FROM work_items WHERE started_ns IS NOT NULL");
  EXPECT_GT(started, 0);
  EXPECT_EQ(static_cast<std::int64_t>(s.items), started);
  EXPECT_EQ(t.slices["slow_a"], 5);
  EXPECT_EQ(t.slices["reclaim_fn"], 6);
  EXPECT_GE(t.instants["mayday"], 1);
  EXPECT_GE(count(db, "SELECT count(*) FROM alerts"), 1);
  EXPECT_EQ(t.instants["alert"], count(db, "SELECT count(*) FROM alerts"));
  // Counters change in steps: no two samples of a pool in a row are equal.
  std::map<std::string, json> last;
  for (const json& e : t.events)
    if (e["ph"] == "C") {
      EXPECT_NE(last[e["name"]], e["args"]) << e;
      last[e["name"]] = e["args"];
    }
}

TEST(Export, ThePoolsLockupAndAnItemStillRunning) {
  TempDir dir;
  std::string db = dir / "h.db", out = dir / "h.json";
  record(std::string(CMWQ_SCENARIOS) + "/seed004-hotplug-lockup.scn", db, 30'000'000'000);
  RecordingReader reader(db);
  export_perfetto(reader, out);
  Trace t = check(out);
  ASSERT_EQ(t.instants["pool watchdog"], 1);
  bool running = false;
  for (const json& e : t.events) {
    if (e["ph"] == "i" && e["cat"] == "pool watchdog") {
      EXPECT_EQ(e["name"], "BUG: workqueue lockup - pool cpus=0 node=0 flags=0x4 nice=0 stuck for 59s!");
    }
    if (e["ph"] == "X" && e["name"] == "wait_rcu_exp_gp") {  // until the end of the recording
      running = e["args"].contains("unfinished");
      EXPECT_EQ(e["ts"].get<double>() + e["dur"].get<double>(), reader.run().ended_ns / 1e3);
    }
  }
  EXPECT_TRUE(running);
}

TEST(Export, ADamagedRecordingLeavesNoFile) {
  TempDir dir;
  std::string db = dir / "t.db", cut = dir / "cut.db", out = dir / "t.json";
  record(std::string(CMWQ_SCENARIOS) + "/seed000-xfslogd.scn", db, 30'000'000'000, true);
  fs::copy_file(db, cut);
  fs::resize_file(cut, fs::file_size(db) / 2);
  try {
    RecordingReader reader(cut);
    export_perfetto(reader, out);
    ADD_FAILURE() << "a recording cut in half exported";
  } catch (const RecordingError& e) {
    EXPECT_NE(std::string(e.what()).find(cut), std::string::npos) << e.what();
  }
  EXPECT_FALSE(fs::exists(out));
}

#ifdef WQSCOPE_BIN
/// Runs wqscope with `args`; its exit status and what it printed (both streams).
std::pair<int, std::string> wqscope(const std::string& args) {
  std::string output;
  FILE* p = popen((std::string(WQSCOPE_BIN) + " " + args + " 2>&1").c_str(), "r");
  char buf[4096];
  for (std::size_t n; (n = fread(buf, 1, sizeof buf, p)) > 0;) output.append(buf, n);
  int status = pclose(p);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

TEST(ExportCommand, ClearErrorsAndExitStatus) {
  TempDir dir;
  std::string db = dir / "t.db", out = dir / "t.json";
  auto [rc, text] = wqscope("export " + dir / "none.db" + " --perfetto " + out);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(text, "wqscope export: " + dir / "none.db" + ": cannot read the recording: No such file or directory\n");
  EXPECT_FALSE(fs::exists(out));

  std::ofstream(dir / "text.db") << "not a database, only some text that is long enough to look like a header\n";
  std::tie(rc, text) = wqscope("export " + dir / "text.db" + " --perfetto " + out);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(text, "wqscope export: " + dir / "text.db" + ": is not a SQLite database (not a wqscope recording)\n");
  EXPECT_FALSE(fs::exists(out));

  record(std::string(CMWQ_TEST_SCENARIOS) + "/busy-dumps.scn", db, 20'000'000);
  std::ofstream(out) << "keep me\n";
  std::tie(rc, text) = wqscope("export " + db + " --perfetto " + out);
  EXPECT_EQ(rc, 1);
  EXPECT_EQ(text, "wqscope export: " + out + ": already exists; wqscope never overwrites a file, choose another "
                  "--perfetto or remove it\n");
  std::ifstream kept(out);
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(kept), {}), "keep me\n");

  std::tie(rc, text) = wqscope("export " + db);
  EXPECT_NE(rc, 0);
  EXPECT_NE(text.find("--perfetto is required"), std::string::npos) << text;

  fs::remove(out);
  std::tie(rc, text) = wqscope("export " + db + " --perfetto " + out);
  EXPECT_EQ(rc, 0) << text;
  EXPECT_NE(text.find("open it in ui.perfetto.dev"), std::string::npos) << text;
  check(out);
}
#endif

}  // namespace
}  // namespace wqscope
