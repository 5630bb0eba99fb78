// ingest_bench: how fast the collector takes a busy pool's records (issue "capture you can trust":
// record <= 0.25 CPU-s per million records on its hot path, watch <= 0.1). A simulated stream is
// written once to a file of packed batches (what cmwq:batch probe hits carry); each variant then runs in
// its own child process, which reads the batches as the ring buffer would hand them over, so
// wait4() gives that variant's own CPU time and peak RSS:
//   floor:  a bare one-row prepared INSERT of the same rows into an index-free events table
//           (schema.sql's PRAGMAs, synchronous=NORMAL, the same commits): what a row per record costs;
//   decode: unpacking the batches and for_each_record only;
//   model:  the model alone (Model::apply), no pipeline, watchdog or recording: its share of `watch`;
//   watch:  the one ingest pipeline (Ingest) without a recording, ticking every 100 ms, as `watch`;
//   record: Ingest into a Recording, committing every 100 ms, as `wqscope record`: the hot path
//           (the log, snapshots); then finish() derives the tables (events, work_items, ...) from the
//           log, reported apart as "finish";
//   inline: the same, deriving the tables at every commit: the hot path as it was before the log.
// Variants run interleaved, round after round; ratios are taken within a round (noisy VM).
#include "ingest_stream.h"
#include "ingest.h"
#include "recording.h"
#include "schema_sql.h"
#include "spread.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <sstream>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

struct Run {
  std::uint64_t records = 0, rows = 0, lost = 0;  // records: those the variant took
  double wall_s = 0, cpu_s = 0, sys_s = 0, rss_mb = 0, db_bytes = 0;
  double finish_cpu_s = 0, finish_wall_s = 0;  // record: deriving the tables at the end (in cpu_s, wall_s)
};

double cpu_now() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

struct Input {
  std::string events, db;
  std::uint64_t stored = 0;  // records of the stream that become rows
};

bool stored(const cmwq::Record& r) { return r.h->kind != CMWQ_EV_NAME && r.h->kind != CMWQ_EV_HELLO; }

/// Reads the stream as packed batches, calls `batch` on each and `tick` every 100 ms (the commit
/// period of `wqscope record`); returns the seconds (the variant counts the records it took).
template <class Batch, class Tick>
Run feed(const Input& in, Batch&& batch, Tick&& tick) {
  std::FILE* f = std::fopen(in.events.c_str(), "rb");
  if (!f) throw std::runtime_error(in.events + ": cannot open");
  Run run;
  auto t0 = Clock::now(), last = t0;
  ingest::for_each_batch(f, [&](std::span<const std::byte> b) {
    batch(b);
    if (auto now = Clock::now(); now - last >= std::chrono::milliseconds(100)) {
      tick();
      last = now;
    }
  });
  std::fclose(f);
  run.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  return run;
}

/// Each record of a batch, unpacked, counted in `records`.
template <class Fn>
auto each(std::uint64_t& records, Fn&& fn) {
  return [&records, fn, scratch = cmwq::RecordBytes()](std::span<const std::byte> b) mutable {
    ingest::for_each_record(b, scratch, [&](const cmwq::Record& r) {
      ++records;
      fn(r);
    });
  };
}

sqlite3* open_db(const std::string& path) {
  sqlite3* db = nullptr;
  // One thread uses the connection: no mutex around every call (the floor is the least SQLite can do).
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) throw std::runtime_error(path + ": cannot open");
  return db;
}

std::int64_t scalar(sqlite3* db, const char* sql) {
  sqlite3_stmt* s = nullptr;
  sqlite3_prepare_v2(db, sql, -1, &s, nullptr);
  std::int64_t v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
  sqlite3_finalize(s);
  return v;
}

/// The recording's storage settings: the PRAGMA lines of schema.sql (page size, WAL).
std::string schema_pragmas() {
  std::istringstream in(kSchemaSql);
  std::string out;
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("PRAGMA")) out += line.substr(0, line.find(';') + 1);
  return out;
}

