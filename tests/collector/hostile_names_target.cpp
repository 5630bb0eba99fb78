// hostile_names_target [SECONDS [BEHIND]]: a target whose workqueue and function names are what an
// untrusted process may send: invalid UTF-8, terminal escapes (colour, window title, a bidi
// override) and 64 KiB long (the event schema cuts them at CMWQ_NAME_MAX). For SECONDS (default 3)
// it stalls both ways wqscope reports with names in them: an item blocked in a plain read() with
// BEHIND (default 4) items queued behind it (hidden_block, and a lockup whose busy dump lists the
// names: 1000 make an alert of more than a pipe's 64 KiB), and an item
// held back by max_active 1 behind one that waits for it (stall). Then it unblocks everything and
// exits with status 3 on its own: a test tells that from a signal.
#include <cmwq/cmwq.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

std::string hostile(const char* what) {
  std::string s = std::string("bad\xff\xfe ") + what + " \x1b[31mred\x1b[0m \x1b]0;title\x07 \xe2\x80\xae" "esrever ";
  s += std::string(64 * 1024, 'A');
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  double seconds = argc > 1 ? std::atof(argv[1]) : 3;
  int nr_behind = argc > 2 ? std::atoi(argv[2]) : 4;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  cmwq::Options o;
  o.cpus = 1;
  o.log = [](std::string_view) {};  // the pool's own watchdog reports: not what this test reads
  int fds[2];
  if (pipe(fds) != 0) return 1;
  // Work keeps the function name's pointer: the names outlive the items.
  const std::string fn_read = hostile("fn_read"), fn_signal = hostile("fn_signal"), fn_wait = hostile("fn_wait");
  // Each its own name: the busy dump folds runs of one function ("256*fn"), as the kernel's does.
  std::vector<std::string> fn_behind;
  for (int i = 0; i < nr_behind; ++i) fn_behind.push_back(std::to_string(i) + " " + hostile("fn_behind"));
  {
    cmwq::System sys(o);
    auto* wq = sys.alloc_workqueue(hostile("wq"), 0, 0);
    cmwq::Work reader{fn_read.c_str(), [&](cmwq::Work&) {
                        char c;
                        if (read(fds[0], &c, 1) < 0) std::perror("read");
                      }};
    std::vector<std::unique_ptr<cmwq::Work>> behind;
    for (auto& name : fn_behind) behind.push_back(std::make_unique<cmwq::Work>(name.c_str(), [](cmwq::Work&) {}));
    sys.queue_work_on(0, wq, reader);
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    for (auto& w : behind) sys.queue_work_on(0, wq, *w);

    auto* held = sys.alloc_workqueue(hostile("wq_held"), cmwq::WQ_UNBOUND, 1);
    cmwq::Completion done;
    cmwq::Work signaller{fn_signal.c_str(), [&](cmwq::Work&) { done.complete(); }};
    cmwq::Work waiter{fn_wait.c_str(), [&](cmwq::Work&) {
                        sys.queue_work(held, signaller);  // held back: max_active 1, and this one is active
                        done.wait();
                      }};
    sys.queue_work(held, waiter);

    std::this_thread::sleep_until(deadline);
    if (write(fds[1], "x", 1) != 1) std::perror("write");
    done.complete();
    sys.flush_workqueue(wq);
    sys.flush_workqueue(held);
  }
  std::fprintf(stderr, "hostile_names_target: done\n");  // stdout is the collector's alerts
  return 3;
}
