// A kernel trace's workqueue and scheduler events as plain structs: what trace_text.cpp reads from
// ftrace, trace-cmd report and perf script text, and trace_dat.cpp from a trace.dat through
// libtracecmd. trace_stream.cpp turns them into kernel mode's events.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace wqscope::trace {

/// Every reader keeps times below this (146 years of ns): later is damage, and sums of times stay in range.
constexpr std::int64_t kMaxTs = std::int64_t{1} << 62;

/// Strings of a trace (functions, workqueues, comms) by id, from 1; 0: none.
class Names {
 public:
  std::uint32_t id(std::string_view text);
  const std::string& text(std::uint32_t id) const { return texts_.at(id - 1); }
  std::size_t size() const { return texts_.size(); }

 private:
  std::vector<std::string> texts_;
  std::unordered_map<std::string, std::uint32_t> ids_;
};

struct Event {
  enum Kind : std::uint8_t { Queue, Activate, Start, End, Switch };
  Kind kind = Queue;
  bool softirq = false;     // the line's flags say softirq context (a BH workqueue's item runs there)
  std::int32_t cpu = -1;    // the CPU that traced it
  std::uint32_t pid = 0;    // the task that traced it (Switch: prev_pid)
  std::uint32_t comm = 0;   // its comm's name id (Switch: prev_comm)
  std::int64_t ts = 0;      // ns, the trace's clock
  std::uint64_t work = 0;   // work_struct
  std::uint32_t func = 0;   // the work function's name id (0: not printed)
  std::uint32_t wq = 0;     // Queue: the workqueue's name id, its name or its address as printed
  std::int32_t req_cpu = -1, pool_cpu = -1;  // Queue: as printed (NR_CPUS or -1: unbound)
  // Switch:
  std::uint32_t prev_state = 0;  // the state prev waits in (TASK_INTERRUPTIBLE 1, ...); 0: it does not wait
  std::uint32_t next_pid = 0, next_comm = 0;
};

struct Problem {
  std::size_t line = 0;  // 0: not a line of text
  std::string text, why;
};

/// A whole trace, as read.
struct Input {
  std::string format;                   // "ftrace", "trace-cmd report", "perf script", "trace.dat"
  Names names;
  std::vector<Event> events;            // in the trace's order
  int cpus = 0;                         // as its header says (0: not said)
  std::map<std::string, std::uint64_t> skipped;  // other events, by name
  std::uint64_t lost = 0;               // events the tracer said it lost
  std::uint64_t malformed = 0;          // lines (records) that could not be read
  std::vector<Problem> problems;        // the first of them
  std::size_t lines = 0;

  static constexpr std::size_t kProblemsKept = 20;
  void problem(std::size_t line, std::string_view text, std::string why);
};

}  // namespace wqscope::trace