Run floor_run(const Input& in) {
  sqlite3* db = open_db(in.db);
  sqlite3_exec(db,
               (schema_pragmas() + "PRAGMA synchronous = NORMAL;"
               "CREATE TABLE events (seq INTEGER PRIMARY KEY, ts INTEGER, kind INTEGER, tid INTEGER, cpu INTEGER,"
               "work INTEGER, func INTEGER, wq INTEGER, pool INTEGER, worker INTEGER, flags INTEGER, pool_flags INTEGER,"
               "nr_running INTEGER, nr_idle INTEGER, nr_workers INTEGER, nr_active INTEGER, arg INTEGER); BEGIN")
                   .c_str(),
               nullptr, nullptr, nullptr);
  sqlite3_stmt* ins = nullptr;
  sqlite3_prepare_v2(db, "INSERT INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", -1, &ins, nullptr);
  std::uint64_t records = 0;
  Run run = feed(
      in,
      each(records, [&](const cmwq::Record& r) {
        if (!stored(r)) return;
        const cmwq_ev_state& e = *r.state();
        const std::int64_t v[] = {static_cast<std::int64_t>(e.h.seq), static_cast<std::int64_t>(e.h.ts), e.h.kind,
                                  e.h.tid, e.h.cpu, static_cast<std::int64_t>(e.work), e.func, e.wq, e.pool,
                                  e.worker, e.flags, e.pool_flags, e.nr_running, e.nr_idle, e.nr_workers,
                                  e.nr_active, e.arg};
        for (int i = 0; i < 17; ++i) sqlite3_bind_int64(ins, i + 1, v[i]);
        if (sqlite3_step(ins) != SQLITE_DONE) throw std::runtime_error(sqlite3_errmsg(db));
        sqlite3_reset(ins);
      }),
      [&] { sqlite3_exec(db, "COMMIT; BEGIN", nullptr, nullptr, nullptr); });
  auto t0 = Clock::now();
  sqlite3_exec(db, "COMMIT", nullptr, nullptr, nullptr);
  sqlite3_finalize(ins);
  sqlite3_close(db);
  run.wall_s += std::chrono::duration<double>(Clock::now() - t0).count();
  run.records = records;
  return run;
}

Run decode_run(const Input& in) {
  std::uint64_t records = 0;
  Run run = feed(in, each(records, [](const cmwq::Record&) {}), [] {});
  run.records = records;
  return run;
}

Run model_run(const Input& in) {
  wqscope::Model model;
  std::uint64_t records = 0;
  Run run = feed(in, each(records, [&](const cmwq::Record& r) { model.apply(r); }), [] {});
  run.records = records;
  run.lost = model.lost();
  return run;
}

constexpr std::uint64_t kStream = CMWQ_STREAM_ID(1, 1);
constexpr std::int64_t kThreshNs = 30'000'000'000;

/// Ingest as `watch` and `record` run it: batches, and a tick (the watchdog's look) per period at
/// the newest record's time (the simulator's clock).
template <class Commit>
Run ingest_run(const Input& in, wqscope::Ingest& ingest, Commit&& commit) {
  std::int64_t now = 0;
  Run run = feed(
      in,
      [&](std::span<const std::byte> b) {
        ingest.batch(1, kStream, b);
        now = ingest.trace().last_ts();
      },
      [&] {
        ingest.tick(now);
        commit();
      });
  ingest.finish(now);
  run.records = ingest.trace().records();
  run.lost = ingest.trace().lost();
  return run;
}

Run watch_run(const Input& in) {
  wqscope::Ingest ingest(nullptr, kThreshNs, wqscope::Ingest::Clock::live);
  return ingest_run(in, ingest, [] {});
}

/// `inline`: the tables derived at every commit, on the hot path (as before the log: the baseline).
Run record_run(const Input& in, bool inline_tables) {
  auto rec = wqscope::Recording::create(in.db, {"ingest_bench", 1, 0});
  wqscope::Ingest ingest(rec.get(), kThreshNs, wqscope::Ingest::Clock::live);
  Run run = ingest_run(in, ingest, [&] {
    rec->commit();
    if (inline_tables) {
      rec->derive();
      rec->commit();
    }
  });
  auto t0 = Clock::now();
  double cpu0 = cpu_now();
  rec->finish("ingest_bench", 0, 0, run.lost);
  rec.reset();  // closes: the last checkpoint of the WAL is part of the cost
  run.finish_wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
  run.finish_cpu_s = cpu_now() - cpu0;
  run.wall_s += run.finish_wall_s;
  return run;
}

