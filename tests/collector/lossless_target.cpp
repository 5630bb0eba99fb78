// lossless_target ITEMS [damage|attached]: empty items through a bound workqueue, queued as fast as
// one thread can (as tests/bench/probe_bench), for lossless_test.sh. With `attached` it waits (up to
// 30 s) for a tracer to attach to cmwq:batch, and the pool to start tracing, before it starts. With `damage` it also attacks the
// hand-over block that --lossless writes (struct cmwq_handover): for a while a thread scribbles over
// it, then its page is replaced by an anonymous copy (the block is no longer the file's), and the
// items are queued again. Prints "lossless_target: done" at the end.
#include <cmwq/cmwq.h>
#include <cmwq/probes.h>

#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <random>
#include <thread>
#include <vector>

namespace {

void queue_all(cmwq::System& sys, cmwq::Workqueue* wq, std::vector<std::unique_ptr<cmwq::Work>>& works) {
  int cpus = sys.possible_cpus();
  for (std::size_t i = 0; i < works.size(); ++i) sys.queue_work_on(static_cast<int>(i % cpus), wq, *works[i]);
  sys.flush_workqueue(wq);
}

// Byte by byte and uninstrumented: the page holds other globals and, under ASan, their redzones.
__attribute__((no_sanitize("address"))) void copy_page(char* to, const volatile char* from, long n) {
  for (long i = 0; i < n; ++i) to[i] = from[i];
}

// The block's page, replaced at once (mremap) by an anonymous copy: the pool's other globals on it
// stay readable throughout.
void replace_page(void* in) {
  long page = ::sysconf(_SC_PAGESIZE);
  auto* start = reinterpret_cast<char*>(reinterpret_cast<std::uintptr_t>(in) & ~static_cast<std::uintptr_t>(page - 1));
  void* copy = ::mmap(nullptr, page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (copy == MAP_FAILED) std::exit(1);
  copy_page(static_cast<char*>(copy), start, page);
  if (::mremap(copy, page, page, MREMAP_MAYMOVE | MREMAP_FIXED, start) == MAP_FAILED) {
    std::perror("mremap");
    std::exit(1);
  }
}

}  // namespace

int main(int argc, char** argv) {
  int items = argc > 1 ? std::atoi(argv[1]) : 0;
  bool damage = argc > 2 && std::strcmp(argv[2], "damage") == 0;
  bool attached = argc > 2 && std::strcmp(argv[2], "attached") == 0;
  if (items <= 0) {
    std::fprintf(stderr, "usage: lossless_target ITEMS [damage|attached]\n");
    return 2;
  }
  cmwq::Options o;
  o.log = [](std::string_view) {};
  cmwq::System sys(o);
  cmwq::Workqueue* wq = sys.alloc_workqueue("lossless", 0, 0);
  std::vector<std::unique_ptr<cmwq::Work>> works;
  for (int i = 0; i < items; ++i) works.push_back(std::make_unique<cmwq::Work>("empty_fn", [](cmwq::Work&) {}));
  for (int ms = 0; attached && !cmwq::probes::attached() && ms < 30'000; ++ms)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  if (attached) std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the pool's grace before tracing
  if (!damage) {
    queue_all(sys, wq, works);
  } else {
    cmwq_handover* h = cmwq::probes::handover();
    std::atomic<bool> stop{false};
    std::thread scribbler([&] {
      std::mt19937_64 rng(20);
      auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(300);
      while (!stop && std::chrono::steady_clock::now() < until) {
        std::atomic_ref(h->room).store(rng() % 4 ? rng() : 1, std::memory_order_relaxed);
        std::atomic_ref(h->read).store(rng(), std::memory_order_relaxed);
        std::atomic_ref(h->handed).store(rng(), std::memory_order_relaxed);
        std::this_thread::sleep_for(std::chrono::microseconds(50));
      }
    });
    queue_all(sys, wq, works);
    stop = true;
    scribbler.join();
    replace_page(h);
    queue_all(sys, wq, works);
  }
  std::printf("lossless_target: done\n");
}
