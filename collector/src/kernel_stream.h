// Kernel mode's translation: the kernel's workqueue events (bpf/kernel.bpf.c) as a stream of the
// schema's records (cmwq/events.h), so that the model, recordings, show, stats, replay, export and
// the GUI read the kernel as they read libcmwq. What the tracepoints do not say is derived here:
// workqueues, pools and workers are announced when first seen; a worker is busy from its first item,
// idle when it goes to sleep with WORKER_IDLE set, sleeping when it waits inside an item. Items taken
// back off their list unseen (no try_to_grab_pending program) are cancelled when queued again, or
// when their pool, under its lock, shows an empty worklist and no worker starts them soon after.
// An item the kernel marked CPU-intensive (its hog) is told at its end.
#pragma once

#include "kallsyms.h"
#include "kernel_pointers.h"
#include "kernel_bpf.h"

#include <cmwq/report.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace wqscope {

/// The stream of kernel mode's records: System 0 (the kernel), one session.
constexpr std::uint64_t kKernelStream = CMWQ_STREAM_ID(0, 1);

class KernelStream {
 public:
  /// How long an item missing from its pool's worklist may take to start before it counts as taken
  /// back: a worker that took it off the list under the lock starts it right after unlocking.
  static constexpr std::int64_t kStartGraceNs = 1'000'000'000;

  /// Items (work_struct addresses) and functions without a symbol go into the records through
  /// `pointers`: hashed, unless it keeps them raw.
  KernelStream(KernelSymbols symbols, KernelPointers pointers, int possible_cpus, std::int64_t watchdog_thresh_ns)
      : symbols_(std::move(symbols)), pointers_(pointers), possible_cpus_(possible_cpus),
        thresh_ns_(watchdog_thresh_ns) {}

  /// The traced kernel prints its busy dump in `dialect` (cmwq::dialect_of its release): readers print
  /// it so. Before the first translate(); without it, libcmwq's form (a trace's kernel is unknown).
  void print_as(const cmwq::report::Dialect& dialect) { traced_ = dialect.traced_mark(); }

  /// Appends to `out` the records that say what `e` did (the stream's HELLO before the first);
  /// returns how many.
  std::uint64_t translate(const cmwq_kernel_event& e, std::vector<std::byte>& out);

 private:
  enum class State { Busy, Idle, Sleeping };
  struct Worker {
    int pool = -1;
    State state = State::Busy;
    std::uint64_t work = 0;       // the item it runs, if we saw it start
    std::uint64_t started_runtime = 0;
    std::int64_t off_since = -1;  // waiting inside an item since
  };
  struct Workqueue {
    std::uint32_t id = 0;
    bool announced = false;  // WQ_CREATE sent: its name was read (a rescuer's may be known before)
    std::int32_t max_active = 0;
  };
  struct Queued {  // an item between WORK_QUEUE and WORK_START
    std::uint32_t wq = 0, func = 0;
    int pool = -1;
    std::int32_t nr_active = 0;  // of its pwq when last seen
    bool active = false;
    std::int64_t missing_since = -1;  // active, but its pool's worklist was empty then
  };

  template <class T>
  T& append(std::uint16_t kind, const cmwq_kernel_event& e, std::int32_t cpu, bool in_sequence = true);
  cmwq_ev_state& state(std::uint16_t kind, const cmwq_kernel_event& e, std::uint32_t func = 0);
  void pool_fields(cmwq_ev_state& rec, int pool) const;
  std::uint32_t intern(const std::string& text, std::uint32_t kind, const cmwq_kernel_event& e);
  std::uint32_t workqueue(std::uint64_t addr, const cmwq_kernel_event& e);
  void announce_pool(const cmwq_kernel_event& e);
  Worker& worker(const cmwq_kernel_event& e);
  void work_event(const cmwq_kernel_event& e);
  void sched_event(const cmwq_kernel_event& e);
  /// WORK_CANCEL for `work` if we think it queued; `nr_active` of its pwq after it gave back its slot.
  void cancel(std::uint64_t work, const cmwq_kernel_event& at, std::int32_t nr_active);
  /// The pool's worklist was empty under its lock: its active items we know of are not on it.
  void mark_missing(const cmwq_kernel_event& e);
  void check_missing(const cmwq_kernel_event& e);
  void forget(std::unordered_map<std::uint64_t, Queued>::iterator);

  /// The function's name: its symbol, or its address through pointers_ ("0x" and 12 hex digits hashed).
  std::string function(std::uint64_t addr) const;

  KernelSymbols symbols_;
  KernelPointers pointers_;  // every address a record holds goes through it
  int possible_cpus_;
  std::int64_t thresh_ns_;
  std::string traced_;  // cmwq::report::Dialect::traced_mark(), "" for the default form
  std::vector<std::byte>* out_ = nullptr;
  std::uint64_t seq_ = 1, count_ = 0;
  std::uint64_t last_ts_ = 0;
  std::unordered_map<std::string, std::uint32_t> names_;
  std::unordered_map<std::uint64_t, Workqueue> wqs_;          // by workqueue_struct
  std::unordered_map<int, cmwq_kernel_pool> pools_;           // as last seen, by id
  std::unordered_map<std::uint64_t, Queued> queued_;          // by work_struct
  std::unordered_map<int, std::unordered_set<std::uint64_t>> active_;  // queued_ items activated, by pool
  std::size_t missing_ = 0;                                   // queued_ entries with missing_since set
  std::unordered_map<std::uint32_t, Worker> workers_;         // by tid
};

}  // namespace wqscope
