// Walking the byte records of cmwq/events.h: the decoder every reader shares (the collector, its
// recordings, the GUI). It stands on events.h alone, not on the pool's core.
#pragma once

#include <cmwq/events.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <span>
#include <stdexcept>

namespace cmwq {

/// One validated record of a byte stream.
struct Record {
  const cmwq_event_header* h;
  const cmwq_ev_state* state() const { return reinterpret_cast<const cmwq_ev_state*>(h); }
  const cmwq_ev_name* name() const { return reinterpret_cast<const cmwq_ev_name*>(h); }
  const cmwq_ev_hello* hello() const { return reinterpret_cast<const cmwq_ev_hello*>(h); }
  /// Its time, ns, as the collector's signed times hold it: a damaged one past INT64_MAX reads as INT64_MAX.
  std::int64_t ts() const { return static_cast<std::int64_t>(std::min<std::uint64_t>(h->ts, INT64_MAX)); }
};

/// A stream that is not records of this schema: says at which byte and why.
struct RecordError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The record at byte `off` of `bytes`, checked: its size. Throws RecordError naming the offset and the
/// problem when it is truncated, has an impossible size or kind, or is of a newer schema version.
std::size_t check_any_record(std::span<const std::byte> bytes, std::size_t off);

/// check_any_record, with the common case (an aligned state record, whole) decided inline.
inline std::size_t check_record(std::span<const std::byte> bytes, std::size_t off) {
  if (bytes.size() - off >= sizeof(cmwq_ev_state) && off % alignof(cmwq_event_header) == 0) {
    cmwq_event_header h;
    std::memcpy(&h, bytes.data() + off, sizeof h);
    if (h.size == sizeof(cmwq_ev_state) && h.kind != 0 && h.kind < CMWQ_EV_KIND_END && h.kind != CMWQ_EV_NAME &&
        h.kind != CMWQ_EV_HELLO)
      return h.size;
  }
  return check_any_record(bytes, off);
}

/// Calls `fn(const Record&)` for each record; throws RecordError (check_record) at the first bad one,
/// after the records before it have been handed to `fn`. A template: it is every reader's inner loop.
template <class F>
void for_each_record(std::span<const std::byte> bytes, F&& fn) {
  for (std::size_t off = 0; off < bytes.size();) {
    std::size_t size = check_record(bytes, off);
    fn(Record{reinterpret_cast<const cmwq_event_header*>(bytes.data() + off)});
    off += size;
  }
}

}  // namespace cmwq
