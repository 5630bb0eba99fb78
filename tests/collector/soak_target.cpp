// soak_target [SECONDS [MINUTES]]: MINUTES (default 60) of a busy service's pool life compressed
// into SECONDS (default 90) of real time, for soak_test.sh. Every "minute": a workqueue under one
// of 8 names and fresh work items (new ids, as a service allocates them), queued by two threads as
// fast as they can; one item in 16 sleeps, so the pool creates workers; then a lull in which idle
// workers retire (the idle timeout is scaled with the minute). What a long run accumulates —
// workqueues, items, workers, names reused — comes at the rate of an hour, not of a few seconds.
//
// At exit it says what it produced, counted from the batches it handed to the probe (each batch
// is a gapless run of seq): "soak_target: produced seq 1..S, handed D records to the probe".
// S - D were dropped in the pool's own hand-over queue (the oldest batches go first, so the last
// one is always handed over).
#include <cmwq/cmwq.h>
#include <cmwq/events.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <thread>
#include <unistd.h>
#include <vector>

using Clock = std::chrono::steady_clock;

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 90;
  int minutes = argc > 2 ? std::atoi(argv[2]) : 60;
  if (!(seconds > 0) || minutes < 1) {
    std::fprintf(stderr, "usage: soak_target [SECONDS > 0 [MINUTES >= 1]]\n");
    return 2;
  }
  auto minute = std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds / minutes));
  std::atomic<std::uint64_t> handed{0}, last_seq{0};
  cmwq::Options o;
  o.log = [](std::string_view) {};
  o.idle_timeout = minute / 12;  // a quarter of the lull: idle workers retire every minute
  o.on_events = [&](std::span<const std::byte> b, std::uint64_t count) {
    cmwq_event_header h;
    if (!count || b.size() < sizeof h) return;
    std::memcpy(&h, b.data(), sizeof h);
    handed += count;
    std::uint64_t last = h.seq + count - 1, seen = last_seq;
    while (last > seen && !last_seq.compare_exchange_weak(seen, last)) {
    }
  };
  std::printf("soak_target: %d minutes in %.1f s (pid %d)\n", minutes, seconds, getpid());
  std::fflush(stdout);
  static const char* const kWqNames[] = {"soak_rx", "soak_tx", "soak_io", "soak_log",
                                         "soak_gc", "soak_rpc", "soak_db", "soak_fs"};
  static const char* const kFuncs[] = {"handle_request", "flush_buffer", "send_reply", "expire_entry"};
  std::uint64_t queued = 0;
  {
    cmwq::System sys(o);
    int cpus = sys.possible_cpus();
    auto start = Clock::now();
    for (int m = 0; m < minutes; ++m) {
      auto* wq = sys.alloc_workqueue(kWqNames[m % 8], m % 3 == 0 ? unsigned{cmwq::WQ_UNBOUND} : 0u, 0);
      std::vector<std::unique_ptr<cmwq::Work>> items;
      for (int i = 0; i < 4096; ++i)
        items.push_back(std::make_unique<cmwq::Work>(kFuncs[i % 4], i % 16 == 0
            ? std::function<void(cmwq::Work&)>([](cmwq::Work&) { cmwq::sleep_for(std::chrono::milliseconds(1)); })
            : std::function<void(cmwq::Work&)>([](cmwq::Work&) {})));
      auto burst_end = start + minute * m + minute * 3 / 4;
      std::atomic<std::uint64_t> n{0};
      auto producer = [&](int first) {
        for (std::size_t i = first; Clock::now() < burst_end; i += 2)
          n += sys.queue_work_on(static_cast<int>(i % cpus), wq, *items[i % items.size()]);
      };
      std::thread other(producer, 1);
      producer(0);
      other.join();
      queued += n;
      sys.destroy_workqueue(wq);  // drains it: the items may go
      std::this_thread::sleep_until(start + minute * (m + 1));
    }
  }
  std::printf("soak_target: queued %llu items; produced seq 1..%llu, handed %llu records to the probe\n",
              static_cast<unsigned long long>(queued), static_cast<unsigned long long>(last_seq.load()),
              static_cast<unsigned long long>(handed.load()));
}
