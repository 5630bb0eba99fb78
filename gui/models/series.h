// The chart's data: every pool's worklist length and nr_running over a
// recording. A short recording is replayed once and sampled into fixed time
// buckets (the highest value in each, so a short burst still shows); a long
// one is sampled at its stored snapshots (every 100 000 events), where the
// state is known without replaying everything before it.
#pragma once

#include "state.h"

#include <memory>

namespace wqgui {

/// The series of `reader` from `start_ns` to `end_ns`: replayed when it has at most `replay_limit`
/// events, else the state at each snapshot and at `end_ns`; throws RecordingError.
Series sampleSeries(const wqscope::RecordingReader& reader, std::int64_t start_ns, std::int64_t end_ns,
                    int buckets = 1500, std::int64_t replay_limit = 1'000'000);

/// The series of a recording being written, sampled as it grows: each extend() replays only the
/// records since the last one. Buckets start `bucket_ns` wide and double (neighbours merged, the
/// higher values kept) whenever there would be `buckets` or more.
class LiveSeries {
 public:
  LiveSeries(std::int64_t start_ns, std::int64_t bucket_ns = 10'000'000, int buckets = 1500);
  ~LiveSeries();
  /// The series from the start to `end_ns`; throws RecordingError.
  Series extend(const wqscope::RecordingReader&, std::int64_t end_ns);

 private:
  struct Follower;
  std::unique_ptr<Follower> follower_;
  int buckets_;
};

}  // namespace wqgui