const char* const kVariants[] = {"floor", "decode", "model", "watch", "inline", "record"};

/// Runs one variant in a child process; its rusage is the variant's alone.
Run measure(const std::string& variant, const Input& in) {
  fs::remove(in.db);
  fs::remove(in.db + "-wal");
  int fds[2];
  if (pipe(fds) != 0) throw std::runtime_error("pipe");
  pid_t pid = fork();
  if (pid == 0) {
    close(fds[0]);
    int status = 0;
    try {
      Run run = variant == "floor"    ? floor_run(in)
                : variant == "decode" ? decode_run(in)
                : variant == "model"  ? model_run(in)
                : variant == "watch"  ? watch_run(in)
                                      : record_run(in, variant == "inline");
      if (ssize_t n = write(fds[1], &run, sizeof run); n != sizeof run) status = 1;
    } catch (const std::exception& e) {
      fmt::print(stderr, "ingest_bench: {}: {}\n", variant, e.what());
      status = 1;
    }
    _exit(status);
  }
  close(fds[1]);
  Run run;
  bool got = read(fds[0], &run, sizeof run) == sizeof run;
  close(fds[0]);
  int status = 0;
  rusage ru{};
  wait4(pid, &status, 0, &ru);
  if (!got || !WIFEXITED(status) || WEXITSTATUS(status) != 0) throw std::runtime_error(variant + " failed");
  auto secs = [](timeval t) { return static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6; };
  run.cpu_s = secs(ru.ru_utime) + secs(ru.ru_stime);
  run.sys_s = secs(ru.ru_stime);
  run.rss_mb = static_cast<double>(ru.ru_maxrss) / 1024.0;
  if (fs::exists(in.db)) {
    run.db_bytes = static_cast<double>(fs::file_size(in.db));
    sqlite3* db = open_db(in.db);  // zero loss: every stored record is a row (HELLO and the collector's CHECKs aside)
    run.rows = static_cast<std::uint64_t>(
        scalar(db, fmt::format("SELECT count(*) FROM events WHERE kind NOT IN ({}, {})", int{CMWQ_EV_HELLO},
                               int{CMWQ_EV_CHECK}).c_str()));
    sqlite3_close(db);
    fs::remove(in.db);
  }
  return run;
}

