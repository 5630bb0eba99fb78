// trace-cmd's trace.dat files, read with libtracecmd and libtraceevent (the format's own libraries):
// the same events as a text trace gives, with the work functions named by the file's kallsyms.
#pragma once

#include "import/trace_events.h"

#include <string>
#include <string_view>

namespace wqscope::trace {

/// Whether `head` (a file's first bytes) is a trace.dat: "\x17\x08\x44tracing".
bool is_trace_dat(std::string_view head);

/// Reads every workqueue and sched_switch event of the trace.dat `path`, in time order; throws
/// RecordingError if libtracecmd cannot open it. Records it cannot read are counted.
Input read_trace_dat(const std::string& path);

}  // namespace wqscope::trace
