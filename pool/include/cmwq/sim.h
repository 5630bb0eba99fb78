// The deterministic virtual-time simulator: drives the pure core with
// scripted work items on virtual CPUs and records what happened. Scenario
// files are documented in pool/scenarios/README.md.
#pragma once

#include <cmwq/core.h>

#include <iosfwd>
#include <map>
#include <string>
#include <vector>

namespace cmwq::sim {

struct Op {
  enum Kind { Burn, Sleep, Block, Queue, Flush, FlushWq, Cancel, CancelSync, Wait, Signal } kind;
  Time duration = 0;
  std::string target;  // item, workqueue or completion name
  int cpu = WORK_CPU_UNBOUND;
};

struct WorkqueueDef {
  std::string name;
  unsigned flags = 0;
  int max_active = 0;
  bool ordered = false;
  AffinityScope affinity = AffinityScope::Default;  // unbound, kernel 6.5+
  bool strict = false;                              // affinity_strict
};

struct ItemDef {
  std::string name;  // w0, or log17 for the 18th of `work log count=1000 ...`
  std::string group; // the name before expansion (log)
  std::string wq;
  std::string func;  // the function dumps print
  std::vector<Op> ops;
};

struct Action {
  enum Kind { Queue, Offline, Online, FailCreate, Freeze, Thaw, Flush, FlushWq, Cancel, Touch, Dump, SetMaxActive } kind;
  Time at = 0;
  std::vector<std::string> targets;
  int cpu = WORK_CPU_UNBOUND;  // queue on / offline / online / touch
  int from = 0;                // the CPU of the task that queues or flushes
  Time duration = 0;
  int value = 0;
  int line = 0;
};

struct Scenario {
  std::string title;
  Config config;
  enum class Output { Timeline, Log } output = Output::Log;
  Time until = 0;  // 0: run until nothing is left to do
  // run() throws Error past this many steps at one virtual instant: items that queue each other at
  // no cost would run forever. Far more than any story needs (a thousand items queued at once take
  // a few thousand).
  std::uint64_t max_steps_per_instant = 1'000'000;
  std::vector<WorkqueueDef> workqueues;
  std::vector<ItemDef> items;
  std::vector<Action> actions;  // sorted by time, file order within a time
};

/// Parses a scenario; throws cmwq::Error("FILE:LINE: what is wrong") on bad input.
Scenario parse_scenario(std::istream&, const std::string& filename);
Scenario load_scenario(const std::string& path);
/// "5ms", "1.5s", "200us", "0" -> ns; throws Error naming the bad text.
Time parse_duration(const std::string&);
/// "seeds", "6.5", "6.9", "7.0" -> the kernel era; throws Error naming the bad text.
Kernel parse_kernel(const std::string&);

struct WqSummary {
  std::string name;
  PwqStats stats;
  std::uint64_t finished = 0;  // items of this wq that ran to completion
  Time last_finish = -1;       // when the last of them finished
};

struct Result {
  std::vector<std::string> timeline;  // "TIME IN MSECS  EVENT" rows
  std::vector<std::string> log;       // kernel messages and scenario notes, dmesg-style
  std::map<std::string, Time> finished;  // item -> when it finished
  std::vector<WqSummary> workqueues;
  std::vector<std::string> wq_monitor;  // the wq_monitor table at the end
  std::uint64_t lockups = 0;
  std::uint64_t lockups_dropped = 0;  // 7.0: stalls the watchdog's re-check dropped
  bool panicked = false;              // panic_on_stall / panic_on_stall_time: the run stopped there
  Time end = 0;
  std::vector<std::byte> events;  // cmwq/events.h records, when asked for
};

/// Runs the scenario; with `record_events` the Result carries every event as records,
/// the same the runtime's cmwq:batch probe delivers (pid 1, tid = worker pid).
Result run(const Scenario&, bool record_events = false);

/// The documentation's table: header plus one "TIME  EVENT" row per line.
std::string format_timeline(const Result&);

}  // namespace cmwq::sim
