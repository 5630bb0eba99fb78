// The pool benchmark's five workloads, shared by pool_bench (libcmwq against other pools) and
// lock_bench (libcmwq's locks under the same workloads).
#pragma once

#include "latency.h"

#include <cmwq/cmwq.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace bench {

using namespace std::chrono_literals;

/// A fixed arithmetic loop, calibrated once to nanoseconds on an unloaded moment (the fastest of
/// several tries), so that an item's work is the same whatever the pool and the noise.
inline double g_iters_per_ns = 1;

inline void spin_ns(double ns) {
  std::uint64_t x = 1;
  for (auto n = static_cast<std::uint64_t>(ns * g_iters_per_ns); n; --n) {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    asm volatile("" : "+r"(x));
  }
}

inline void calibrate() {
  constexpr std::uint64_t kIters = 2'000'000;
  std::int64_t best = INT64_MAX;
  for (int t = 0; t < 15; ++t) {
    std::int64_t t0 = now_ns();
    g_iters_per_ns = 1;
    spin_ns(kIters);
    best = std::min(best, now_ns() - t0);
  }
  g_iters_per_ns = static_cast<double>(kIters) / static_cast<double>(best);
}

inline void block(std::chrono::nanoseconds d, bool cooperative) {
  if (cooperative) cmwq::sleep_for(d);  // libcmwq's blocking point: concurrency management sees it
  else std::this_thread::sleep_for(d);
}

struct Workload {
  const char* name;
  const char* what;
  int items, rounds;  // rounds: queue `items`, wait for all, repeat
  std::vector<int> threads;
  void (*body)(int i, bool cooperative);
};

inline const std::vector<int> kCpuCounts{1, 2, 4};
inline const std::vector<Workload> kWorkloads{
    {"empty", "100 k empty items", 100'000, 1, kCpuCounts, [](int, bool) {}},
    {"cpu1us", "20 k items of 1 us CPU", 20'000, 1, kCpuCounts, [](int, bool) { spin_ns(1e3); }},
    {"cpu10us", "4 k items of 10 us CPU", 4'000, 1, kCpuCounts, [](int, bool) { spin_ns(1e4); }},
    // Half the items sleep 0.1-1 ms (0.55 ms on average), the other half compute 10 us; pairs
    // alternate, so that the bound workqueue's round-robin gives each CPU both kinds.
    {"blocking", "1 k items, half sleep 0.1-1 ms, half 10 us CPU", 1'000, 1, {8, 16, 32, 64, 128},
     [](int i, bool coop) {
       if ((i >> 1) & 1) block(100us * (1 + (i >> 2) % 10), coop);
       else spin_ns(1e4);
     }},
    {"fanout", "fan-out/fan-in: 64 items of 1 us, wait for all, x200", 64, 200, kCpuCounts,
     [](int, bool) { spin_ns(1e3); }},
};

}  // namespace bench
