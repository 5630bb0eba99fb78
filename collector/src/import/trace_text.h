// Kernel traces as text: /sys/kernel/tracing/trace and trace_pipe (with or without the header, the
// TGID column, 4- or 5-character flags), `trace-cmd report` and `perf script` (`workqueue:` prefixes).
// The workqueue tracepoints in every kernel's format (workqueue by name or by address, execute_end
// with or without the function) and sched_switch; other events are counted by name, unreadable lines
// counted and skipped.
#pragma once

#include "import/trace_events.h"

#include <string_view>

namespace wqscope::trace {

/// Whether `head` (a file's first bytes) reads as a text trace: one of its first lines is a
/// tracer's event line or the ftrace header.
bool is_text_trace(std::string_view head);

/// Reads every event of `text`; never throws on its content.
Input parse_text(std::string_view text);

}  // namespace wqscope::trace
