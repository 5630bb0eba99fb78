// The --exec hook: a program run for each alert, the alert as JSON on its stdin. It runs detached
// from the watch loop: submit() only queues, a thread of its own starts the hooks, feeds them
// without blocking and reaps them. A hook that does not read, exits early or fails changes nothing
// for the collector (no SIGPIPE: the thread blocks it and gets EPIPE); one still running after its
// timeout is killed, and said so on stderr. More alerts than the hooks keep up with are dropped
// and counted, never waited for.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>
#include <string>
#include <thread>

namespace wqscope {

class AlertHook {
 public:
  /// Hooks still running `timeout_ns` after they started are killed (SIGKILL).
  AlertHook(std::string program, std::int64_t timeout_ns);
  /// Hands the alerts still queued to hooks and lets the running ones finish (or time out).
  ~AlertHook();
  AlertHook(const AlertHook&) = delete;
  AlertHook& operator=(const AlertHook&) = delete;

  /// Queues one alert for a hook of its own; drops it (counted) if kMaxQueued are waiting.
  void submit(std::string json);
  /// Alerts dropped so far, killed hooks so far.
  std::uint64_t dropped() const;
  std::uint64_t killed() const;

  static constexpr std::size_t kMaxQueued = 64;   // alerts waiting for a hook
  static constexpr std::size_t kMaxRunning = 8;   // hooks running at once

 private:
  void run();
  void wake();

  const std::string program_;
  const std::int64_t timeout_ns_;
  int wake_fd_ = -1;  // eventfd: submit() and the destructor wake the thread's poll
  mutable std::mutex mu_;
  std::deque<std::string> queue_;
  bool stopping_ = false;
  std::uint64_t dropped_ = 0, killed_ = 0;
  std::thread thread_;  // last: started when everything above is ready
};

}  // namespace wqscope
