// probe_bench [REPS [ITEMS]]: empty items through a bound workqueue, as fast as one
// producer can queue them; prints the median throughput of REPS runs and the process's CPU time
// per item over them (every thread's: the pool's and, attached, the probe's in the kernel). Built
// twice — with the cmwq:batch probe compiled in and compiled out — so that
// probe_cost.sh can compare: compiled out, unattached, attached and recording.
#include <cmwq/cmwq.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <sys/resource.h>
#include <vector>

int main(int argc, char** argv) {
  int reps = argc > 1 ? std::atoi(argv[1]) : 7;
  const int kItems = argc > 2 ? std::atoi(argv[2]) : 200'000;
  cmwq::Options o;
  o.log = [](std::string_view) {};
  cmwq::System sys(o);
  cmwq::Workqueue* wq = sys.alloc_workqueue("probe_bench", 0, 0);
  std::vector<std::unique_ptr<cmwq::Work>> works;
  for (int i = 0; i < kItems; ++i) works.push_back(std::make_unique<cmwq::Work>("empty_fn", [](cmwq::Work&) {}));
  std::vector<double> rates;
  int cpus = sys.possible_cpus();
  auto cpu_ns = [] {
    rusage u{};
    getrusage(RUSAGE_SELF, &u);
    auto ns = [](const timeval& t) { return t.tv_sec * 1e9 + t.tv_usec * 1e3; };
    return ns(u.ru_utime) + ns(u.ru_stime);
  };
  const double cpu0 = cpu_ns();
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < kItems; ++i) sys.queue_work_on(i % cpus, wq, *works[i]);
    sys.flush_workqueue(wq);
    std::chrono::duration<double> dt = std::chrono::steady_clock::now() - t0;
    rates.push_back(kItems / dt.count());
  }
  std::sort(rates.begin(), rates.end());
  const double cpu_per_item = (cpu_ns() - cpu0) / (static_cast<double>(kItems) * reps);
  std::printf("items_per_sec %.0f min %.0f max %.0f items %d cpu_ns_per_item %.0f\n", rates[rates.size() / 2],
              rates.front(), rates.back(), kItems * reps, cpu_per_item);
}
