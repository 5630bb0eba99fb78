// Turns the core's events into the byte records of cmwq/events.h, interning
// names, and walks such records back. The runtime hands the bytes to the
// `cmwq:batch` probe; the simulator writes them to a file.
#pragma once

#include <cmwq/core.h>
#include <cmwq/events.h>
#include <cmwq/records.h>

#include <cstddef>
#include <functional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

namespace cmwq {

/// Not thread-safe: its owner's lock guards all of it (the runtime's rec_mu_; the simulator is one thread).
class Recorder {
 public:
  /// `system`: which System of the process this is (CMWQ_EV_HELLO), from 1. `kernel`: the era it
  /// models; its dump form is announced after each HELLO (but the seeds'), so that readers print its
  /// state as that kernel does.
  Recorder(std::uint32_t pid, std::uint32_t system, int possible_cpus, Time watchdog_thresh,
           Kernel kernel = Kernel::Seeds);

  /// Starts the next session of the stream: HELLO first, every name again on its next use (with
  /// the id it had: ids and seq are never reused). The caller announces the state, then announced().
  void restart(Time now);
  /// The state announced after the HELLO is complete (CMWQ_EV_ANNOUNCED).
  void announced(Time now);
  /// The cmwq:batch probe's stream argument: CMWQ_STREAM_ID(system, session).
  std::uint64_t stream_id() const { return CMWQ_STREAM_ID(system_, session_); }
  void record(const Event&, std::uint32_t tid);
  /// The records since the last take(); `events` gets their count.
  std::vector<std::byte> take(std::uint64_t* events = nullptr);
  std::size_t pending_bytes() const { return buf_.size(); }
  std::uint64_t next_seq() const { return seq_; }

 private:
  std::uint32_t intern(const char* s, std::uint32_t kind, Time now, std::uint32_t tid);
  template <class T>
  T& append(std::uint16_t kind, Time ts, std::uint32_t tid, std::int32_t cpu);

  std::uint32_t pid_, system_, session_ = 0;
  int cpus_;
  Time thresh_;
  std::string traced_;  // report::Dialect::traced_mark() of the era
  std::uint64_t seq_ = 1;
  std::uint64_t count_ = 0;
  std::vector<std::byte> buf_;
  std::unordered_map<std::string, std::uint32_t> names_;    // text -> id, for the System's life
  std::unordered_map<const char*, std::uint32_t> by_ptr_;   // the same, cached by address
  std::vector<bool> sent_;                                  // by id: its NAME is in this session
};

}  // namespace cmwq
