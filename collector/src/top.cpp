#include "top.h"

#include <fmt/format.h>

#include <algorithm>

namespace wqscope {

namespace {

constexpr std::size_t kPidsShown = 4;

/// "pid 6349 x12, pid 6353 x8, +3 more": the most frequent first.
std::string pids(const std::map<int, std::uint64_t>& counts) {
  std::vector<std::pair<std::uint64_t, int>> by_count;
  for (auto& [pid, n] : counts) by_count.emplace_back(n, pid);
  std::sort(by_count.begin(), by_count.end(), [](auto& a, auto& b) { return a.first != b.first ? a.first > b.first : a.second < b.second; });
  std::string out;
  for (std::size_t i = 0; i < by_count.size() && i < kPidsShown; ++i)
    out += fmt::format("{}{} x{}", out.empty() ? "" : ", ", by_count[i].second, by_count[i].first);
  if (by_count.size() > kPidsShown) out += fmt::format(", +{} more", by_count.size() - kPidsShown);
  return out.empty() ? "-" : out;
}

}  // namespace

TopFunctions::Function& TopFunctions::function(const WorkInstance& w) {
  Function& f = functions_[{w.func, w.wq}];
  if (f.func.empty()) f.func = w.func.empty() ? "?" : w.func.str();
  if (f.wq.empty()) f.wq = w.wq.empty() ? "?" : w.wq.str();
  return f;
}

void TopFunctions::on_queue(const WorkInstance& w) {
  Function& f = function(w);
  ++f.queued;
  ++f.queuers[w.queued_by];
}

void TopFunctions::on_work_done(const WorkInstance& w) {
  if (w.canceled || w.started_ns < 0 || w.ended_ns < 0) return;
  Function& f = function(w);
  ++f.runs;
  std::int64_t cpu = std::max<std::int64_t>(0, w.cpu_ns);
  f.cpu_ns += cpu;
  f.max_cpu_ns = std::max(f.max_cpu_ns, cpu);
  ++f.kworkers[w.worker];
}

std::vector<std::string> TopFunctions::tables(std::int64_t span_ns, int rows) const {
  std::vector<const Function*> all;
  for (auto& [key, f] : functions_) all.push_back(&f);
  double seconds = std::max<double>(1e-9, static_cast<double>(span_ns) / 1e9);
  std::vector<std::string> out;
  auto table = [&](const char* title, const std::string& header, auto key, auto row) {
    std::vector<const Function*> sorted = all;
    std::stable_sort(sorted.begin(), sorted.end(), [&](auto* a, auto* b) { return key(*a) > key(*b); });
    out.push_back(title);
    out.push_back(header);
    int n = 0;
    for (const Function* f : sorted) {
      if (n++ == rows || key(*f) <= 0) break;
      out.push_back(row(*f));
    }
    out.push_back("");
  };
  table(fmt::format("Functions by queue rate (workqueue_queue_work), over {:.3f}s:", seconds).c_str(),
        fmt::format("{:>10} {:>9}  {:<32} {:<20} {}", "queued/s", "queued", "function", "workqueue", "queued by (pid xN)"),
        [](const Function& f) { return static_cast<double>(f.queued); },
        [&](const Function& f) {
          return fmt::format("{:>10.1f} {:>9}  {:<32} {:<20} {}", static_cast<double>(f.queued) / seconds, f.queued,
                             f.func, f.wq, pids(f.queuers));
        });
  table("Functions by run count (workqueue_execute_start to _end):",
        fmt::format("{:>10} {:>9}  {:<32} {:<20} {}", "runs/s", "runs", "function", "workqueue", "kworkers (pid xN)"),
        [](const Function& f) { return static_cast<double>(f.runs); },
        [&](const Function& f) {
          return fmt::format("{:>10.1f} {:>9}  {:<32} {:<20} {}", static_cast<double>(f.runs) / seconds, f.runs, f.func,
                             f.wq, pids(f.kworkers));
        });
  table("Functions by CPU time:",
        fmt::format("{:>10} {:>9} {:>9}  {:<32} {:<20} {}", "CPU ms", "mean us", "max us", "function", "workqueue",
                    "kworkers (pid xN)"),
        [](const Function& f) { return static_cast<double>(f.cpu_ns); },
        [&](const Function& f) {
          return fmt::format("{:>10.3f} {:>9.1f} {:>9.1f}  {:<32} {:<20} {}", static_cast<double>(f.cpu_ns) / 1e6,
                             static_cast<double>(f.cpu_ns) / 1e3 / static_cast<double>(std::max<std::uint64_t>(1, f.runs)),
                             static_cast<double>(f.max_cpu_ns) / 1e3, f.func, f.wq, pids(f.kworkers));
        });
  out.pop_back();
  return out;
}

}  // namespace wqscope
