#include "hook.h"

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/eventfd.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

namespace wqscope {

namespace {

std::int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// One hook process and what is left to write to it.
struct Running {
  pid_t pid = -1;
  int pidfd = -1;  // readable once it has exited
  int in = -1;     // the write end of its stdin, non-blocking; -1 once all is written or it stopped reading
  std::string json;
  std::size_t written = 0;
  std::int64_t deadline = 0;
};

void close_fd(int& fd) {
  if (fd >= 0) ::close(fd);
  fd = -1;
}

/// Starts `program` without a shell, with a minimal environment, its stdin the read end of a new
/// pipe. Returns false (and says why) if it could not.
bool spawn(const std::string& program, Running& r) {
  int p[2];
  if (pipe2(p, O_CLOEXEC) != 0) return false;
  posix_spawn_file_actions_t fa;
  posix_spawn_file_actions_init(&fa);
  posix_spawn_file_actions_adddup2(&fa, p[0], STDIN_FILENO);  // dup2 clears FD_CLOEXEC on stdin
  posix_spawnattr_t attr;
  posix_spawnattr_init(&attr);
  // The thread that spawns blocks SIGPIPE and the metrics' web server ignores it: the hook gets
  // the defaults, as if started from a shell.
  sigset_t none, pipe_only;
  sigemptyset(&none);
  sigemptyset(&pipe_only);
  sigaddset(&pipe_only, SIGPIPE);
  posix_spawnattr_setsigmask(&attr, &none);
  posix_spawnattr_setsigdefault(&attr, &pipe_only);
  posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  char* argv[] = {const_cast<char*>(program.c_str()), nullptr};
  char* envp[] = {const_cast<char*>("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nullptr};
  int err = posix_spawn(&r.pid, program.c_str(), &fa, &attr, argv, envp);
  posix_spawn_file_actions_destroy(&fa);
  posix_spawnattr_destroy(&attr);
  ::close(p[0]);
  if (err) {
    ::close(p[1]);
    fmt::print(stderr, "wqscope: cannot run the alert hook {}: {}\n", program, std::strerror(err));
    return false;
  }
  r.in = p[1];
  fcntl(r.in, F_SETFL, O_NONBLOCK);
  r.pidfd = static_cast<int>(syscall(SYS_pidfd_open, r.pid, 0));
  return true;
}

/// Writes what the pipe takes now; closes it when all is written or the hook stopped reading.
void feed(Running& r) {
  while (r.in >= 0 && r.written < r.json.size()) {
    ssize_t n = ::write(r.in, r.json.data() + r.written, r.json.size() - r.written);
    if (n > 0) r.written += static_cast<std::size_t>(n);
    else if (n < 0 && errno == EINTR) continue;
    else if (n < 0 && errno == EAGAIN) return;  // full: more when poll says so
    else break;                                 // EPIPE: it exited or closed its stdin, its choice
  }
  close_fd(r.in);
}

}  // namespace

AlertHook::AlertHook(std::string program, std::int64_t timeout_ns)
    : program_(std::move(program)), timeout_ns_(timeout_ns) {
  wake_fd_ = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
  if (wake_fd_ < 0) throw std::runtime_error(fmt::format("eventfd: {}", std::strerror(errno)));
  thread_ = std::thread([this] { run(); });
}

AlertHook::~AlertHook() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  wake();
  thread_.join();
  ::close(wake_fd_);
  if (dropped_)
    fmt::print(stderr, "wqscope: warning: {} alert(s) were not given to the hook {}: it fell behind ({} waiting, {} "
                       "running at most)\n",
               dropped_, program_, kMaxQueued, kMaxRunning);
}

void AlertHook::wake() {
  std::uint64_t one = 1;
  if (::write(wake_fd_, &one, sizeof one) < 0) {
  }  // EAGAIN: a wake-up is pending already
}

void AlertHook::submit(std::string json) {
  {
    std::lock_guard lock(mu_);
    if (queue_.size() >= kMaxQueued) {
      ++dropped_;
      return;
    }
    queue_.push_back(std::move(json));
  }
  wake();
}

std::uint64_t AlertHook::dropped() const {
  std::lock_guard lock(mu_);
  return dropped_;
}

std::uint64_t AlertHook::killed() const {
  std::lock_guard lock(mu_);
  return killed_;
}

void AlertHook::run() {
  // A write to a hook that is gone fails with EPIPE instead of raising SIGPIPE, which is directed
  // at the writing thread: blocked here, it never reaches the collector.
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  pthread_sigmask(SIG_BLOCK, &block, nullptr);
  std::vector<Running> running;
  for (;;) {
    {
      std::lock_guard lock(mu_);
      while (!queue_.empty() && running.size() < kMaxRunning) {
        Running r;
        r.json = std::move(queue_.front());
        queue_.pop_front();
        r.deadline = now_ns() + timeout_ns_;
        if (spawn(program_, r)) running.push_back(std::move(r));
      }
    }
    for (Running& r : running) feed(r);
    // Reap what exited; kill what outlived its timeout.
    std::int64_t now = now_ns();
    std::erase_if(running, [&](Running& r) {
      int status = 0;
      pid_t done = waitpid(r.pid, &status, WNOHANG);
      if (done == 0 && now < r.deadline) return false;
      if (done == 0) {
        ::kill(r.pid, SIGKILL);
        waitpid(r.pid, &status, 0);
        fmt::print(stderr, "wqscope: alert hook {} (pid {}) still running after {:.3g}s: killed it (SIGKILL)\n",
                   program_, r.pid, static_cast<double>(timeout_ns_) / 1e9);
        std::lock_guard lock(mu_);
        ++killed_;
      }
      close_fd(r.in);
      close_fd(r.pidfd);
      return true;
    });
    {
      // Checked after the reaping, before the sleep: the stop's wake-up may have been read already by
      // the sleep that waited for the last hook to go.
      std::lock_guard lock(mu_);
      if (stopping_ && queue_.empty() && running.empty()) return;
    }
    // Sleep until a hook's stdin takes more, a hook exits, an alert comes or a deadline passes.
    std::vector<pollfd> fds{{wake_fd_, POLLIN, 0}};
    std::int64_t next = INT64_MAX;
    for (Running& r : running) {
      if (r.in >= 0) fds.push_back({r.in, POLLOUT, 0});
      if (r.pidfd >= 0) fds.push_back({r.pidfd, POLLIN, 0});
      next = std::min(next, r.deadline);
    }
    // Without a pidfd (it could not be opened) an exit is noticed by polling every 50 ms.
    bool blind = std::any_of(running.begin(), running.end(), [](const Running& r) { return r.pidfd < 0; });
    std::int64_t wait_ms = next == INT64_MAX ? -1 : std::max<std::int64_t>(0, (next - now_ns()) / 1'000'000 + 1);
    if (blind) wait_ms = wait_ms < 0 ? 50 : std::min<std::int64_t>(wait_ms, 50);
    if (::poll(fds.data(), fds.size(), static_cast<int>(wait_ms)) > 0 && (fds[0].revents & POLLIN)) {
      std::uint64_t n;
      if (::read(wake_fd_, &n, sizeof n) < 0) {
      }
    }
  }
}

}  // namespace wqscope
