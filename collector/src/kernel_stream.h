// Kernel mode's translation: the kernel's workqueue events (bpf/kernel.bpf.c) as a stream of the
// schema's records (cmwq/events.h), so that the model, recordings, show, stats, replay, export and
// the GUI read the kernel as they read libcmwq. What the tracepoints do not say is derived here:
// workqueues, pools and workers are announced when first seen; a worker is busy from its first item,
// idle when it goes to sleep with WORKER_IDLE set, sleeping when it waits inside an item; an item
// queued again while we think it queued was taken back off its list unseen (cancelled).
#pragma once

#include "kallsyms.h"
#include "kernel_bpf.h"

#include <cstddef>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace wqscope {

class KernelStream {
 public:
  KernelStream(KernelSymbols symbols, int possible_cpus, std::int64_t watchdog_thresh_ns)
      : symbols_(std::move(symbols)), possible_cpus_(possible_cpus), thresh_ns_(watchdog_thresh_ns) {}

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
  template <class T>
  T& append(std::uint16_t kind, const cmwq_kernel_event& e, std::int32_t cpu, bool in_sequence = true);
  cmwq_ev_state& state(std::uint16_t kind, const cmwq_kernel_event& e, std::uint32_t func = 0);
  std::uint32_t intern(const std::string& text, std::uint32_t kind, const cmwq_kernel_event& e);
  std::uint32_t workqueue(std::uint64_t addr, const cmwq_kernel_event& e);
  void announce_pool(const cmwq_kernel_event& e);
  Worker& worker(const cmwq_kernel_event& e);
  void work_event(const cmwq_kernel_event& e);
  void sched_event(const cmwq_kernel_event& e);

  KernelSymbols symbols_;
  int possible_cpus_;
  std::int64_t thresh_ns_;
  std::vector<std::byte>* out_ = nullptr;
  std::uint64_t seq_ = 1, count_ = 0;
  std::uint64_t last_ts_ = 0;
  std::unordered_map<std::string, std::uint32_t> names_;
  struct Workqueue {
    std::uint32_t id = 0;
    bool announced = false;  // WQ_CREATE sent: its name was read (a rescuer's may be known before)
    std::int32_t max_active = 0;
  };
  std::unordered_map<std::uint64_t, Workqueue> wqs_;          // by workqueue_struct
  struct Queued {  // an item between WORK_QUEUE and WORK_START
    std::uint32_t wq = 0;
    int pool = -1, cpu = -1;
    bool active = false;
  };
  void cancel(const cmwq_kernel_event& e, std::uint32_t func);
  std::unordered_map<std::uint64_t, Queued> queued_;
  std::unordered_set<int> pools_;
  std::unordered_map<std::uint32_t, Worker> workers_;         // by tid
};

}  // namespace wqscope
