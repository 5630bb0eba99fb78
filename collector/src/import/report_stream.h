// Kernel reports as a stream of the schema's records (cmwq/events.h), so that the model holds, at
// each report's instant, the state its dump describes: workqueues, pools and workers created, items
// queued, activated and started in their lists' order, barriers inserted, idle lists and managers,
// workers that sleep. What a dump prints that no transition says (a pwq's refcnt, a pool's progress
// stamp, the kernel's dialect) comes as CMWQ_EV_REPORTED. Each report replaces the one before: its
// records first take down what the last one set up.
#pragma once

#include "import/kernel_log.h"

#include <cmwq/events.h>

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace wqscope::kernel_log {

class ReportStream {
 public:
  explicit ReportStream(int possible_cpus) : possible_cpus_(possible_cpus) {}

  /// An age the log states ("hung=", "stuck for", " for"), in ns, cut at a century.
  static std::int64_t age_ns(std::int64_t seconds);
  /// How long before its instant a report's records begin: its oldest age (hung, stuck, " for") and a margin.
  static std::int64_t lookback_ns(const Report&);
  /// Where each report goes on the recording's time line (see report_stream.cpp).
  static std::vector<std::int64_t> instants(const Log&);
  /// The CPUs the reports' pool identities name.
  static int possible_cpus(const Log&);

  /// Appends the records of `r` at instant `at` (later than the last report's by lookback_ns(r)).
  void add(const Report& r, std::int64_t at, std::int64_t number);
  /// Closes what is open (workers off the CPU) at `end`; the last records.
  void finish(std::int64_t end);

  /// The records so far, in time order; take them with swap to go on.
  std::vector<std::byte>& records() { return out_; }
  /// The pool of a lockup line: the pwq or pool line with its identity in the same report; -1 if none.
  static int pool_of(const Report&, const Lockup&);

 private:
  struct Timed {  // a record before sorting by time: the order of emission breaks ties
    std::int64_t ts;
    std::size_t order;
    cmwq_ev_state rec;
  };
  struct PoolFields {
    std::int32_t cpu = -1;
    std::uint32_t flags = 0;
    std::int32_t nr_workers = 0, nr_idle = 0, nr_running = 0;
  };
  struct LiveItem {
    std::uint64_t work;
    std::uint32_t func, wq;
    int pool, worker;  // worker: running it
  };
  struct LiveBarrier {
    int pid, pool;
    std::uint32_t wq;
    int worker;  // on this worker's list; 0: on the worklist
  };

  cmwq_ev_state& emit(std::uint16_t kind, std::int64_t ts, int pool, bool in_sequence = true);
  std::uint32_t intern(const std::string& text, std::uint32_t kind, std::int64_t ts);
  std::uint32_t workqueue(const cmwq::report::Workqueue&, std::int64_t ts);
  void take_down(std::int64_t ts);
  void pools(const Report&, std::int64_t ts);
  void workers(const Report&, std::int64_t ts);
  void sleepers(const Report&, std::int64_t at);
  void items(const Report&, std::int64_t ts, std::int64_t at);
  void flush();  // the timed records, sorted, into out_

  int possible_cpus_;
  bool hello_ = false;
  std::uint64_t seq_ = 1, next_work_ = 1;
  std::size_t order_ = 0;
  std::vector<Timed> timed_;
  std::vector<std::byte> out_;
  std::unordered_map<std::string, std::uint32_t> names_;
  std::map<std::string, std::uint32_t> wq_ids_;        // by name
  std::map<std::uint32_t, int> wq_max_;                // the max_active last said of each
  std::map<int, PoolFields> pool_fields_;              // as the current report says
  std::map<int, std::string> pool_identity_;           // as announced
  std::unordered_map<std::uint32_t, std::string> name_text_;  // of NAME records not yet flushed
  // What the current report set up, to take down before the next.
  std::vector<LiveItem> items_;
  std::vector<LiveBarrier> barriers_;
  std::vector<int> workers_, managers_, off_cpu_;
  std::vector<std::pair<std::uint32_t, int>> pwqs_;
  std::int64_t off_since_ = 0;
};

}  // namespace wqscope::kernel_log
