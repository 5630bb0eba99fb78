// A shared library with libcmwq inside: mapped_target loads it from a path the test then swaps.
#include <cmwq/cmwq.h>

#include <chrono>
#include <deque>
#include <thread>

extern "C" __attribute__((visibility("default"))) void mapped_lib_run(double seconds) {
  using Clock = std::chrono::steady_clock;
  auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
  cmwq::Options o;
  o.cpus = 2;
  o.log = [](std::string_view) {};
  cmwq::System sys(o);
  cmwq::Workqueue* wq = sys.alloc_workqueue("mapped_wq", 0, 0);
  std::deque<cmwq::Work> items;
  for (int i = 0; i < 16; ++i) items.emplace_back("mapped_fn", [](cmwq::Work&) { std::this_thread::sleep_for(std::chrono::microseconds(50)); });
  while (Clock::now() < end) {
    for (auto& w : items) sys.queue_work(wq, w);
    sys.flush_workqueue(wq);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  sys.destroy_workqueue(wq);
}
