// The recording's log chunks (schema.sql, table `log`): the records of cmwq/events.h, packed as the
// transport packs a batch (cmwq/packed.h: a busy pool's 88-byte record takes about ten). The one home
// of that encoding, for the writer (Recording) and the readers.
//
// Format 5 (kLogMagic): a chunk is parts, each a packed batch with its own history:
//   kBatchPart:   u32 stream, u32 size, a batch of that stream as the probe delivered it, stored as it
//                 came (not unpacked and packed again): what `record` mostly writes;
//   kRecordsPart: u32 size, records the collector packed itself, each with its stream in the pid field
//                 (its GAP and CHECK records, the kernel's off/on-CPU records, a batch not taken whole);
//   kHeldPart:    the same, the kernel's off/on-CPU records the collector held and applied among the
//                 records of the batch part that follows: in the log in that order (for_each_interleaved).
// Format 4's chunk was one records part (kPackedMagic first); format 3's held the records as they are,
// their stream in the pid. All three read.
#pragma once

#include <cmwq/packed.h>
#include <cmwq/records.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace wqscope {

/// The chunk being written (a chunk reads alone).
class LogChunk {
 public:
  static constexpr std::size_t kMaxBytes = 64 << 10;  // packed: ~6000 records of a busy pool
  /// No chunk written is larger; a reader refuses a larger one: a hostile file's blob of up to 1 GB
  /// would unpack to ~20 times its size.
  static constexpr std::size_t kMaxReadBytes = 2 * kMaxBytes;
  /// Appends `r` of `stream`; false, with nothing appended, if the chunk is full: write it, clear()
  /// and append again.
  bool append(int stream, const cmwq::Record& r);
  /// Appends `packed`, a packed batch of `stream` whose every record goes into the log as it is, and
  /// `held` (records of cmwq_ev_state, of stream 0), applied among them (for_each_interleaved); false,
  /// with nothing appended, if they do not fit. A batch larger than an empty chunk holds never does.
  bool append_batch(int stream, std::span<const std::byte> packed, std::span<const std::byte> held);
  bool empty() const { return parts_.size() == sizeof kLogMagic && records_.empty(); }
  /// Its size as stored, bytes.
  std::size_t size() const;
  /// The chunk as it is stored (the records part being packed ends here: call it to write the chunk).
  std::span<const std::byte> bytes();
  void clear();

  static constexpr std::byte kLogMagic[4] = {std::byte{0xff}, std::byte{0xff}, std::byte{'l'}, std::byte{'5'}};
  static constexpr std::byte kRecordsPart{'R'}, kBatchPart{'B'}, kHeldPart{'H'};

 private:
  void pack(int stream, const cmwq::Record&);  // into the records part being packed
  void close_records(std::byte tag = kRecordsPart);  // the records part being packed goes into parts_

  std::vector<std::byte> parts_ = {std::begin(kLogMagic), std::end(kLogMagic)};  // the magic, the closed parts
  cmwq::Packer records_{kMaxBytes};  // the records part being packed
};

/// The order the collector applies a batch's `records` (unpacked) and the off/on-CPU records it held
/// (`held`, by time) in: before each record of the batch, the held ones stamped no later than it
/// (Ingest::release_until); any left, after the batch. `fn(held, record)`.
void for_each_interleaved(std::span<const std::byte> records, std::span<const std::byte> held,
                          const std::function<void(bool held, const cmwq::Record&)>& fn);

/// Calls `fn(stream, record)` for each record of `chunk` (a blob as SQLite gives it: any alignment;
/// format 3, 4 or 5), the record with its pid back (`pid_of(stream)`). Throws cmwq::RecordError
/// naming what is wrong with a damaged chunk (one over LogChunk::kMaxReadBytes is, whole); the records
/// before the damage have been handed to `fn`.
void for_each_logged(std::span<const std::uint8_t> chunk, const std::function<std::uint32_t(int stream)>& pid_of,
                     const std::function<void(int stream, const cmwq::Record&)>& fn);

}  // namespace wqscope
