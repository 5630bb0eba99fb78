// Pool throughput side by side in one run: libcmwq (bound and unbound
// workqueues) against boost::asio::thread_pool and oneTBB, on empty tasks and
// on a blocking-heavy mix (half the tasks block for 200 us). Each reports
// tasks/s and the threads it used.
#include <cmwq/cmwq.h>

#include <benchmark/benchmark.h>
#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>
#include <tbb/task_group.h>

#include <atomic>
#include <thread>

using namespace std::chrono_literals;

namespace {

constexpr int kEmptyTasks = 100'000;
constexpr int kBlockingTasks = 2'000;

void block_200us(bool cooperative) {
  if (cooperative) cmwq::sleep_for(200us);
  else std::this_thread::sleep_for(200us);
}

int cmwq_threads(cmwq::System& sys) {
  int n = 0;
  sys.inspect([&](const cmwq::Core& core) {
    for (auto& pool : core.pools()) n += pool->nr_workers;
  });
  return n;
}

void run_cmwq(benchmark::State& state, unsigned flags, int tasks, bool blocking) {
  cmwq::Options o;
  o.log = [](std::string_view) {};
  cmwq::System sys(o);
  cmwq::Workqueue* wq = sys.alloc_workqueue("bench", flags, 0);
  std::atomic<int> done{0};
  std::vector<std::unique_ptr<cmwq::Work>> works;
  for (int i = 0; i < tasks; ++i)
    works.push_back(std::make_unique<cmwq::Work>("bench_fn", [&, i](cmwq::Work&) {
      if (blocking && i % 2) block_200us(true);
      done.fetch_add(1, std::memory_order_relaxed);
    }));
  int cpus = sys.possible_cpus();
  int peak = 0;
  for (auto _ : state) {
    done = 0;
    for (int i = 0; i < tasks; ++i) sys.queue_work_on((flags & cmwq::WQ_UNBOUND) ? cmwq::WORK_CPU_UNBOUND : i % cpus, wq, *works[i]);
    sys.flush_workqueue(wq);
    peak = std::max(peak, cmwq_threads(sys));
  }
  state.SetItemsProcessed(state.iterations() * tasks);
  state.counters["threads"] = peak;
}

void run_asio(benchmark::State& state, int threads, int tasks, bool blocking) {
  boost::asio::thread_pool pool(threads);
  std::atomic<int> done{0};
  for (auto _ : state) {
    done = 0;
    for (int i = 0; i < tasks; ++i)
      boost::asio::post(pool, [&, i] {
        if (blocking && i % 2) block_200us(false);
        done.fetch_add(1, std::memory_order_release);
      });
    while (done.load(std::memory_order_acquire) < tasks) std::this_thread::yield();
  }
  state.SetItemsProcessed(state.iterations() * tasks);
  state.counters["threads"] = threads;
}

void run_tbb(benchmark::State& state, int tasks, bool blocking) {
  tbb::task_group group;
  for (auto _ : state) {
    for (int i = 0; i < tasks; ++i)
      group.run([i, blocking] {
        if (blocking && i % 2) block_200us(false);
      });
    group.wait();
  }
  state.SetItemsProcessed(state.iterations() * tasks);
  state.counters["threads"] = static_cast<double>(std::thread::hardware_concurrency());
}

void BM_Empty_cmwq_bound(benchmark::State& s) { run_cmwq(s, 0, kEmptyTasks, false); }
void BM_Empty_cmwq_unbound(benchmark::State& s) { run_cmwq(s, cmwq::WQ_UNBOUND, kEmptyTasks, false); }
void BM_Empty_asio(benchmark::State& s) { run_asio(s, static_cast<int>(s.range(0)), kEmptyTasks, false); }
void BM_Empty_tbb(benchmark::State& s) { run_tbb(s, kEmptyTasks, false); }
void BM_Blocking_cmwq_bound(benchmark::State& s) { run_cmwq(s, 0, kBlockingTasks, true); }
void BM_Blocking_cmwq_unbound(benchmark::State& s) { run_cmwq(s, cmwq::WQ_UNBOUND, kBlockingTasks, true); }
void BM_Blocking_asio(benchmark::State& s) { run_asio(s, static_cast<int>(s.range(0)), kBlockingTasks, true); }
void BM_Blocking_tbb(benchmark::State& s) { run_tbb(s, kBlockingTasks, true); }

}  // namespace

BENCHMARK(BM_Empty_cmwq_bound)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Empty_cmwq_unbound)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Empty_asio)->Arg(2)->Arg(8)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Empty_tbb)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Blocking_cmwq_bound)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Blocking_cmwq_unbound)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Blocking_asio)->Arg(2)->Arg(8)->Arg(64)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_Blocking_tbb)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK_MAIN();
