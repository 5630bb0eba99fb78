// Queue-to-start latency of a pool benchmark: a log-linear histogram (8 sub-buckets per
// power of two, +-6 % resolution) striped by thread, so that recording costs one relaxed
// add on a line no other running thread touches and memory stays fixed however many items run.
#pragma once

#include <array>
#include <atomic>
#include <bit>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <memory>

namespace bench {

inline std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

class Latency {
 public:
  void record(std::int64_t ns) {
    auto v = static_cast<std::uint64_t>(ns < 0 ? 0 : ns);
    stripes_[stripe()].n[bucket(v)].fetch_add(1, std::memory_order_relaxed);
  }

  /// The q-quantile (0..1) in nanoseconds: the middle of its bucket.
  double quantile(double q) const {
    std::array<std::uint64_t, kBuckets> sum{};
    std::uint64_t total = 0;
    for (int s = 0; s < kStripes; ++s)
      for (int b = 0; b < kBuckets; ++b) {
        std::uint64_t n = stripes_[s].n[b].load(std::memory_order_relaxed);
        sum[b] += n;
        total += n;
      }
    auto rank = static_cast<std::uint64_t>(q * static_cast<double>(total));
    for (int b = 0; b < kBuckets; ++b) {
      if (sum[b] > rank) return middle(b);
      rank -= sum[b];
    }
    return 0;
  }

 private:
  static constexpr int kStripes = 64, kBuckets = 16 + 60 * 8;
  struct alignas(64) Stripe {
    std::array<std::atomic<std::uint64_t>, kBuckets> n{};
  };

  static int stripe() {
    static std::atomic<int> next{0};
    thread_local int mine = next.fetch_add(1, std::memory_order_relaxed) % kStripes;
    return mine;
  }
  static int bucket(std::uint64_t v) {
    if (v < 16) return static_cast<int>(v);
    int e = std::bit_width(v) - 1;  // >= 4
    return 16 + (e - 4) * 8 + static_cast<int>((v >> (e - 3)) & 7);
  }
  static double middle(int b) {
    if (b < 16) return b;
    int e = (b - 16) / 8 + 4, sub = (b - 16) % 8;
    double lo = std::ldexp(8 + sub, e - 3);
    return lo + std::ldexp(0.5, e - 3);
  }

  std::unique_ptr<Stripe[]> stripes_ = std::make_unique<Stripe[]>(kStripes);  // 250 KB: on the heap
};

}  // namespace bench
