#include "alerts.h"

#include <cmwq/report.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <csignal>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace wqscope {

namespace {

/// Runs `prog` without a shell, with a minimal environment, the alert on its stdin.
pid_t run_hook(const std::string& prog, const std::string& json) {
  int in[2];
  if (pipe2(in, O_CLOEXEC) != 0) return -1;
  pid_t pid = fork();
  if (pid == 0) {
    dup2(in[0], STDIN_FILENO);
    signal(SIGPIPE, SIG_DFL);  // the metrics' web server ignores it, and execve would pass that on
    char* argv[] = {const_cast<char*>(prog.c_str()), nullptr};
    char* envp[] = {const_cast<char*>("PATH=/usr/sbin:/usr/bin:/sbin:/bin"), nullptr};
    execve(prog.c_str(), argv, envp);
    _exit(127);
  }
  ::close(in[0]);
  if (pid > 0 && ::write(in[1], json.data(), json.size()) < 0) {
  }
  ::close(in[1]);
  return pid;
}

nlohmann::json alert_json(const Alert& a, pid_t pid) {
  nlohmann::json j = {{"type", a.kind},     {"message", a.message}, {"stuck_ms", a.stuck_ns / 1'000'000},
                      {"pending", a.pending}, {"time_ns", a.time_ns}, {"pid", pid}};
  if (a.pool >= 0) j["pool"] = a.pool;
  if (!a.identity.empty()) j["pool_identity"] = a.identity.substr(1);
  if (a.kind == "cpu_hog") j["function"] = a.wq;
  else if (!a.wq.empty()) j["workqueue"] = a.wq;
  return j;
}

}  // namespace

AlertPrinter::~AlertPrinter() {
  for (pid_t h : hooks_) waitpid(h, nullptr, 0);
}

void AlertPrinter::print(const std::vector<Alert>& raised, const Model& model) {
  bool lockup = std::any_of(raised.begin(), raised.end(), [](const Alert& a) { return a.kind == "lockup"; });
  std::vector<std::string> dump;
  std::int64_t now = model.last_ts();
  for (const Alert& a : raised) now = std::max(now, a.time_ns);
  if (lockup) dump = cmwq::report::show_busy(model.busy(now));
  std::vector<std::string> why;
  if (lockup && out_.explain) why = out_.explain(model, now);
  for (const Alert& a : raised) {
    ++count_;
    nlohmann::json j = alert_json(a, target_);
    if (a.kind == "lockup") j["dump"] = dump;
    if (a.kind == "lockup" && out_.explain) j["explain"] = why;
    // Names come from the target or a log: bytes that are not UTF-8 are replaced, not thrown.
    std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (out_.json) fmt::print("{}\n", line);
    else fmt::print("{}\n", a.message);
    if (!out_.exec.empty())
      if (pid_t h = run_hook(out_.exec, line + "\n"); h > 0) hooks_.push_back(h);
  }
  if (!out_.json) {
    for (auto& line : dump) fmt::print("{}\n", line);
    for (auto& line : why) fmt::print("{}\n", line);
  }
  std::fflush(stdout);
  // Reap finished hooks (only ours: a traced command is the session's to reap).
  std::erase_if(hooks_, [](pid_t h) { return waitpid(h, nullptr, WNOHANG) == h; });
}

}  // namespace wqscope
