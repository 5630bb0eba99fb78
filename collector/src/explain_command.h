// `wqscope explain`: why the stuck pools of a recording (or an imported kernel report) make no progress.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace wqscope {

/// The explanation at `at` (default: the end), as text or one JSON object; `thresh_ns` defaults to
/// 30 s for recordings and 1 s for kernel reports.
int explain_recording(const std::string& db, const std::optional<std::string>& at,
                      std::optional<std::int64_t> thresh_ns, bool json);

}  // namespace wqscope
