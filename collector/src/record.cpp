#include "record.h"

#include "model.h"
#include "recording.h"
#include "tracer.h"

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace wqscope {

namespace {

std::atomic<int> stop_signal{0};
extern "C" void on_stop(int sig) { stop_signal = sig; }

std::int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/// The executable a command names: a path, or found on PATH like execvp would.
std::string resolve(const std::string& cmd) {
  auto usable = [](const std::string& p) { return ::access(p.c_str(), X_OK) == 0; };
  char real[PATH_MAX];
  if (cmd.find('/') != std::string::npos) {
    if (usable(cmd) && realpath(cmd.c_str(), real)) return real;
  } else if (const char* path = std::getenv("PATH")) {
    std::string dirs = path;
    for (std::size_t at = 0; at <= dirs.size();) {
      std::size_t end = dirs.find(':', at);
      if (end == std::string::npos) end = dirs.size();
      std::string p = dirs.substr(at, end - at) + "/" + cmd;
      if (usable(p) && realpath(p.c_str(), real)) return real;
      at = end + 1;
    }
  }
  throw TracerError(fmt::format("{}: no such executable (give a path or a command on PATH)", cmd));
}

}  // namespace

int record(const RecordOptions& opt) {
  require_bpf_privileges("record");
  const bool launch = !opt.command.empty();
  std::string binary;
  std::string cmdline;
  pid_t pid = opt.pid;
  int go[2] = {-1, -1};
  if (launch) {
    binary = resolve(opt.command[0]);
    for (auto& a : opt.command) cmdline += (cmdline.empty() ? "" : " ") + a;
    // The child waits until the probe is attached, so the recording starts at its first event.
    if (pipe2(go, O_CLOEXEC) != 0) throw TracerError(fmt::format("pipe: {}", std::strerror(errno)));
    pid = fork();
    if (pid < 0) throw TracerError(fmt::format("fork: {}", std::strerror(errno)));
    if (pid == 0) {
      char c;
      ::close(go[1]);
      if (::read(go[0], &c, 1) != 1) _exit(127);
      std::vector<char*> argv;
      for (auto& a : opt.command) argv.push_back(const_cast<char*>(a.c_str()));
      argv.push_back(nullptr);
      execv(binary.c_str(), argv.data());
      fmt::print(stderr, "wqscope: cannot run {}: {}\n", binary, std::strerror(errno));
      _exit(127);
    }
    ::close(go[0]);
  } else {
    binary = probe_binary_of(pid);
    cmdline = fmt::format("pid {} ({})", pid, binary);
  }
  auto abandon_child = [&] {
    if (launch) {
      ::close(go[1]);  // the child sees EOF and exits without running the program
      waitpid(pid, nullptr, 0);
    }
  };

  std::unique_ptr<Recording> rec;
  Model model;
  std::unique_ptr<Tracer> tracer;
  try {
    rec = Recording::create(opt.output, {cmdline, pid, mono_ns()});
    model = Model(rec.get());
    tracer = std::make_unique<Tracer>(pid, binary, [&](std::span<const std::byte> bytes, std::uint64_t) {
      cmwq::for_each_record(bytes, [&](const cmwq::Record& r) {
        rec->add(r);
        model.apply(r);
      });
    });
  } catch (...) {
    abandon_child();
    throw;
  }

  struct sigaction sa {};
  sa.sa_handler = on_stop;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  if (launch && ::write(go[1], "x", 1) != 1) throw TracerError("cannot start the command");
  if (launch) ::close(go[1]);
  fmt::print(stderr, "wqscope: recording {} into {} (Ctrl-C to stop)\n", cmdline, opt.output);

  std::string reason;
  int status = 0;
  while (reason.empty()) {
    tracer->poll(100);
    rec->commit();
    if (launch) {
      if (waitpid(pid, &status, WNOHANG) == pid)
        reason = WIFEXITED(status) ? fmt::format("target exited with status {}", WEXITSTATUS(status))
                                   : fmt::format("target killed by signal {}", WTERMSIG(status));
    } else if (::kill(pid, 0) != 0 && errno == ESRCH) {
      reason = "target exited";
    }
    if (int sig = stop_signal.load()) {
      reason = sig == SIGINT ? "interrupted" : "terminated";
      if (launch) {  // the command was ours: let it end cleanly too
        ::kill(pid, sig);
        waitpid(pid, &status, 0);
      }
    }
  }
  tracer->drain();
  cmwq_bpf_stats st = tracer->stats();
  rec->finish(reason, mono_ns(), st.dropped_events, model);
  fmt::print(stderr, "wqscope: {}; {} events recorded, {} dropped by the ring buffer, {} missing in sequence\n",
             reason, model.records(), st.dropped_events, model.lost());
  if (st.dropped_events)
    fmt::print(stderr, "wqscope: warning: {} events were dropped: the reader fell behind\n", st.dropped_events);
  return 0;
}

}  // namespace wqscope
