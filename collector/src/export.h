// Export: a recording as a Chrome/Perfetto trace (the trace-event JSON object format) that opens in
// ui.perfetto.dev and chrome://tracing. One process; a track per worker with its items and its waits
// off the CPU as slices; each pool's worklist, running and workers counters; maydays and alerts as
// instants. Times are microseconds from the start of the recording.
#pragma once

#include "reader.h"

#include <cstdint>
#include <stdexcept>
#include <string>

namespace wqscope {

/// The output file cannot be created or written (the recording's own errors are RecordingErrors).
struct ExportError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct ExportSummary {
  std::uint64_t records = 0;       // replayed from the recording
  std::uint64_t trace_events = 0;  // written
  std::uint64_t items = 0;         // work item slices (items that never started have none)
  std::uint64_t bytes = 0;
};

/// Writes the trace of `reader`'s recording to `path`, a new file (never overwritten; mode 0600 like
/// recordings), one event at a time. Throws ExportError or RecordingError; a failed export leaves no file.
ExportSummary export_perfetto(const RecordingReader& reader, const std::string& path);

}  // namespace wqscope
