#include "session.h"

#include "invoking_user.h"
#include "kernel_tracer.h"

#include <fmt/format.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <grp.h>
#include <optional>
#include <poll.h>
#include <pwd.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace wqscope {

namespace {

std::atomic<int> stop_signal{0};
extern "C" void on_stop(int sig) { stop_signal = sig; }

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

std::string how_it_ended(int status) {
  if (WIFEXITED(status)) return fmt::format("exited with status {}", WEXITSTATUS(status));
  const char* name = sigabbrev_np(WTERMSIG(status));
  return fmt::format("killed by signal {} (SIG{})", WTERMSIG(status), name ? name : "?");
}

}  // namespace

std::int64_t mono_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

Session::Session(const Target& t)
    : launch_(!t.command.empty()),
      kernel_(t.kernel),
      raw_kernel_pointers_(t.raw_kernel_pointers),
      stop_at_eof_(t.stop_at_eof),
      pid_(t.pid),
      ring_buffer_bytes_(t.ring_buffer_bytes) {
  // From the start: a Ctrl-C while the BPF program loads must still end the session cleanly
  // (and a shell may have started us with SIGINT ignored).
  struct sigaction sa {};
  sa.sa_handler = on_stop;
  sigaction(SIGINT, &sa, nullptr);
  sigaction(SIGTERM, &sa, nullptr);
  require_bpf_privileges();
  require_kernel_btf();
  if (kernel_) description_ = "the kernel's workqueues";
  if (kernel_ && t.lossless) throw TracerError("--lossless applies to a process's pool: the kernel cannot wait for us");
  if (kernel_ && !launch_) return;
  if (!launch_) {
    mapped_ = probe_binary_of(pid_);
    if (t.lossless) handover_ = std::make_unique<Handover>(mapped_.fd());
    description_ = fmt::format("pid {} ({})", pid_, mapped_.shown());
    // kill(pid, 0) keeps succeeding on a zombie whose parent does not reap it: a pidfd does not.
    pidfd_ = static_cast<int>(syscall(SYS_pidfd_open, pid_, 0));
    return;
  }
  binary_ = resolve(t.command[0]);
  if (t.lossless && !kernel_) {
    int fd = ::open(binary_.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) throw TracerError(fmt::format("{}: {}", binary_, std::strerror(errno)));
    try {
      handover_ = std::make_unique<Handover>(fd);
    } catch (...) {
      ::close(fd);
      throw;
    }
    ::close(fd);
  }
  std::string command;
  for (auto& a : t.command) command += (command.empty() ? "" : " ") + a;
  description_ = kernel_ ? fmt::format("{} during '{}'", description_, command) : command;
  // Started for a user through sudo or pkexec (a polkit rule or a sudoers line that allows `wqscope
  // record`), the command runs as that user: the rule grants tracing, not a root shell.
  std::optional<InvokingUser> as = invoking_user();
  std::string as_name;
  if (as) {
    const passwd* pw = ::getpwuid(as->uid);
    if (!pw) throw TracerError(fmt::format("uid {} (who asked for this run) has no passwd entry", as->uid));
    as_name = pw->pw_name;
  }
  int go[2];
  if (pipe2(go, O_CLOEXEC) != 0) throw TracerError(fmt::format("pipe: {}", std::strerror(errno)));
  pid_t parent = getpid();
  pid_ = fork();
  if (pid_ < 0) throw TracerError(fmt::format("fork: {}", std::strerror(errno)));
  if (pid_ == 0) {  // wait until the probe is attached, so that tracing starts at the first event
    // A command we started is not left running untraced if wqscope itself is killed (SIGKILL, OOM).
    prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (getppid() != parent) _exit(127);
    char c;
    ::close(go[1]);
    if (::read(go[0], &c, 1) != 1) _exit(127);
    if (as && (::initgroups(as_name.c_str(), as->gid) != 0 || ::setgid(as->gid) != 0 || ::setuid(as->uid) != 0)) {
      fmt::print(stderr, "wqscope: cannot run {} as uid {}: {}\n", binary_, as->uid, std::strerror(errno));
      _exit(127);
    }
    if (as) prctl(PR_SET_PDEATHSIG, SIGTERM);  // a change of credentials cleared it
    if (stop_at_eof_) {  // stdin is ours to watch: the command reads none of it
      int null = ::open("/dev/null", O_RDONLY);
      if (null < 0 || ::dup2(null, 0) < 0) _exit(127);
    }
    std::vector<char*> argv;
    for (auto& a : t.command) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    execv(binary_.c_str(), argv.data());
    fmt::print(stderr, "wqscope: cannot run {}: {}\n", binary_, std::strerror(errno));
    _exit(127);
  }
  ::close(go[0]);
  go_ = go[1];
}

Session::~Session() {
  if (go_ >= 0) {  // never started: the held child sees EOF and exits without running the command
    ::close(go_);
    waitpid(pid_, nullptr, 0);
  }
  if (live_) let_command_finish();
  if (pidfd_ >= 0) ::close(pidfd_);
}

