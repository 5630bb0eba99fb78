// The transport's compact form of a batch (the cmwq:batch probe's bytes). A state record becomes
// its kind, a mask of the fields that differ from the last record of that kind, and those fields
// as zigzag varint deltas: an 88-byte record of a busy pool takes about ten. The collector unpacks a
// batch at the door (Ingest::batch), so its log, recordings and every reader see the records of
// events.h as before.
//
// Layout: the 4 bytes of kPackedMagic, then per record a tag byte.
//   tag & 0x80: a record as events.h lays it out follows: varint size, then size bytes.
//   else, tag = kind of a cmwq_ev_state: u16 mask (little-endian; bit i: field i of kPackedFields
//   differs), varint zigzag(ts - ts of the record before), then each field of the mask as varint
//   zigzag(value - its value in the last record of this kind). seq is the record before's + 1 unless
//   its bit says otherwise. Deltas wrap at 64 bits; 32-bit fields are sign- or zero-extended first.
#pragma once

#include <cmwq/events.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>
#include <span>
#include <utility>
#include <vector>

namespace cmwq {

/// The first bytes of a packed batch. No batch of records starts so (it would be kind 0xffff).
inline constexpr std::byte kPackedMagic[4] = {std::byte{0xff}, std::byte{0xff}, std::byte{'w'}, std::byte{'1'}};

/// Whether `bytes` is a packed batch; otherwise it is records as events.h lays them out.
bool is_packed(std::span<const std::byte> bytes);

/// Packs records into one packed batch of at most `max` bytes: the records of several of the pool's
/// batches share one probe hit (one uprobe trap, one ring-buffer record).
class Packer {
 public:
  explicit Packer(std::size_t max);
  ~Packer();
  /// Packs the whole records at the front of `records` (valid records, as a Recorder's take() gives
  /// them) while they fit; returns how many bytes of `records` it took. It takes at least one record
  /// into an empty batch, whatever its size.
  std::size_t add(std::span<const std::byte> records);
  bool empty() const { return count_ == 0; }
  std::span<const std::byte> bytes() const { return std::span(out_).first(used_); }
  std::uint64_t count() const { return count_; }  // records in it
  /// Starts the next batch: the first record after it is packed against nothing.
  void clear();
  /// What the packer remembers within a batch: the record before, each kind's last fields (unpack
  /// finds them in what it has written).
  struct History;

 private:
  std::size_t max_;
  std::vector<std::byte> out_;  // bytes() and room beyond
  std::size_t used_ = 0;
  std::uint64_t count_ = 0;
  std::unique_ptr<History> hist_;
};

/// The packed form of `records` into `out` (replaced), as one batch of any size.
void pack(std::span<const std::byte> records, std::vector<std::byte>& out);

/// std::allocator, except that a vector's resize leaves what it adds as it is: unpack writes every
/// byte it keeps, and zeroing the room first took a sixth of its time.
template <class T>
struct UninitializedAllocator : std::allocator<T> {
  template <class U>
  struct rebind {
    using other = UninitializedAllocator<U>;
  };
  UninitializedAllocator() = default;
  template <class U>
  UninitializedAllocator(const UninitializedAllocator<U>&) noexcept {}
  template <class U>
  void construct(U* p) noexcept {
    ::new (static_cast<void*>(p)) U;
  }
  template <class U, class... Args>
  void construct(U* p, Args&&... args) {
    ::new (static_cast<void*>(p)) U(std::forward<Args>(args)...);
  }
};
/// Records as events.h lays them out, unpacked (aligned as operator new aligns).
using RecordBytes = std::vector<std::byte, UninitializedAllocator<std::byte>>;

/// The records of a packed batch into `out` (replaced). False if the batch is malformed (truncated,
/// an overlong varint, a misaligned or oversized raw record): `out` then holds the records before the
/// damage. The records are not validated here: cmwq::for_each_record does that, as for any batch.
bool unpack(std::span<const std::byte> packed, RecordBytes& out);

}  // namespace cmwq
