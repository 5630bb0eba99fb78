// Turns the core's events into the byte records of cmwq/events.h, interning
// names, and walks such records back. The runtime hands the bytes to the
// `cmwq:batch` probe; the simulator writes them to a file.
#pragma once

#include <cmwq/core.h>
#include <cmwq/events.h>

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace cmwq {

class Recorder {
 public:
  Recorder(std::uint32_t pid, int possible_cpus, Time watchdog_thresh);

  /// Starts a stream: HELLO first, every name again on its next use.
  void restart(Time now);
  void record(const Event&, std::uint32_t tid);
  /// The records since the last take(); `events` gets their count.
  std::vector<std::byte> take(std::uint64_t* events = nullptr);
  std::size_t pending_bytes() const { return buf_.size(); }
  std::uint64_t next_seq() const { return seq_; }

 private:
  std::uint32_t intern(const char* s, std::uint32_t kind, Time now, std::uint32_t tid);
  template <class T>
  T& append(std::uint16_t kind, Time ts, std::uint32_t tid, std::int32_t cpu);

  std::uint32_t pid_;
  int cpus_;
  Time thresh_;
  std::uint64_t seq_ = 1;
  std::uint64_t count_ = 0;
  std::vector<std::byte> buf_;
  std::unordered_map<std::string, std::uint32_t> names_;    // text -> id, for this stream
  std::unordered_map<const char*, std::uint32_t> by_ptr_;   // the same, cached by address
};

/// One validated record of a byte stream.
struct Record {
  const cmwq_event_header* h;
  const cmwq_ev_state* state() const { return reinterpret_cast<const cmwq_ev_state*>(h); }
  const cmwq_ev_name* name() const { return reinterpret_cast<const cmwq_ev_name*>(h); }
  const cmwq_ev_hello* hello() const { return reinterpret_cast<const cmwq_ev_hello*>(h); }
};

/// Calls `fn` for each record; throws Error naming the offset and the problem when a record is
/// truncated, has an impossible size or kind, or the stream is of a newer schema version.
void for_each_record(std::span<const std::byte> bytes, const std::function<void(const Record&)>& fn);

}  // namespace cmwq
