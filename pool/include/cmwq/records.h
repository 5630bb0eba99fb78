// Walking the byte records of cmwq/events.h: the decoder every reader shares (the collector, its
// recordings, the GUI). It stands on events.h alone, not on the pool's core.
#pragma once

#include <cmwq/events.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
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

/// Calls `fn` for each record; throws RecordError naming the offset and the problem when a record is
/// truncated, has an impossible size or kind, or the stream is of a newer schema version. The
/// records before the bad one have been handed to `fn`.
void for_each_record(std::span<const std::byte> bytes, const std::function<void(const Record&)>& fn);

}  // namespace cmwq
