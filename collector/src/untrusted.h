// Names are bytes from an untrusted process: a workqueue's or a function's name is whatever the
// target passed to alloc_workqueue() or its work item, cut at CMWQ_NAME_MAX (maybe inside a UTF-8
// sequence). Everything the collector shows or writes goes through here first: the model stores
// names this way, so alerts, the busy dump, stats, metrics labels, the recording's tables and the
// GUI get them printable; JSON is written with json_text(), valid UTF-8 whatever it holds.
#pragma once

#include <nlohmann/json_fwd.hpp>

#include <string>
#include <string_view>

namespace wqscope {

/// `bytes` as valid UTF-8 that is safe on a terminal: every byte that is not part of a valid
/// UTF-8 sequence, and every control character (C0, DEL, C1: ESC starts terminal escapes; also
/// the bidi overrides and line separators, which make a line read differently from its bytes),
/// becomes "\xHH" per byte. The rest is kept. Idempotent (backslashes are kept as they are, so
/// escaping twice changes nothing: names pass here on every way into the model, snapshots
/// included); hence also ambiguous for a name that spells "\x1b" itself, which is only a name.
std::string printable(std::string_view bytes);

/// Every string in `j`, object keys included, through printable(): for state restored from a
/// snapshot, which may predate the escaping or come from a damaged file.
void make_printable(nlohmann::json& j);

/// One line of JSON, valid UTF-8 whatever its strings hold (never nlohmann's type_error 316:
/// an invalid byte becomes U+FFFD).
std::string json_text(const nlohmann::json& j);

}  // namespace wqscope
