// The recording's log chunks (schema.sql, table `log`): the records of cmwq/events.h back to back,
// each with its stream in the header's pid field (the pid is the stream's: streams.pid). The one
// home of that encoding, for the writer (Recording) and the readers.
#pragma once

#include <cmwq/records.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace wqscope {

/// Appends `r` of `stream` to `chunk`.
void append_logged(std::vector<std::byte>& chunk, int stream, const cmwq::Record& r);

/// Calls `fn(stream, record)` for each record of `chunk` (a blob as SQLite gives it: any alignment),
/// the record with its pid back (`pid_of(stream)`). Throws cmwq::RecordError naming what is wrong
/// with a damaged chunk; the records before it have been handed to `fn`.
void for_each_logged(std::span<const std::uint8_t> chunk, const std::function<std::uint32_t(int stream)>& pid_of,
                     const std::function<void(int stream, const cmwq::Record&)>& fn);

}  // namespace wqscope
