// The chart's data: one pass over a recording, sampling every pool's worklist
// length and nr_running into fixed time buckets (the highest value in each,
// so a short burst still shows).
#pragma once

#include "state.h"

namespace wqgui {

/// Replays `reader` from `start_ns` to `end_ns` into a fresh model; throws RecordingError.
Series sampleSeries(const wqscope::RecordingReader& reader, std::int64_t start_ns, std::int64_t end_ns,
                    int buckets = 1500);

}  // namespace wqgui
