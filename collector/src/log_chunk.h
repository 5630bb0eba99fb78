// The recording's log chunks (schema.sql, table `log`): the records of cmwq/events.h, each with its
// stream in the header's pid field (the pid is the stream's: streams.pid), packed as the transport
// packs a batch (cmwq/packed.h: a busy pool's 88-byte record takes about ten). Format 3's chunks held
// the records as they are; both read. The one home of that encoding, for the writer (Recording) and
// the readers.
#pragma once

#include <cmwq/packed.h>
#include <cmwq/records.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace wqscope {

/// The chunk being written: each record packed as it comes, against the records before it in the
/// chunk (a chunk reads alone).
class LogChunk {
 public:
  static constexpr std::size_t kMaxBytes = 64 << 10;  // packed: ~6000 records of a busy pool
  /// No chunk written is larger; a reader refuses a larger packed one: a hostile file's blob of up
  /// to 1 GB would unpack to ~20 times its size.
  static constexpr std::size_t kMaxReadBytes = 2 * kMaxBytes;
  /// Appends `r` of `stream`; false, with nothing appended, if the chunk is full: write it, clear()
  /// and append again.
  bool append(int stream, const cmwq::Record& r);
  bool empty() const { return packer_.empty(); }
  std::span<const std::byte> bytes() const { return packer_.bytes(); }
  void clear() { packer_.clear(); }

 private:
  cmwq::Packer packer_{kMaxBytes};
};

/// Calls `fn(stream, record)` for each record of `chunk` (a blob as SQLite gives it: any alignment;
/// packed, or format 3's records as they are), the record with its pid back (`pid_of(stream)`).
/// Throws cmwq::RecordError naming what is wrong with a damaged chunk (a packed one over
/// LogChunk::kMaxReadBytes is, whole); the records before the damage have been handed to `fn`.
void for_each_logged(std::span<const std::uint8_t> chunk, const std::function<std::uint32_t(int stream)>& pid_of,
                     const std::function<void(int stream, const cmwq::Record&)>& fn);

}  // namespace wqscope
