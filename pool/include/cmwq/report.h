// The kernel's reports formatted from plain descriptions of a state: the busy
// dump (show_all_workqueues) and wq_monitor's table. The pool describes its own
// state; the collector describes the state it rebuilt from events. One printer.
#pragma once

#include <cmwq/constants.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace cmwq::report {

/// An item on a list as dumps print it: its function, or BAR(pid) for a flush barrier.
struct Item {
  std::string func;
  int barrier_pid = 0;  // > 0: a barrier inserted by this task's flush
  bool linked = false;  // the next item is chained to this one (printed without a comma)
};

struct InFlight {
  int pid = 0;
  bool rescuer = false;
  std::string func;
  std::vector<Item> scheduled;  // already assigned to this worker (barriers, collided items)
  std::int64_t for_s = 0;       // seconds since it started (printed by 7.0's dialect)
};

struct Pwq {
  int pool = -1;
  std::string identity;  // " cpus=0 node=0 flags=0x0 nice=0"
  int nr_active = 0, max_active = 0, refcnt = 1;
  bool mayday = false;
  std::vector<InFlight> in_flight;
  std::vector<Item> pending, inactive;
  int printed = 0;  // an imported report's N-th pwq line of its workqueue
};

struct Workqueue {
  std::string name;
  unsigned flags = 0;
  std::vector<Pwq> pwqs;
};

struct Pool {
  int id = -1;
  std::string identity;
  std::int64_t hung_s = 0;  // since its progress stamp, if its worklist is not empty
  int nr_workers = 0, nr_idle = 0;
  int manager = 0;          // pid of the worker holding the manager role, 0 if none
  std::vector<int> idle;    // pids, in the idle list's order
  int printed = 0;          // an imported report's N-th pool line: listed there, whatever its workers
};

/// How a kernel printed its dump: the format changed over the versions (shared/reference/kernel-formats.md).
/// The default is the format libcmwq prints; a report imported from a kernel log is printed back in its own.
struct Dialect {
  bool max_active = true;    // "active=N/M" (before 6.9), not "active=N"
  bool refcnt = true;        // " refcnt=N" (about 5.x on)
  bool delayed = false;      // "delayed:" (before about 5.14), not "inactive:"
  bool comma_first = false;  // in-flight entries joined " ,pid" (6.9 on), not ", pid"
  bool for_s = false;        // " for Ns" after each in-flight item (7.0)
  bool hung_idle = false;    // hung= counts also while the worklist is empty (before 6.5)
  bool rle = true;           // runs of one function collapse to "N*func" (about 5.19 on)
  /// Space-separated names of the fields that differ from the default, e.g. "no-max-active for".
  std::string text() const;
  /// The name a traced stream's REPORTED mark carries after its HELLO: "traced " + text(), "" for
  /// the default form (no mark). "traced", not a report's "kernel": the state is the tracer's own.
  std::string traced_mark() const;
  static Dialect parse(std::string_view);
};

/// Which kernel's busy dump the printer follows where the format changed.

struct Busy {
  std::vector<Workqueue> workqueues;
  std::vector<Pool> pools;
  Dialect dialect;
};

/// "Showing busy workqueues and worker pools:" and what follows; lists only what the kernel lists
/// (pwqs with active or inactive items, pools with a busy worker).
std::vector<std::string> show_busy(const Busy&);

/// wq_monitor's counters of one workqueue, summed over its pwqs.
struct Monitor {
  std::string name;
  unsigned flags = 0;
  std::uint64_t started = 0, completed = 0, cpu_time_ns = 0, cpu_intensive = 0, cm_wakeup = 0, repatriated = 0,
                mayday = 0, rescued = 0;
  bool cm_known = true;  // a recording's events do not say which wakeups concurrency management made
  bool internals_known = true;  // CPU-intensive marks, maydays, rescues: the kernel's tracepoints do not say them
};

/// wq_monitor.py's table: total, infl, CPUtime, CPUitsv, CMW/RPR, mayday, rescued ("?": not known).
std::vector<std::string> wq_monitor_table(const std::vector<Monitor>&);

}  // namespace cmwq::report

namespace cmwq {

/// The kernel's %*pbl: "0", "0-3,8".
std::string cpulist(const std::vector<int>& cpus);
/// pr_cont_pool_info(): " cpus=0 node=0 flags=0x4 nice=0" (no node for NUMA_NO_NODE); a BH pool
/// (POOL_BH) ends " bh" or " bh-hi" instead of " nice=N".
std::string pool_identity(const std::vector<int>& cpus, int node, unsigned flags, int nice);
/// "BUG: workqueue lockup - pool cpus=0 node=0 flags=0x4 nice=0 stuck for 59s!"
std::string lockup_line(const std::string& identity, Time stuck);
/// wq_cpu_intensive_report(): the `count`th CPU-intensive mark of a function is reported from the
/// `thresh`th on (cpu_intensive_warning_thresh, 4), backing off exponentially: 4, 5, 7, 11, 19, ...
bool hog_report_due(std::uint64_t count, std::uint64_t thresh = WQ_CPU_INTENSIVE_WARNING_THRESH);
/// "workqueue: FUNC hogged CPU for >10000us 4 times, consider switching to WQ_UNBOUND"
std::string hog_line(const std::string& func, Time thresh, std::uint64_t count);

}  // namespace cmwq