using bench::fmt_stat;
using bench::stat;

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Collector ingest: simulated records -> model -> SQLite, against decode-only and bare-insert "
               "baselines.\n\nExamples:\n  ingest_bench --events 3000000 --reps 5\n  valgrind --tool=callgrind "
               "ingest_bench --events 200000 --reps 1 --only record\n"};
  std::uint64_t events = 3'000'000;
  int reps = 5;
  std::string dir = fs::temp_directory_path().string();
  std::vector<std::string> only;
  app.add_option("--events", events, "records in the stream");
  app.add_option("--reps", reps, "rounds (each runs every variant once)")->check(CLI::PositiveNumber);
  app.add_option("--dir", dir, "where the stream and the databases go (a disk, not tmpfs)");
  app.add_option("--only", only, "variants to run: floor decode model watch inline record")
      ->check(CLI::IsMember(std::vector<std::string>(std::begin(kVariants), std::end(kVariants))));
  CLI11_PARSE(app, argc, argv);
  std::vector<std::string> variants(std::begin(kVariants), std::end(kVariants));
  if (!only.empty()) variants = only;

  Input in{fmt::format("{}/ingest_bench.{}.events", dir, getpid()), fmt::format("{}/ingest_bench.{}.db", dir, getpid())};
  // Generated in a child too: the simulator's memory must not count in the variants' RSS.
  if (pid_t pid = fork(); pid == 0) {
    _exit(ingest::generate(in.events, events) == events ? 0 : 1);
  } else {
    int status = 0;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      fmt::print(stderr, "ingest_bench: could not generate {} records\n", events);
      return 1;
    }
  }
  if (std::FILE* f = std::fopen(in.events.c_str(), "rb")) {
    cmwq::RecordBytes scratch;
    ingest::for_each_batch(f, [&](std::span<const std::byte> b) {
      ingest::for_each_record(b, scratch, [&](const cmwq::Record& r) { in.stored += stored(r); });
    });
    std::fclose(f);
  }
  std::string mix;
  for (auto& [kind, n] : ingest::kinds(in.events))
    mix += fmt::format(" {} {:.1f}%", kind, 100.0 * static_cast<double>(n) / static_cast<double>(events));
  fmt::print("{} records of a simulated busy 2-CPU pool:{}\n{} rounds; median (min-max); ratios within a round\n\n",
             events, mix, reps);

  std::map<std::string, std::vector<Run>> runs;
  int failed = 0;
  try {
    for (int r = 0; r < reps; ++r)
      for (auto& v : variants) {
        Run run = measure(v, in);
        if (run.records != events || run.lost || (run.db_bytes > 0 && run.rows != in.stored)) ++failed;
        runs[v].push_back(run);
      }
  } catch (const std::exception& e) {
    fmt::print(stderr, "ingest_bench: {}\n", e.what());
    for (auto& f : {in.events, in.db, in.db + "-wal", in.db + "-shm"}) fs::remove(f);
    return 1;
  }
  fs::remove(in.events);

  auto ratios = [&](const std::string& v, const std::string& base) {
    std::vector<double> out;
    if (!runs.count(base)) return out;
    for (int r = 0; r < reps; ++r) out.push_back(runs[base][r].wall_s / runs[v][r].wall_s);
    return out;
  };
  fmt::print("{:<8} {:>26} {:>22} {:>22} {:>22} {:>9} {:>8} {:>8} {:>8}\n", "variant", "M events/s", "x floor", "x watch",
             "CPU s / M events", "CPU/wall", "sys/CPU", "RSS MB", "B/event");
  for (auto& v : variants) {
    std::vector<double> rate, cpu, util, sys, rss;
    for (auto& run : runs[v]) {
      rate.push_back(static_cast<double>(run.records) / run.wall_s / 1e6);
      cpu.push_back(run.cpu_s / static_cast<double>(run.records) * 1e6);
      util.push_back(run.cpu_s / run.wall_s);
      sys.push_back(run.sys_s / run.cpu_s);
      rss.push_back(run.rss_mb);
    }
    auto xf = ratios(v, "floor"), xm = ratios(v, "watch");
    const Run& last = runs[v].back();
    fmt::print("{:<8} {:>26} {:>22} {:>22} {:>22} {:>9.2f} {:>8.2f} {:>8.1f} {:>8}\n", v, fmt_stat(stat(rate), ".3f"),
               xf.empty() ? "" : fmt_stat(stat(xf), ".2f"), xm.empty() ? "" : fmt_stat(stat(xm), ".2f"),
               fmt_stat(stat(cpu), ".3f"), stat(util).median, stat(sys).median, stat(rss).hi,
               last.db_bytes > 0 ? fmt::format("{:.1f}", last.db_bytes / static_cast<double>(events)) : "");
  }
  fmt::print("\n");
  for (const char* v : {"inline", "record"}) {  // the hot path keeps up with the target; the finish comes after
    if (!runs.count(v)) continue;
    std::vector<double> hot, fin, fin_wall;
    for (auto& run : runs[v]) {
      hot.push_back((run.cpu_s - run.finish_cpu_s) / static_cast<double>(run.records) * 1e6);
      fin.push_back(run.finish_cpu_s / static_cast<double>(run.records) * 1e6);
      fin_wall.push_back(run.finish_wall_s);
    }
    fmt::print("{}, CPU s / M events: hot path {}, finish {}; finish wall {} s\n", v, fmt_stat(stat(hot), ".3f"),
               fmt_stat(stat(fin), ".3f"), fmt_stat(stat(fin_wall), ".2f"));
  }
  if (failed) fmt::print(stderr, "ingest_bench: {} run(s) lost records or rows\n", failed);
  return failed ? 1 : 0;
}
