// The collector's derived tables that the model does not rebuild: the alerts
// it raised while recording, and (for the worker timeline) work items and
// off-CPU intervals. Read-only, like RecordingReader.
#pragma once

#include "reader.h"
#include "watchdog.h"

#include <sqlite3.h>

#include <cstdint>
#include <string>
#include <vector>

namespace wqgui {

/// A work item's run on a worker, or a worker's wait off the CPU.
struct Bar {
  int worker = 0;
  std::int64_t start_ns = 0, end_ns = -1;  // end -1: still running when the recording ended
  std::string label;                       // the function
  bool off_cpu = false, hidden = false;
};

class Tables {
 public:
  /// Reads through the reader's checked connection; the reader outlives this.
  explicit Tables(const wqscope::RecordingReader& reader) : reader_(reader) {}
  Tables(const Tables&) = delete;
  Tables& operator=(const Tables&) = delete;

  std::vector<wqscope::Alert> alerts() const;
  /// Items that ran and off-CPU waits overlapping [from, to], by worker and start; at most kMaxBars of each.
  static constexpr int kMaxBars = 200'000;
  std::vector<Bar> bars(std::int64_t from, std::int64_t to) const;

 private:
  sqlite3* db() const { return reader_.connection(); }
  const wqscope::RecordingReader& reader_;
};

}  // namespace wqgui
