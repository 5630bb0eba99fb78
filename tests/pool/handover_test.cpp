// The lossless hand-over (struct cmwq_handover) without a kernel: the test raises the probe's
// semaphore itself, as the kernel does for an attached tracer, and plays the tracer that reports
// how far it has read. Its own binary: the raised semaphore traces every System of the process.
#include <cmwq/cmwq.h>
#include <cmwq/probes.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <thread>
#include <vector>

namespace {

// The kernel's write, which TSan cannot see either: the pool reads the semaphore unsynchronised.
__attribute__((no_sanitize("thread"))) void set_semaphore(unsigned short v) { cmwq_batch_semaphore = v; }

std::uint64_t load(std::uint64_t& f) { return std::atomic_ref(f).load(std::memory_order_acquire); }
void store(std::uint64_t& f, std::uint64_t v) { std::atomic_ref(f).store(v, std::memory_order_release); }

cmwq::Options quiet() {
  cmwq::Options o;
  o.log = [](std::string_view) {};
  return o;
}

void queue_items(cmwq::System& sys, int n) {
  cmwq::Workqueue* wq = sys.alloc_workqueue("handover", 0, 0);
  std::vector<std::unique_ptr<cmwq::Work>> works;
  for (int i = 0; i < n; ++i) works.push_back(std::make_unique<cmwq::Work>("empty_fn", [](cmwq::Work&) {}));
  for (int i = 0; i < n; ++i) sys.queue_work_on(i % sys.possible_cpus(), wq, *works[i]);
  sys.flush_workqueue(wq);
  sys.destroy_workqueue(wq);
}

constexpr std::uint64_t kRoom = 64 << 10;
constexpr std::uint64_t kLargestBatch = CMWQ_BATCH_MAX + CMWQ_HANDOVER_HEAD;

}  // namespace

TEST(HandOver, ALosslessTracerIsWaitedForAndNothingIsLost) {
  cmwq_handover& h = *cmwq::probes::handover();
  set_semaphore(1);
  store(h.read, load(h.handed));
  store(h.room, kRoom);
  std::atomic<bool> done{false};
  std::uint64_t most_ahead = 0;
  std::thread tracer([&] {  // reads slowly: everything handed so far, every 200 us
    while (!done) {
      std::uint64_t handed = load(h.handed), read = load(h.read);
      most_ahead = std::max(most_ahead, handed - read);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
      store(h.read, handed);
    }
  });
  std::uint64_t lost;
  {
    cmwq::System sys(quiet());
    queue_items(sys, 50'000);
    lost = sys.events_lost();
  }
  done = true;
  tracer.join();
  store(h.room, 0);
  set_semaphore(0);
  EXPECT_EQ(lost, 0u) << "the hand-over queue dropped records while a lossless tracer was attached";
  // Packed (cmwq/packed.h), a record takes at least 4 bytes: its tag, its mask and its time.
  EXPECT_GT(load(h.handed), 50'000u * 3 * 4) << "the items' records were not handed over";
  // A batch is handed only once it fits: at most the room ahead, and the one batch that may be
  // under way while the tracer looks.
  EXPECT_LE(most_ahead, kRoom + kLargestBatch);
}

TEST(HandOver, AStalledTracerCostsOneWaitNotOnePerBatch) {
  cmwq_handover& h = *cmwq::probes::handover();
  set_semaphore(1);
  store(h.read, load(h.handed));  // and never again
  store(h.room, kRoom);
  auto t0 = std::chrono::steady_clock::now();
  {
    cmwq::System sys(quiet());
    queue_items(sys, 20'000);  // ~60 batches: a wait each would be a minute
  }
  auto took = std::chrono::steady_clock::now() - t0;
  store(h.room, 0);
  set_semaphore(0);
  EXPECT_LT(took, std::chrono::seconds(10));
}

TEST(HandOver, ARequestIsForgottenWhenNoTracerIsAttached) {
  cmwq_handover& h = *cmwq::probes::handover();
  set_semaphore(1);
  store(h.room, kRoom);
  cmwq::System sys(quiet());
  set_semaphore(0);  // the tracer went without a word
  for (int i = 0; i < 100 && load(h.room) != 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(load(h.room), 0u);
}
