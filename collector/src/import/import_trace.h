// `wqscope import` of a kernel trace (trace.dat, ftrace, trace-cmd report or perf script text of the
// workqueue tracepoints): a recording of kernel mode's records, as `record --kernel` would have made.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace wqscope {

/// Whether `head` (a file's first bytes) is a kernel trace this importer reads.
bool is_kernel_trace(std::string_view head);

/// A new recording at `output` from the trace `path`, with the alerts of a watchdog at `thresh_ns`
/// (no lockups for a trace without workqueue_execute_start: no item would ever start) and of
/// functions queued more than `storm` times a second (0: none). Unreadable lines
/// are counted, the first said on stderr; a trace without workqueue events throws RecordingError.
int import_kernel_trace(const std::string& path, const std::string& output, std::int64_t thresh_ns,
                        std::uint64_t storm);

}  // namespace wqscope
