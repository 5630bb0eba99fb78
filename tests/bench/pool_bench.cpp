// Pool comparison side by side in one run: libcmwq (bound and unbound workqueues) against
// thread_pool 4.0 (rvaser; Debian's libthread-pool-dev), boost::asio::thread_pool and oneTBB,
// on five workloads, each fixed-size pool swept over a few thread counts. Each run reports
// items/s, queue-to-start latency (stamped at submit, measured at start, on a sample of the
// items) and threads used;
// `--rounds=N` runs them N times over, `--table=FILE` writes the markdown table (pool_report.h).
//
// BS::thread_pool is absent: Debian does not package it (its libthread-pool-dev is rvaser's).
#include "latency.h"
#include "pool_report.h"
#include "pools.h"
#include "workloads.h"

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <thread>

using namespace std::chrono_literals;

namespace bench {
namespace {

/// Latency is sampled on every 8th item: two clock reads cost ~140 ns here, as much as a whole
/// empty task in the fastest pool, and would flatten the throughput they measure.
constexpr int kSampleEvery = 8;

template <class Pool, class... Args>
void run(benchmark::State& st, const Workload& w, Args... args) {
  Latency lat;
  std::vector<std::int64_t> stamps(static_cast<std::size_t>(w.items));
  Item item = [&](int i) {
    if (i % kSampleEvery == 0) lat.record(now_ns() - stamps[static_cast<std::size_t>(i)]);
    w.body(i, Pool::kCooperative);
  };
  Pool pool(args..., w.items, item);
  pool.in_context([&] {
    for (auto _ : st)
      for (int r = 0; r < w.rounds; ++r) {
        for (int i = 0; i < w.items; ++i) {
          if (i % kSampleEvery == 0) stamps[static_cast<std::size_t>(i)] = now_ns();
          pool.submit(i);
        }
        pool.wait();
      }
  });
  st.SetItemsProcessed(st.iterations() * w.items * w.rounds);
  st.counters["p50_us"] = lat.quantile(0.50) / 1e3;
  st.counters["p99_us"] = lat.quantile(0.99) / 1e3;
  st.counters["threads"] = pool.threads();
}

std::vector<Case> register_all() {
  std::vector<Case> cases;
  auto add = [&](const Workload& w, const char* pool, int threads, bool ours, auto fn) {
    std::string name = fmt::format("{}/{}/{}", w.name, pool, threads);
    benchmark::RegisterBenchmark(name.c_str(), fn)->UseRealTime()->Unit(benchmark::kMillisecond);
    cases.push_back({name, w.name, w.what, pool, threads, ours});
  };
  for (const Workload& w : kWorkloads) {
    add(w, "libcmwq bound", 0, true, [&w](benchmark::State& s) { run<Cmwq>(s, w, 0u); });
    add(w, "libcmwq unbound", 0, true, [&w](benchmark::State& s) { run<Cmwq>(s, w, unsigned{cmwq::WQ_UNBOUND}); });
    for (int n : w.threads) {
      add(w, "thread_pool 4.0 (rvaser)", n, false, [&w, n](benchmark::State& s) { run<ThreadPool>(s, w, n); });
      add(w, "boost::asio::thread_pool", n, false, [&w, n](benchmark::State& s) { run<Asio>(s, w, n); });
      add(w, "oneTBB task_group", n, false, [&w, n](benchmark::State& s) { run<Tbb>(s, w, n); });
    }
  }
  return cases;
}

}  // namespace
}  // namespace bench

int main(int argc, char** argv) {
  // Our flags, taken out before Google Benchmark sees the rest. --rounds=N: N passes over all
  // benchmarks, each in registration order, so that the pools of a workload run seconds apart
  // and their ratio within a pass is a fair one on a noisy machine (GB's repetitions of one
  // benchmark run back to back, or shuffled over the whole run).
  std::string table;
  int rounds = 1;
  auto end = std::remove_if(argv + 1, argv + argc, [&](char* a) {
    if (!std::strncmp(a, "--table=", 8)) table = a + 8;
    else if (!std::strncmp(a, "--rounds=", 9)) rounds = std::max(1, std::atoi(a + 9));
    else return false;
    return true;
  });
  argc = static_cast<int>(end - argv);
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  bench::calibrate();
  {
    // TBB initialises its scheduler on first use; first used under a limit of one thread it ran
    // 10-30x slower in that configuration for the rest of the process. Start it as programs do.
    tbb::task_group warm;
    for (int i = 0; i < 1000; ++i) warm.run([] {});
    warm.wait();
  }
  bench::TableReporter reporter(bench::register_all());
  for (int r = 0; r < rounds; ++r) {
    reporter.set_round(r);
    benchmark::RunSpecifiedBenchmarks(&reporter);
  }
  if (!table.empty()) {
    std::ofstream out(table);
    reporter.print(out);
  }
  benchmark::Shutdown();
}
