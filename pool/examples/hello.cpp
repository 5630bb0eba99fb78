// The smallest program on libcmwq: a workqueue, two items, a blocking point.
#include <cmwq/cmwq.h>

#include <cstdio>

using namespace std::chrono_literals;

int main() {
  cmwq::System sys;  // one virtual CPU per hardware thread, system workqueues included
  cmwq::Workqueue* wq = sys.alloc_workqueue("hello", cmwq::WQ_MEM_RECLAIM, 4);

  cmwq::Work io{"hello_io", [](cmwq::Work&) {
                  cmwq::sleep_for(20ms);  // the pool sees this worker sleep and may start the next item
                  std::printf("io done on %s\n", cmwq::current_worker_name().c_str());
                }};
  cmwq::Work cpu{"hello_cpu", [](cmwq::Work&) { std::printf("cpu ran on %s\n", cmwq::current_worker_name().c_str()); }};

  sys.queue_work_on(0, wq, io);
  sys.queue_work_on(0, wq, cpu);  // starts while io sleeps: concurrency management
  sys.flush_workqueue(wq);

  for (const auto& row : sys.wq_monitor()) std::printf("%s\n", row.c_str());
  sys.destroy_workqueue(wq);
}
