// cmwq-demo: stories on the real-thread runtime, each one a situation a user of
// workqueues recognises. Run with a tracer attached to see them from outside.
#include <cmwq/cmwq.h>

#include <CLI/CLI.hpp>
#include <duration.h>
#include <fmt/format.h>

#include <atomic>
#include <csignal>
#include <ctime>
#include <functional>
#include <map>
#include <random>
#include <thread>
#include <unistd.h>

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::atomic<bool> stop_requested{false};
extern "C" void on_signal(int) { stop_requested = true; }

struct Demo {
  explicit Demo(std::string s = {}) : summary(std::move(s)) {}
  std::string summary;
  std::function<void(cmwq::Options&)> configure = [](cmwq::Options&) {};
  std::function<void(cmwq::System&, Clock::time_point deadline)> run;
};

/// Waits until the deadline or a signal; returns false when asked to stop.
bool wait_until(Clock::time_point deadline) {
  while (!stop_requested && Clock::now() < deadline) std::this_thread::sleep_for(20ms);
  return !stop_requested;
}

/// Uses `d` of this thread's CPU time: on a loaded machine a wall-clock spin would get less CPU
/// than it says (and the hog story would not hog).
void burn(std::chrono::microseconds d) {
  auto cpu = [] {
    timespec ts{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
  };
  auto end = cpu() + d;
  while (cpu() < end) {
  }
}

/// The cmwq documentation's section 5 on real threads: w0 burns 5 ms, sleeps 10, burns 5;
/// w1 and w2 burn 5 and sleep 10. Prints when each step happened.
Demo doc(const char* title, unsigned q1_flags, int max_active) {
  Demo d(title);
  d.configure = [](cmwq::Options& o) { o.cpus = 1; };
  d.run = [q1_flags, max_active](cmwq::System& sys, Clock::time_point) {
    auto* q0 = sys.alloc_workqueue("q0", 0, max_active);
    auto* q1 = q1_flags ? sys.alloc_workqueue("q1", q1_flags, max_active) : q0;
    auto t0 = Clock::now();
    std::mutex mu;
    auto say = [&](const std::string& what) {
      std::lock_guard lk(mu);
      fmt::print("{:6.1f} ms  {}\n", std::chrono::duration<double, std::milli>(Clock::now() - t0).count(), what);
    };
    auto item = [&](std::string name, bool twice) {
      return [=, &say](cmwq::Work&) {
        say(name + " starts and burns CPU");
        burn(5ms);
        say(name + " sleeps");
        cmwq::sleep_for(10ms);
        if (twice) {
          say(name + " wakes up and burns CPU");
          burn(5ms);
          say(name + " finishes");
        } else {
          say(name + " wakes up and finishes");
        }
      };
    };
    cmwq::Work w0{"w0", item("w0", true)}, w1{"w1", item("w1", false)}, w2{"w2", item("w2", false)};
    sys.queue_work_on(0, q0, w0);
    sys.queue_work_on(0, q1, w1);
    sys.queue_work_on(0, q1, w2);
    sys.flush_workqueue(q0);
    sys.flush_workqueue(q1);
  };
  return d;
}

Demo stall() {
  Demo d("an item waits for a completion that only the item queued behind it on the same "
         "max_active 1 workqueue would signal: the classic flush-from-inside deadlock");
  d.run = [](cmwq::System& sys, Clock::time_point deadline) {
    auto* wq = sys.alloc_workqueue("stall_wq", 0, 1);
    cmwq::Completion done;
    cmwq::Work signaller{"signal_done", [&](cmwq::Work&) { done.complete(); }};
    cmwq::Work waiter{"wait_for_done", [&](cmwq::Work&) {
                        sys.queue_work(wq, signaller);  // inactive: max_active 1 and we are the active one
                        done.wait();
                      }};
    sys.queue_work_on(0, wq, waiter);
    auto next_dump = Clock::now() + 2s;
    while (wait_until(std::min(deadline, next_dump)) && Clock::now() < deadline) {
      for (auto& line : sys.show_workqueues()) fmt::print("{}\n", line);
      next_dump += 5s;
    }
    fmt::print("cmwq-demo: breaking the deadlock to exit\n");
    done.complete();
    sys.flush_workqueue(wq);
  };
  return d;
}

Demo hidden_block() {
  Demo d("an item blocks in a plain read() without the pool's blocking point: the pool still counts it "
         "as running and starts no other worker for the items queued behind it");
  d.configure = [](cmwq::Options& o) { o.cpus = 1; };
  d.run = [](cmwq::System& sys, Clock::time_point deadline) {
    int fds[2];
    if (pipe(fds) != 0) throw std::runtime_error("pipe failed");
    auto* wq = sys.alloc_workqueue("netlink_rx", 0, 0);
    cmwq::Work reader{"nl_recv_blocking", [&](cmwq::Work&) {
                        char c;
                        if (read(fds[0], &c, 1) < 0) fmt::print(stderr, "cmwq-demo: read failed\n");
                      }};
    std::atomic<int> done{0};
    std::vector<std::unique_ptr<cmwq::Work>> behind;
    for (int i = 0; i < 10; ++i)
      behind.push_back(std::make_unique<cmwq::Work>("nl_ack", [&](cmwq::Work&) { ++done; }));
    sys.queue_work_on(0, wq, reader);
    std::this_thread::sleep_for(20ms);
    for (auto& w : behind) sys.queue_work_on(0, wq, *w);
    wait_until(deadline);
    fmt::print("cmwq-demo: {} of 10 items behind the blocked read ran; writing to the pipe to exit\n", done.load());
    if (write(fds[1], "x", 1) != 1) fmt::print(stderr, "cmwq-demo: write failed\n");
    sys.flush_workqueue(wq);
    ::close(fds[0]);
    ::close(fds[1]);
  };
  return d;
}

Demo xfslogd(cmwq::RescuerPolicy policy, const char* name) {
  Demo d(fmt::format("seed 000: xfslogd (WQ_MEM_RECLAIM, max_active 1), 1000 items while worker creation "
                     "fails for 3 s, rescuer policy {}",
                     name));
  d.configure = [policy](cmwq::Options& o) {
    o.cpus = 1;
    o.rescuer_policy = policy;
  };
  d.run = [](cmwq::System& sys, Clock::time_point deadline) {
    auto* wq = sys.alloc_workqueue("xfslogd", cmwq::WQ_MEM_RECLAIM | cmwq::WQ_HIGHPRI, 1);
    std::atomic<int> done{0};
    std::vector<std::unique_ptr<cmwq::Work>> items;
    for (int i = 0; i < 1000; ++i)
      items.push_back(std::make_unique<cmwq::Work>("xfs_buf_iodone_work", [&](cmwq::Work&) {
        burn(100us);
        ++done;
      }));
    sys.fail_worker_creation(3s);
    auto t0 = Clock::now();
    for (auto& w : items) sys.queue_work_on(0, wq, *w);
    while (done < 1000 && wait_until(std::min(deadline, Clock::now() + 500ms)))
      fmt::print("{:5.1f} s  {} of 1000 done\n", std::chrono::duration<double>(Clock::now() - t0).count(), done.load());
    fmt::print("{:5.1f} s  {} of 1000 done\n", std::chrono::duration<double>(Clock::now() - t0).count(), done.load());
    for (auto& row : sys.wq_monitor()) fmt::print("{}\n", row);
    sys.fail_worker_creation(0ns);
    sys.drain_workqueue(wq);
  };
  return d;
}

Demo hotplug() {
  Demo d("seed 004: queue_work_on() a CPU that was never online, then flush_work() it from CPU 11 "
         "(use --watchdog 2s to see the lockup report sooner)");
  d.configure = [](cmwq::Options& o) {
    o.cpus = 12;
    o.online = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11};
  };
  d.run = [](cmwq::System& sys, Clock::time_point deadline) {
    auto* rcu_gp = sys.alloc_workqueue("rcu_gp", cmwq::WQ_MEM_RECLAIM, 0);
    auto* rcu_par_gp = sys.alloc_workqueue("rcu_par_gp", cmwq::WQ_MEM_RECLAIM, 0);
    cmwq::Work rew{"sync_rcu_exp_select_node_cpus", [](cmwq::Work&) {}};
    cmwq::Work gp{"wait_rcu_exp_gp", [&](cmwq::Work&) {
                    sys.queue_work_on(0, rcu_par_gp, rew);
                    sys.flush_work(rew);
                  }};
    sys.queue_work_on(11, rcu_gp, gp);
    wait_until(deadline);
    fmt::print("cmwq-demo: onlining CPU 0 to let the flush finish\n");
    sys.cpu_online(0);
    sys.flush_work(gp);
  };
  return d;
}

