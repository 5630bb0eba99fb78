// streams_target two SECONDS: two cmwq::Systems in one process, one workqueue each, 32 items a round
// on both until SECONDS have passed; at exit each System's own wq_monitor(), prefixed "system N: ".
// streams_target forge SECONDS: one System at work, and between its batches forged cmwq:batch hits
// (garbage, a record that claims more bytes than the batch has, a batch larger than any may be).
// Both exit 0 on their own: a test checks that nobody signalled them.
#include <cmwq/cmwq.h>
#include <cmwq/probes.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <deque>
#include <memory>
#include <string>
#include <thread>
#include <vector>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

void round(cmwq::System& sys, cmwq::Workqueue* wq, std::deque<cmwq::Work>& items) {
  for (auto& w : items) sys.queue_work(wq, w);
  sys.flush_workqueue(wq);
}

void forge(std::uint64_t stream) {
  std::vector<unsigned char> junk(200, 0xff);
  cmwq::probes::batch(junk.data(), junk.size(), 3, stream);
  cmwq_event_header h{CMWQ_EV_WORK_QUEUE, 24000, 1, 1, 0, 1, 1};  // claims 24000 bytes of 88
  std::vector<unsigned char> lying(88, 0);
  std::memcpy(lying.data(), &h, sizeof h);
  cmwq::probes::batch(lying.data(), lying.size(), 1, stream);
  std::vector<unsigned char> huge(CMWQ_BATCH_MAX + 64, 0);
  cmwq::probes::batch(huge.data(), huge.size(), 1000, stream);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3 || (std::strcmp(argv[1], "two") && std::strcmp(argv[1], "forge"))) {
    std::fprintf(stderr, "usage: streams_target two|forge SECONDS\n");
    return 2;
  }
  bool two = !std::strcmp(argv[1], "two");
  auto end = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(std::atof(argv[2])));
  cmwq::Options o;
  o.cpus = 2;
  o.log = [](std::string_view) {};
  cmwq::System a(o);
  std::unique_ptr<cmwq::System> b;
  if (two) b = std::make_unique<cmwq::System>(o);
  cmwq::Workqueue* wqa = a.alloc_workqueue("streams_a", 0, 0);
  cmwq::Workqueue* wqb = two ? b->alloc_workqueue("streams_b", 0, 0) : nullptr;
  auto make = [](const char* fn) {
    std::deque<cmwq::Work> v;
    for (int i = 0; i < 32; ++i) v.emplace_back(fn, [](cmwq::Work&) { std::this_thread::sleep_for(50us); });
    return v;
  };
  auto ia = make("streams_a_fn"), ib = make("streams_b_fn");
  while (Clock::now() < end) {
    round(a, wqa, ia);
    if (two) round(*b, wqb, ib);
    else forge(CMWQ_STREAM_ID(1, 1));
    std::this_thread::sleep_for(10ms);
  }
  for (auto& row : a.wq_monitor()) std::printf("system 1: %s\n", row.c_str());
  if (two)
    for (auto& row : b->wq_monitor()) std::printf("system 2: %s\n", row.c_str());
  return 0;
}
