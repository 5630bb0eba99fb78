// The one ingest pipeline (Perfetto's trace_processor in small): records from capture, from an
// imported file or from a recording's log go through here, and only here, to the log (a
// Recording), the model of their stream, its watchdog and the alert sink. Live capture and every
// reader build their state the same way, so a replay raises what live raised.
//
// What the target sends is untrusted: a batch that does not decode is counted and skipped; a
// sequence that jumps becomes a GAP record (from, how many, cause) in the log, and every reader
// applies it as live did.
#pragma once

#include "recording.h"
#include "trace.h"
#include "watchdog.h"

#include <cmwq/packed.h>
#include <cmwq/records.h>

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <utility>
#include <vector>

namespace wqscope {

/// What a capture or import counted instead of applying (stored in the recording's anomalies table).
struct IngestCounts {
  std::uint64_t malformed_batches = 0;  // batches cut short by a record that does not decode
  std::uint64_t out_of_sequence = 0;    // records whose seq went back: skipped
  std::uint64_t from_the_future = 0;    // live records stamped far after now: skipped (they would end every
                                        // reader's view of the log there)
  std::uint64_t gaps = 0;               // GAP records written
};

class Ingest {
 public:
  /// Alerts of one stream, with its model as it is when they are raised.
  using AlertSink = std::function<void(int stream, const std::vector<Alert>&, const Model&)>;
  /// When the watchdogs look at the state (stored with a recording: its replays look the same way).
  enum class Clock {
    live,       // capture: when tick() says, and the log notes it (CHECK records)
    checks,     // a replay of a capture's log: where its CHECK records say
    deadlines,  // an import, or its replay: at each stall's deadline, before the record that passes it
  };
  /// `rec`: the log to write (null: none); `thresh_ns`: the watchdog's threshold.
  Ingest(Recording* rec, std::int64_t thresh_ns, Clock clock, AlertSink alerts = {});

  /// The kernel's streams report functions queued more than `per_second` times in a second (0: never).
  void watch_queue_storms(std::uint64_t per_second) { storm_ = per_second; }
  /// The kernel's streams name this CPU-intensive threshold in hog alerts (wq_cpu_intensive_thresh_us).
  void kernel_hog_thresh(std::int64_t ns) { hog_thresh_ = ns; }
  /// The batches are wqscope's own translation of the kernel's events (kernel mode), not a process's:
  /// their off/on-CPU records, outside the sequence, are applied as an import's are.
  void trust_task_states() { trust_task_states_ = true; }
  /// Calls `f` with each stream's model when it is made, before its first record: to add observers.
  void on_new_model(std::function<void(int stream, Model&)> f) { on_new_ = std::move(f); }

  /// Live: the BPF side's count of dropped events so far, asked when a gap is seen (to name its cause:
  /// a syscall, so not at every batch).
  void ring_dropped_from(std::function<std::uint64_t()> count) { ring_dropped_count_ = std::move(count); }
  /// One probe hit of process `pid`: the records of System CMWQ_STREAM_SYSTEM(`stream`).
  void batch(std::uint32_t pid, std::uint64_t stream, std::span<const std::byte> bytes);
  /// One of the kernel's off/on-CPU records of the target's threads: held until the pool's
  /// records have passed its time (they come up to a flush period late).
  void sched(const cmwq_ev_state&);
  /// The kernel dropped `n` more off/on-CPU records.
  void sched_lost(std::uint64_t n);
  /// Live: releases what is due and runs the watchdogs at `now`. While the reader is `behind` (records
  /// left unread), no further than the newest record read: a pool's progress may be among the unread
  /// ones, and judging them at `now` is how a slow collector raised lockups of a healthy target.
  void tick(std::int64_t now, bool behind = false);
  /// A record of the log as it was written (a reader's replay).
  void replayed(int stream, const cmwq::Record&);
  /// Everything held goes in; open items and episodes are reported; a replay's watchdog catches up to `end`.
  void finish(std::int64_t end);

  /// The earliest time a watchdog could report a stall not reported yet (INT64_MAX: none).
  std::int64_t next_deadline() const;
  const Trace& trace() const { return trace_; }
  const IngestCounts& counts() const { return counts_; }

  static constexpr std::int64_t kPoolLatencyNs = 100'000'000;  // pool flush period 20 ms, and a margin
  static constexpr std::int64_t kFutureNs = 10'000'000'000;    // live: a record this far after now is forged

 private:
  struct Source {  // one System of one process, as capture sees it
    int id = 0;                   // the log's stream id
    std::uint64_t next_seq = 0;   // 0: no record of it yet
    std::uint8_t cause = 0;       // of the next gap, if known (a malformed batch)
  };
  Source& source(std::uint32_t pid, std::uint32_t system);
  /// A record into the log (if any), the models and the watchdogs.
  void apply(int stream, const cmwq::Record&);
  /// The models' and watchdogs' part of apply().
  void learn(int stream, const cmwq::Record&);
  /// Whether the log takes `records` (a whole batch of `src`) as they came: each is the pool's record
  /// its sequence expects, and none is forged or from the future (apply() of each would log them all,
  /// in this order, with the held records due among them). `newest`: their newest time.
  bool in_order(const Source& src, std::span<const std::byte> records, std::int64_t& newest) const;
  void gap(int stream, std::uint64_t from, std::int64_t count, std::uint32_t cause, std::int64_t ts);
  void check(std::int64_t now);
  /// Whether a held off/on-CPU record is stamped no later than `ts`: O(1), asked at every pool record.
  bool any_due(std::int64_t ts) const { return !held_.empty() && held_.begin()->first <= ts; }
  /// The held off/on-CPU records stamped no later than `ts`, in time order, taken off held_.
  std::vector<cmwq_ev_state> take_due(std::int64_t ts);
  /// Applies them (the pool's records have passed their time).
  void release_until(std::int64_t ts);
  void raise(int stream, const std::vector<Alert>&);

  Recording* rec_;
  std::int64_t thresh_;
  Clock clock_;
  AlertSink alerts_;
  std::function<void(int stream, Model&)> on_new_;
  Trace trace_;
  std::map<int, std::unique_ptr<Watchdog>> dogs_;  // by stream
  std::map<std::pair<std::uint32_t, std::uint32_t>, Source> sources_;  // by (pid, system)
  std::multimap<std::int64_t, cmwq_ev_state> held_;  // sched records by time: the CPUs' interleave
  cmwq::RecordBytes unpacked_;  // the records of the packed batch in hand
  std::function<std::uint64_t()> ring_dropped_count_;
  std::uint64_t ring_dropped_ = 0;  // its value at the last gap
  std::uint64_t storm_ = kQueueStorm;
  std::int64_t hog_thresh_ = cmwq::WQ_CPU_INTENSIVE_THRESH;
  bool trust_task_states_ = false;
  std::int64_t now_ = 0;  // live: the clock at the last tick (CLOCK_MONOTONIC, as the records)
  std::int64_t checked_ = INT64_MIN;  // live: where the last tick looked
  IngestCounts counts_;
};

}  // namespace wqscope