Demo hog() {
  Demo d("an item that spins 30 ms without sleeping, again and again: marked CPU-intensive and reported");
  d.configure = [](cmwq::Options& o) { o.cpus = 1; };
  d.run = [](cmwq::System& sys, Clock::time_point deadline) {
    cmwq::Work spin{"crc_all_the_things", [](cmwq::Work&) { burn(30ms); }};
    for (int i = 0; i < 40 && Clock::now() < deadline && !stop_requested; ++i) {
      sys.queue_work_on(0, sys.system_wq(), spin);
      sys.flush_work(spin);
    }
    for (auto& row : sys.wq_monitor()) fmt::print("{}\n", row);
  };
  return d;
}

Demo server() {
  Demo d("a busy server: requests fan out over bound, unbound, highpri and ordered workqueues");
  d.run = [](cmwq::System& sys, Clock::time_point deadline) {
    auto* io = sys.alloc_workqueue("server_io", cmwq::WQ_MEM_RECLAIM, 16);
    auto* log = sys.alloc_ordered_workqueue("server_log");
    auto* crypto = sys.alloc_workqueue("server_crypto", cmwq::WQ_UNBOUND | cmwq::WQ_CPU_INTENSIVE, 0);
    std::mt19937 rng(7);
    std::vector<std::unique_ptr<cmwq::Work>> pool;
    auto make = [&](const char* fn, std::function<void(cmwq::Work&)> body) {
      pool.push_back(std::make_unique<cmwq::Work>(fn, std::move(body)));
      return pool.back().get();
    };
    std::vector<std::pair<cmwq::Workqueue*, cmwq::Work*>> jobs;
    for (int i = 0; i < 64; ++i) {
      jobs.push_back({io, make("read_request", [](cmwq::Work&) { cmwq::sleep_for(2ms); })});
      jobs.push_back({crypto, make("encrypt_reply", [](cmwq::Work&) { burn(300us); })});
      jobs.push_back({log, make("append_log", [](cmwq::Work&) { burn(50us); })});
      jobs.push_back({sys.system_highpri_wq(), make("ack_packet", [](cmwq::Work&) {})});
    }
    long queued = 0;
    while (Clock::now() < deadline && !stop_requested) {
      auto& [wq, w] = jobs[rng() % jobs.size()];
      queued += sys.queue_work(wq, *w);
      if (queued % 64 == 0) std::this_thread::sleep_for(1ms);
    }
    for (auto* wq : {io, log, crypto}) sys.drain_workqueue(wq);
    fmt::print("cmwq-demo: {} requests queued\n", queued);
    for (auto& row : sys.wq_monitor()) fmt::print("{}\n", row);
  };
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, Demo> demos = {
      {"doc-max-active-3", doc("cmwq documentation section 5: cmwq with max_active >= 3", 0, 3)},
      {"doc-max-active-2", doc("cmwq documentation section 5: max_active == 2", 0, 2)},
      {"doc-highpri", doc("cmwq documentation section 5: w1 and w2 on a WQ_HIGHPRI workqueue", cmwq::WQ_HIGHPRI, 3)},
      {"doc-cpu-intensive",
       doc("cmwq documentation section 5: w1 and w2 on a WQ_CPU_INTENSIVE workqueue", cmwq::WQ_CPU_INTENSIVE, 3)},
      {"stall", stall()},
      {"xfslogd-2009", xfslogd(cmwq::RescuerPolicy::k2009, "2009")},
      {"xfslogd-2014", xfslogd(cmwq::RescuerPolicy::k2014, "2014")},
      {"xfslogd-2025", xfslogd(cmwq::RescuerPolicy::k2025, "2025")},
      {"hotplug", hotplug()},
      {"hog", hog()},
      {"hidden-block", hidden_block()},
      {"server", server()},
  };
  CLI::App app{"Stories on libcmwq's real-thread runtime.\n\nExamples:\n  cmwq-demo --list\n"
               "  cmwq-demo stall --seconds 10\n  cmwq-demo hotplug --watchdog 2s --seconds 8\n"};
  bool list = false;
  std::string name, watchdog, seconds = "30s";
  app.add_flag("--list", list, "list the scenarios");
  app.add_option("scenario", name, "the scenario to run");
  app.add_option("--seconds", seconds, "stop after this long, e.g. 10 (seconds) or 500ms (default 30s)");
  app.add_option("--watchdog", watchdog, "the pool watchdog's threshold, e.g. 2s (default 30s; 0 disables it)");
  CLI11_PARSE(app, argc, argv);
  if (list || name.empty()) {
    for (auto& [n, d] : demos) fmt::print("{:<18} {}\n", n, d.summary);
    return list ? 0 : 2;
  }
  auto it = demos.find(name);
  if (it == demos.end()) {
    fmt::print(stderr, "cmwq-demo: no scenario '{}'; cmwq-demo --list shows them\n", name);
    return 2;
  }
  struct sigaction sa {};
  sa.sa_handler = on_signal;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  cmwq::Options o;
  std::int64_t run_ns = 0;
  try {
    run_ns = cmwq::cli::parse_duration(seconds, "--seconds", {.zero_ok = true, .max_ns = 86'400'000'000'000});
    if (!watchdog.empty())
      o.watchdog_thresh = std::chrono::nanoseconds(cmwq::cli::parse_duration(watchdog, "--watchdog", {.zero_ok = true}));
  } catch (const std::invalid_argument& e) {
    fmt::print(stderr, "cmwq-demo: {}\n", e.what());
    return 2;
  }
  it->second.configure(o);
  fmt::print("cmwq-demo {}: {} (pid {})\n", name, it->second.summary, getpid());
  std::fflush(stdout);
  {
    cmwq::System sys(o);
    it->second.run(sys, Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::nanoseconds(run_ns)));
  }
  fmt::print("cmwq-demo {}: done\n", name);
}
