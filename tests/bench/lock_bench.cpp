// lock_bench [--rounds=N] [--items=N] [--table=FILE] [--tsv]: the core's locks under two producers that queue
// empty items to bound workqueues on two different CPUs (producer i pinned to CPU i, queueing to
// virtual CPU i's pool, whose worker runs them), against one producer alone. With the kernel's
// locking — a lock per pool — the two never serialise; with one lock around the core they do. The
// locks' counters (Options::lock_stats) say by how much: per item, the time callers waited for a
// lock and held one where it serialises (the outer lock exclusively, a pool's lock), and the
// share of the wall clock it was held; apart, the outer lock's exclusive acquisitions and holds
// (what still serialises every CPU) and the pools' locks.
//
// Every figure is taken within one round, then median (min-max) over the rounds. The ratios:
//   2p/1p       two producers' items/s over one producer's (2.00 if nothing serialised them)
//   stats cost  items/s without the counters over items/s with them (what counting costs)
// and a projection: the outer lock held exclusively can be held for at most the whole wall clock,
// so it caps the system at 1 s / (its hold per item) items/s whatever the CPU count; at 64 CPUs
// each queueing at one producer's rate, the cap allows that fraction of the demand.
//
// Then the pool benchmark's five workloads (workloads.h) on libcmwq, bound and unbound: items/s
// (counters off) and the locks' wait and hold per item (counters on). `--tsv` prints every figure's median as "name<TAB>value",
// for lock_compare.sh, which runs two builds of this program alternately (before and after a
// change to the locks) and tabulates them side by side.
#include "pools.h"
#include "spread.h"
#include "workloads.h"

#include <cmwq/cmwq.h>

#include <fmt/format.h>

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

namespace {

struct Run {
  double items_per_s = 0;
  double wait_ns_per_item = 0, hold_ns_per_item = 0;
  double held_share = 0;     // lock held / wall time
  double acq_per_item = 0;
  // The outer lock held exclusively (what still serialises every CPU) and the pools' locks.
  double excl_acq_per_item = 0, excl_hold_ns_per_item = 0;
  double pool_wait_ns_per_item = 0, pool_hold_ns_per_item = 0;
  template <class Stats>  // cmwq::LockStats, of whichever version
  void count(const Stats& s, double n, double secs) {
    items_per_s = n / secs;
    wait_ns_per_item = static_cast<double>(s.wait_ns) / n;
    hold_ns_per_item = static_cast<double>(s.hold_ns) / n;
    held_share = static_cast<double>(s.hold_ns) / (secs * 1e9);
    acq_per_item = static_cast<double>(s.acquisitions) / n;
    excl_acq_per_item = acq_per_item;  // one lock, always taken exclusively
    excl_hold_ns_per_item = hold_ns_per_item;
    // Built against libcmwq before the lock split too (lock_compare.sh): its LockStats had no parts.
    if constexpr (requires { s.pool_hold_ns; }) {
      excl_acq_per_item = static_cast<double>(s.exclusive_acquisitions) / n;
      excl_hold_ns_per_item = static_cast<double>(s.hold_ns - s.pool_hold_ns) / n;
      pool_wait_ns_per_item = static_cast<double>(s.pool_wait_ns) / n;
      pool_hold_ns_per_item = static_cast<double>(s.pool_hold_ns) / n;
    }
  }
};

void pin(int cpu) {
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(cpu % static_cast<int>(std::max(1u, std::thread::hardware_concurrency())), &set);
  pthread_setaffinity_np(pthread_self(), sizeof set, &set);
}

/// `producers` threads, producer i pinned to CPU i, each queueing `items` empty items to virtual
/// CPU i's pool through a ring of 1024 works (an item still pending is retried).
Run run(int producers, int items, bool stats) {
  cmwq::Options o;
  o.cpus = 2;
  o.log = [](std::string_view) {};
  o.lock_stats = stats;
  cmwq::System sys(o);
  cmwq::Workqueue* wq = sys.alloc_workqueue("lock_bench", 0, 0);
  constexpr int kRing = 1024;
  std::vector<std::vector<std::unique_ptr<cmwq::Work>>> rings(static_cast<std::size_t>(producers));
  for (auto& ring : rings)
    for (int i = 0; i < kRing; ++i) ring.push_back(std::make_unique<cmwq::Work>("empty_fn", [](cmwq::Work&) {}));
  sys.reset_lock_stats();
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> threads;
  for (int p = 0; p < producers; ++p)
    threads.emplace_back([&, p] {
      pin(p);
      ++ready;
      while (!go.load()) std::this_thread::yield();
      auto& ring = rings[static_cast<std::size_t>(p)];
      for (int i = 0; i < items;) {
        if (sys.queue_work_on(p, wq, *ring[static_cast<std::size_t>(i % kRing)])) ++i;
        else std::this_thread::yield();  // the ring caught up with the worker
      }
    });
  while (ready.load() < producers) std::this_thread::yield();
  t0 = std::chrono::steady_clock::now();
  go = true;
  for (auto& t : threads) t.join();
  sys.flush_workqueue(wq);
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  cmwq::LockStats s = sys.lock_stats();
  Run r;
  r.count(s, static_cast<double>(items) * producers, secs);
  sys.destroy_workqueue(wq);
  return r;
}

/// One pass of a pool benchmark workload on libcmwq, with the lock counters on or off.
Run run_workload(const bench::Workload& w, unsigned flags, bool stats) {
  bench::Item item = [&w](int i) { w.body(i, true); };
  bench::Cmwq pool(flags, w.items, item, stats);
  pool.system().reset_lock_stats();
  auto t0 = std::chrono::steady_clock::now();
  for (int r = 0; r < w.rounds; ++r) {
    for (int i = 0; i < w.items; ++i) pool.submit(i);
    pool.wait();
  }
  double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  cmwq::LockStats s = pool.system().lock_stats();
  Run r;
  r.count(s, static_cast<double>(w.items) * w.rounds, secs);
  return r;
}

/// Named series of per-round figures, in the order they are printed.
struct Series {
  std::vector<std::pair<std::string, std::vector<double>>> all;
  std::vector<double>& operator[](const std::string& name) {
    for (auto& [n, v] : all)
      if (n == name) return v;
    return all.emplace_back(name, std::vector<double>{}).second;
  }
};

}  // namespace