void Session::let_command_finish() {
  // The session ended on a failure of wqscope's own (the disk is full, say): the command is not to
  // blame and is not signalled. Untraced from here (the probe is detached: its hits cost a nop), it
  // runs to its end while wqscope waits, as its parent must (it dies with us: PR_SET_PDEATHSIG).
  // Ctrl-C or SIGTERM to wqscope still reach it, as during the session: the user's choice.
  tracer_.reset();
  fmt::print(stderr, "wqscope: tracing stopped on an error (said below); the command it started (pid {}) runs on "
                     "untraced: waiting for it to exit (Ctrl-C stops it)\n",
             pid_);
  int status = 0;
  bool forwarded = false;
  pid_t r;
  while ((r = waitpid(pid_, &status, WNOHANG)) == 0) {
    if (int sig = stop_signal.load(); sig && !forwarded) {
      ::kill(pid_, sig);
      forwarded = true;
    }
    ::usleep(20'000);
  }
  live_ = false;
  if (r == pid_) fmt::print(stderr, "wqscope: the command it started (pid {}) {}\n", pid_, how_it_ended(status));
}

bool Session::stdin_ended() {
  pollfd p{0, POLLIN, 0};
  char buf[256];
  while (::poll(&p, 1, 0) > 0) {
    ssize_t n = ::read(0, buf, sizeof buf);
    if (n == 0 || (n < 0 && errno != EINTR && errno != EAGAIN)) return true;
    if (n < 0) return false;
  }
  return p.revents & (POLLHUP | POLLERR | POLLNVAL);
}

bool Session::target_gone() {
  if (pidfd_ >= 0) {
    pollfd p{pidfd_, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }
  return ::kill(pid_, 0) != 0 && errno == ESRCH;
}

void Session::attach(Tracer::BatchFn fn, Tracer::SchedFn sched) {
  if (kernel_) {
    tracer_ = std::make_unique<KernelTracer>(std::move(fn), ring_buffer_bytes_, raw_kernel_pointers_);
  } else {
    auto tracer = std::make_unique<Tracer>(pid_, launch_ ? binary_ : mapped_.attach_path(), std::move(fn),
                                           std::move(sched), ring_buffer_bytes_);
    if (handover_) tracer->on_read([h = handover_.get()](std::uint64_t pos) { h->read_to(pos); });
    tracer_ = std::move(tracer);
  }
  if (handover_ && !launch_ && !handover_->start(pid_, room()))
    throw TracerError(fmt::format("--lossless: process {} maps the data of {} nowhere writable", pid_, mapped_.shown()));
  if (handover_ && launch_) return;  // start_handover() drops them, once the command has exec'd
  drop_capabilities();
}

void Session::attach(std::unique_ptr<EventSource> source) {
  tracer_ = std::move(source);
  drop_capabilities();
}

std::uint64_t Session::room() const {
  // One record's slack: libbpf frees a record's space only after our callback has reported it read.
  return ring_buffer_bytes_ - kRingRecordBytes;
}

void Session::start_handover() {
  // The command maps its executable during its exec, before any of its code runs; a command that
  // never does (it failed, or exec'd something without libcmwq) runs without --lossless.
  constexpr auto kExecWait = std::chrono::seconds(2);
  auto until = std::chrono::steady_clock::now() + kExecWait;
  bool started = false;
  while (!(started = handover_->start(pid_, room())) && std::chrono::steady_clock::now() < until &&
         !(::kill(pid_, 0) != 0 && errno == ESRCH))
    ::usleep(100);
  drop_capabilities();
  if (!started)
    fmt::print(stderr, "wqscope: warning: --lossless: {} did not map {} writable within {} s: it is traced without "
                       "waiting for wqscope (batches may be dropped, and counted)\n",
               pid_, binary_, kExecWait.count());
}

bool drop_thread_capabilities() {
  // capset changes the calling thread only: every thread calls this for itself.
  __user_cap_header_struct hdr{_LINUX_CAPABILITY_VERSION_3, 0};
  __user_cap_data_struct none[2] = {};
  bool ok = syscall(SYS_capset, &hdr, none) == 0;
  prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
  return ok;
}

void Session::drop_capabilities() {
  // Attached: the programs, maps and ring buffer are open file descriptors now, and the recording's
  // files exist. Reading and writing them needs no capability; whatever the collector parses from
  // here on runs with none (and a held command, forked earlier, keeps its own). The metrics' web
  // server threads, started earlier, dropped theirs when they started. Files this thread still touches
  // by name (SQLite unlinks the recording's -wal and -shm when it closes it) it touches as the user who
  // asked for the run, if there is one: switching needs the capabilities dropped next.
  become_invoking_user_for_files();
  if (!drop_thread_capabilities())
    fmt::print(stderr, "wqscope: warning: cannot drop capabilities: {}\n", std::strerror(errno));
}

void Session::drain() {
  tracer_->drain();
  behind_ = false;
}

std::string Session::run(const std::function<int(std::int64_t now)>& tick) {
  if (go_ >= 0) {
    if (::write(go_, "x", 1) != 1) throw TracerError("cannot start the command");
    ::close(go_);
    go_ = -1;
    live_ = true;
    if (handover_) start_handover();
  }
  int status = 0;
  int wait_ms = 50;
  for (;;) {
    behind_ = !tracer_->poll(wait_ms);
    wait_ms = tick(mono_ns());
    if (launch_) {
      if (waitpid(pid_, &status, WNOHANG) == pid_) {
        live_ = false;
        drain();
        tick(mono_ns());
        return "target " + how_it_ended(status);
      }
    } else if (!kernel_ && target_gone()) {
      drain();
      tick(mono_ns());
      return "target exited";
    }
    if (stop_at_eof_ && stdin_ended()) stop_signal.store(SIGINT);  // as Ctrl-C: the GUI's stop
    int sig = stop_signal.load();
    if (sig || stopped_) {
      if (launch_) {  // the command is ours: it ends with the session
        ::kill(pid_, sig ? sig : SIGTERM);
        waitpid(pid_, &status, 0);
        live_ = false;
      }
      drain();
      if (!stopped_) tick(mono_ns());
      return sig == SIGINT ? "interrupted" : sig ? "terminated" : "done";
    }
  }
}

}  // namespace wqscope
