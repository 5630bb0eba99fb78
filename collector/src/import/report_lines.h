// One line of a kernel workqueue report, read into its parts: the grammar of each line the kernel
// prints (kernel/workqueue.c: show_pwq, show_one_worker_pool, wq_watchdog_timer_fn, wq_cpu_intensive_report,
// show_cpu_pool_hog/busy_workers) in all its versions. kernel_log.cpp puts the lines together into reports.
#pragma once

#include "import/kernel_log.h"

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace wqscope::kernel_log {

struct DumpStart {};        // "Showing busy workqueues and worker pools:" (or the freezer's)
struct BacktraceStart {};   // "Showing backtraces of running|busy workers in stalled CPU-bound worker pools:"
struct WorkqueueLine {
  std::string name;
  unsigned flags = 0;
};
struct ItemsLine {
  enum Kind { InFlight, Pending, Inactive } kind = Pending;
  bool delayed = false;       // printed "delayed:" (before about 5.14)
  int comma_first = -1;       // in-flight: 1 " ,pid" (6.9 on), 0 ", pid", -1 a single entry
  int rle = -1;               // 1 an "N*func", 0 a run of one function printed in full, -1 neither
  std::vector<cmwq::report::InFlight> workers;  // for_s -1: not printed
  std::vector<cmwq::report::Item> items;
};
struct BacktracePool {      // "pool 6:" alone, in the backtrace section
  int id = -1;
};
struct TaskLine {
  std::string comm;
  char state = '?';
  int pid = 0;
};
struct WorkqueueOfTask {    // "Workqueue: events drain_local_pages_wq"
  std::string wq, func;
};
struct StackLine {          // " drain_pages_zone+0x44/0x70", " <TASK>", "Call Trace:"
  std::string text;
};

using Line = std::variant<std::monostate, Lockup, DumpStart, WorkqueueLine, cmwq::report::Pwq, ItemsLine,
                          cmwq::report::Pool, BacktraceStart, BacktracePool, TaskLine, WorkqueueOfTask, StackLine, Hog>;

/// What `text` is; monostate for a line of something else. `why` is set when the line starts like a
/// report's line but cannot be read (then the result is monostate too).
Line read_line(std::string_view text, std::string& why);

}  // namespace wqscope::kernel_log
