// `wqscope import` of a kernel log: a recording with one instant per report, made by the same
// model from the records the reports translate into (report_stream.h).
#pragma once

#include <cstddef>
#include <span>
#include <string>

namespace wqscope {

/// Whether `head` (a file's first bytes) is a cmwq event stream (its HELLO record), not text.
bool is_event_stream(std::span<const std::byte> head);

/// A new recording at `output` from the workqueue reports of the kernel log `log`. Unreadable lines
/// are said (with their numbers) on stderr and skipped; a log without a report throws RecordingError.
int import_kernel_log(const std::string& log, const std::string& output);

}  // namespace wqscope
