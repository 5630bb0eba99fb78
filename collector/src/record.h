// `wqscope record` and `wqscope watch`.
#pragma once

#include "session.h"

#include <string>

namespace wqscope {

/// Traces the target into a new recording at `output`, stalls longer than `thresh_ns` noted in
/// its lockups table. Returns the process exit status.
int record(const Target&, const std::string& output, std::int64_t thresh_ns);

struct WatchOptions {
  std::int64_t thresh_ns = 30'000'000'000;
  bool json = false;
  std::string exec;    // run without a shell, the alert as JSON on stdin
  std::string output;  // also record, if set
  std::string metrics; // serve Prometheus metrics at this address (from metrics_address), if set
};

/// Headless lockup detection. Returns the process exit status.
int watch(const Target&, const WatchOptions&);

}  // namespace wqscope
