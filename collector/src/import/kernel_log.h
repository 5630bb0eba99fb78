// The workqueue reports of a kernel log as plain structs (the dump as cmwq/report.h describes it): the watchdog's lockup lines, the busy dump
// (show_all_workqueues: workqueues, pwqs, in-flight/pending/inactive items, pools), the CPU-hog
// warnings and the "Showing backtraces" section, in the format of any kernel since 4.5
// (shared/reference/kernel-formats.md). Lines it cannot read are said with their number and skipped.
#pragma once

#include <cmwq/report.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace wqscope::kernel_log {

/// A pool as pr_cont_pool_info() prints it: " cpus=0-3 node=0 flags=0x4 nice=0" or "... flags=0x1 bh".
struct PoolIdentity {
  std::string text;  // as printed, with its leading space
  int cpu = -1;      // a single CPU with a node: a per-CPU pool (-1: unbound)
  unsigned flags = 0;
  int nice = 0;
  bool bh = false;
};

/// Reads " cpus=... flags=0x... nice=N" (all of `text`); false if it is not a pool identity.
bool parse_identity(std::string_view text, PoolIdentity& out);

struct Lockup {
  std::string pool;  // its identity, as printed
  std::int64_t stuck_s = 0;
  std::string line;
};

struct Hog {
  std::string func;
  std::int64_t thresh_us = 0, count = 0;
  std::string line;
};

/// A task of the "Showing backtraces" section.
struct Task {
  int pool = -1, pid = 0;
  std::string comm;
  char state = '?';            // R, D, S, ...
  std::string wq, func;        // its "Workqueue: wq func" line
  std::vector<std::string> stack;
};

struct Report {
  std::size_t first_line = 0, last_line = 0;
  std::int64_t ts_ns = -1;  // of its dump (or first lockup line); -1: the log had no times
  std::vector<Lockup> lockups;
  bool has_dump = false;
  // The dump as the printer takes it: what `show` prints back. A pwq's refcnt -1 and max_active 0, and
  // an in-flight for_s -1, were not printed; a pool's `printed` is its place among the pool lines.
  cmwq::report::Busy dump;
  std::vector<Hog> hogs;    // the warnings since the report before
  std::vector<Task> tasks;
};

struct Problem {
  std::size_t line = 0;
  std::string text, why;
};

struct Log {
  std::vector<Report> reports;
  std::vector<Problem> problems;  // lines that look like a report's but could not be read
  std::size_t lines = 0;
};

/// Reads every report of `log`; never throws on its content.
Log parse(std::string_view log);

/// Whether `line` (without prefix) is a line of a report this parser reads in full.
bool readable(std::string_view line);

}  // namespace wqscope::kernel_log
