// Puts two streams in time order for the model: the pool hands over its records
// in batches up to its flush period late, the kernel's sched records arrive at
// once. A sched record waits until the pool's stream has passed its time (or
// until no pool record that old can still come).
#pragma once

#include <cmwq/recorder.h>

#include <cstdint>
#include <functional>
#include <map>
#include <span>

namespace wqscope {

class Feed {
 public:
  using Sink = std::function<void(const cmwq::Record&)>;
  explicit Feed(Sink sink) : sink_(std::move(sink)) {}

  /// The pool's records, in their order.
  void pool(std::span<const std::byte> records);
  /// One of the kernel's records.
  void kernel(const cmwq_ev_state&);
  /// Releases kernel records older than `now` minus the pool's latest delivery (flush period and reading).
  void tick(std::int64_t now);
  /// Releases everything held: the session is over.
  void flush();

  static constexpr std::int64_t kPoolLatencyNs = 100'000'000;  // pool flush period 20 ms, and a margin

 private:
  void release_until(std::int64_t ts);
  Sink sink_;
  std::multimap<std::int64_t, cmwq_ev_state> held_;  // by time: the CPUs' records interleave
};

}  // namespace wqscope