int main(int argc, char** argv) {
  int rounds = 5, items = 200'000;
  std::string table;
  bool tsv = false;
  for (int i = 1; i < argc; ++i) {
    if (!std::strncmp(argv[i], "--rounds=", 9)) rounds = std::atoi(argv[i] + 9);
    else if (!std::strncmp(argv[i], "--items=", 8)) items = std::atoi(argv[i] + 8);
    else if (!std::strncmp(argv[i], "--table=", 8)) table = argv[i] + 8;
    else if (!std::strcmp(argv[i], "--tsv")) tsv = true;
    else {
      fmt::print(stderr, "usage: lock_bench [--rounds=N] [--items=N per producer] [--table=FILE] [--tsv]\n");
      return 2;
    }
  }
  bench::calibrate();
  Series wl;
  std::vector<double> two_plain_rate;
  std::vector<double> one_rate, two_rate, ratio, cost, wait1, wait2, hold1, hold2, share1, share2, acq2, cap64;
  for (int r = 0; r < rounds; ++r) {
    Run one = run(1, items, true);
    Run two = run(2, items, true);
    Run two_plain = run(2, items, false);
    one_rate.push_back(one.items_per_s);
    two_rate.push_back(two.items_per_s);
    ratio.push_back(two.items_per_s / one.items_per_s);
    cost.push_back(two_plain.items_per_s / two.items_per_s);
    two_plain_rate.push_back(two_plain.items_per_s);
    wait1.push_back(one.wait_ns_per_item);
    wait2.push_back(two.wait_ns_per_item);
    hold1.push_back(one.hold_ns_per_item);
    hold2.push_back(two.hold_ns_per_item);
    share1.push_back(one.held_share);
    share2.push_back(two.held_share);
    acq2.push_back(two.acq_per_item);
    // The lock caps the system at 1e9 / hold items/s; 64 CPUs would ask for 64 x one producer's rate.
    // What still serialises every CPU is the outer lock held exclusively (before the split: all).
    cap64.push_back(std::min(1.0, (1e9 / two.excl_hold_ns_per_item) / (64 * one.items_per_s)));
    wl["2p/exclusive_acquisitions"].push_back(two.excl_acq_per_item);
    wl["2p/exclusive_hold_ns"].push_back(two.excl_hold_ns_per_item);
    wl["2p/pool_wait_ns"].push_back(two.pool_wait_ns_per_item);
    wl["2p/pool_hold_ns"].push_back(two.pool_hold_ns_per_item);
    wl["2p/cap64"].push_back(cap64.back());
    for (const bench::Workload& w : bench::kWorkloads)
      for (unsigned flags : {0u, unsigned{cmwq::WQ_UNBOUND}}) {
        Run x = run_workload(w, flags, true);
        // The counters cost three clock reads per acquisition, and the split takes more locks:
        // throughput is compared without them.
        Run plain = run_workload(w, flags, false);
        std::string key = fmt::format("{}/{}", w.name, flags ? "unbound" : "bound");
        wl[key + "/items_per_s"].push_back(plain.items_per_s);
        wl[key + "/wait_ns"].push_back(x.wait_ns_per_item);
        wl[key + "/hold_ns"].push_back(x.hold_ns_per_item);
        wl[key + "/exclusive_acquisitions"].push_back(x.excl_acq_per_item);
      }
  }
  if (tsv) {
    auto row = [](const std::string& name, const std::vector<double>& v) {
      fmt::print("{}\t{:.3f}\n", name, bench::stat(v).median);
    };
    row("1p/items_per_s", one_rate);
    row("2p/items_per_s", two_rate);
    row("1p/wait_ns", wait1);
    row("2p/wait_ns", wait2);
    row("1p/hold_ns", hold1);
    row("2p/hold_ns", hold2);
    row("2p/acquisitions", acq2);
    row("2p/items_per_s_uncounted", two_plain_rate);
    row("2p/held_share", share2);
    for (auto& [name, v] : wl.all) row(name, v);
    return 0;
  }
  std::string out;
  out += fmt::format("#### Core lock: two producers on two CPUs' bound workqueues ({} rounds, {} items per producer)\n\n",
                     rounds, items);
  out += "| | one producer (CPU 0) | two producers (CPUs 0, 1) |\n|---|---|---|\n";
  using bench::fmt_stat;
  using bench::stat;
  out += fmt::format("| items/s | {} | {} |\n", fmt_stat(stat(one_rate), ".0f"), fmt_stat(stat(two_rate), ".0f"));
  out += fmt::format("| lock wait per item (ns) | {} | {} |\n", fmt_stat(stat(wait1), ".0f"),
                     fmt_stat(stat(wait2), ".0f"));
  out += fmt::format("| lock hold per item (ns) | {} | {} |\n", fmt_stat(stat(hold1), ".0f"),
                     fmt_stat(stat(hold2), ".0f"));
  out += fmt::format("| lock held, share of wall time | {} | {} |\n", fmt_stat(stat(share1), ".2f"),
                     fmt_stat(stat(share2), ".2f"));
  out += fmt::format("\n2p/1p throughput {}x; acquisitions per item (2p) {}; counting cost (items/s without / "
                     "with counters, 2p) {}x; at 64 CPUs the one lock would serve {} of the demand.\n",
                     fmt_stat(stat(ratio), ".2f"), fmt_stat(stat(acq2), ".2f"),
                     fmt_stat(stat(cost), ".2f"), fmt_stat(stat(cap64), ".3f"));
  out += fmt::format("Per item (2p): outer lock taken exclusively {} times, held so {} ns; pool locks waited for {} "
                     "ns, held {} ns.\n",
                     fmt_stat(stat(wl["2p/exclusive_acquisitions"]), ".2f"), fmt_stat(stat(wl["2p/exclusive_hold_ns"]), ".0f"),
                     fmt_stat(stat(wl["2p/pool_wait_ns"]), ".0f"), fmt_stat(stat(wl["2p/pool_hold_ns"]), ".0f"));
  out += "\n#### The pool benchmark's workloads on libcmwq, with the lock counters\n\n"
         "| workload | workqueue | items/s | lock wait per item (ns) | lock hold per item (ns) |\n"
         "|---|---|---|---|---|\n";
  for (const bench::Workload& w : bench::kWorkloads)
    for (const char* kind : {"bound", "unbound"}) {
      std::string key = fmt::format("{}/{}", w.name, kind);
      out += fmt::format("| {} | {} | {} | {} | {} |\n", w.name, kind, fmt_stat(stat(wl[key + "/items_per_s"]), ".0f"),
                         fmt_stat(stat(wl[key + "/wait_ns"]), ".0f"), fmt_stat(stat(wl[key + "/hold_ns"]), ".0f"));
    }
  fmt::print("{}", out);
  if (!table.empty()) std::ofstream(table) << out;
}
