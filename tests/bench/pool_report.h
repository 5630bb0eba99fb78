// Turns the pool benchmark's runs into bench.md's pool table (docs/performance.md): per
// workload, each pool at its best thread count (highest median throughput over the sweep); its
// throughput as a ratio to the fastest of the other pools (thread_pool, asio, TBB at any thread
// count) in the same round, median and min-max over rounds; queue-to-start latency p50/p99 and
// the threads it used.
#pragma once

#include <benchmark/benchmark.h>

#include <map>
#include <ostream>
#include <string>
#include <vector>

namespace bench {

/// What a registered benchmark is: its name is "workload/pool/threads".
struct Case {
  std::string name, workload, what, pool;
  int threads = 0;  // the swept count; 0: the pool manages its own (libcmwq)
  bool ours = false;
};

class TableReporter : public benchmark::ConsoleReporter {
 public:
  explicit TableReporter(std::vector<Case> cases) : cases_(std::move(cases)) {}
  /// Runs reported from now on belong to round `r` (one pass over every benchmark).
  void set_round(long r) { round_ = r; }
  void ReportRuns(const std::vector<Run>& runs) override;
  /// The markdown table of everything reported so far.
  void print(std::ostream&) const;

 private:
  struct Rep {
    double rate, p50_us, p99_us, threads;
  };
  const Case& find(const std::string& name) const;
  std::vector<Case> cases_;  // in the order registered
  long round_ = 0;
  std::map<std::string, std::map<long, Rep>> reps_;  // case name -> round -> figures
};

}  // namespace bench
