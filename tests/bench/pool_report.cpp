#include "pool_report.h"

#include <fmt/format.h>
#include <fmt/ostream.h>

#include <algorithm>

namespace bench {

namespace {

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v.size() % 2 ? v[v.size() / 2] : (v[v.size() / 2 - 1] + v[v.size() / 2]) / 2;
}

std::string rate(double r) { return r >= 1e6 ? fmt::format("{:.2f} M", r / 1e6) : fmt::format("{:.0f} k", r / 1e3); }

std::string us(double v) { return v >= 100 ? fmt::format("{:.0f}", v) : fmt::format("{:.1f}", v); }

}  // namespace

void TableReporter::ReportRuns(const std::vector<Run>& runs) {
  ConsoleReporter::ReportRuns(runs);
  for (auto& r : runs) {
    if (r.error_occurred || r.run_type != Run::RT_Iteration) continue;
    auto c = [&](const char* k) {
      auto it = r.counters.find(k);
      return it == r.counters.end() ? 0.0 : static_cast<double>(it->second);
    };
    reps_[r.run_name.function_name][round_] =
        Rep{c("items_per_second"), c("p50_us"), c("p99_us"), c("threads")};
  }
}

const Case& TableReporter::find(const std::string& name) const {
  return *std::find_if(cases_.begin(), cases_.end(), [&](const Case& c) { return c.name == name; });
}

void TableReporter::print(std::ostream& os) const {
  // Workloads and pools in the order they were registered.
  std::vector<std::string> workloads;
  std::map<std::string, std::vector<std::string>> pools;  // workload -> pool labels
  std::map<std::pair<std::string, std::string>, std::vector<std::string>> sweeps;  // (workload, pool) -> names
  for (auto& c : cases_) {
    const std::string& name = c.name;
    if (!reps_.count(name)) continue;
    if (std::find(workloads.begin(), workloads.end(), c.workload) == workloads.end()) workloads.push_back(c.workload);
    auto& p = pools[c.workload];
    if (std::find(p.begin(), p.end(), c.pool) == p.end()) p.push_back(c.pool);
    sweeps[{c.workload, c.pool}].push_back(name);
  }
  auto med = [&](const std::string& name, double Rep::*f) {
    std::vector<double> v;
    for (auto& [i, rep] : reps_.at(name)) v.push_back(rep.*f);
    return median(v);
  };
  fmt::print(os, "| workload | pool | best of threads | items/s | x the fastest other pool in the round: median (min-max) | "
                 "queue-to-start p50 / p99 us | threads used |\n|---|---|---|---|---|---|---|\n");
  for (auto& wl : workloads) {
    // The bar, per round: the fastest of the other pools at any thread count in that round.
    std::map<long, double> bar;
    for (auto& pool : pools[wl])
      for (auto& n : sweeps[{wl, pool}])
        if (!find(n).ours)
          for (auto& [r, rep] : reps_.at(n)) bar[r] = std::max(bar[r], rep.rate);
    for (auto& pool : pools[wl]) {
      auto& names = sweeps[{wl, pool}];
      const std::string& name = *std::max_element(names.begin(), names.end(), [&](auto& a, auto& b) {
        return med(a, &Rep::rate) < med(b, &Rep::rate);
      });
      const Case& c = find(name);
      std::vector<double> ratios;
      for (auto& [r, rep] : reps_.at(name))
        if (bar[r] > 0) ratios.push_back(rep.rate / bar[r]);
      std::sort(ratios.begin(), ratios.end());
      std::string sweep;
      for (auto& n : names)
        if (find(n).threads) sweep += fmt::format("{}{}", sweep.empty() ? "" : ", ", find(n).threads);
      std::string ratio =
          ratios.empty() ? "" : fmt::format("{:.2f} ({:.2f}-{:.2f})", median(ratios), ratios.front(), ratios.back());
      fmt::print(os, "| {} | {} | {} | {} | {} | {} / {} | {} |\n", c.what, c.pool,
                 sweep.empty() ? "managed" : fmt::format("{} of {}", c.threads, sweep), rate(med(name, &Rep::rate)),
                 ratio, us(med(name, &Rep::p50_us)), us(med(name, &Rep::p99_us)),
                 fmt::format("{:.0f}", med(name, &Rep::threads)));
    }
  }
}

}  // namespace bench
