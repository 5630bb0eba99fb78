// One tracing session: the target (a command started here, held until the probe
// is attached, or a running pid), the tracer attached to it, and the poll loop
// that ends on the target's exit, Ctrl-C or SIGTERM. `record` and `watch` are
// what they do with the records.
#pragma once

#include "handover.h"
#include "probe_binary.h"
#include "target.h"
#include "tracer.h"

#include <functional>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

namespace wqscope {

std::int64_t mono_ns();

/// The calling thread keeps no capability and can gain none (no_new_privs); false if capset failed.
bool drop_thread_capabilities();

class Session {
 public:
  /// Checks privileges and the target; a command is forked and held before exec.
  explicit Session(const Target&);
  /// A command still running (the session ended on an error of wqscope's) is waited for, never
  /// signalled: it runs to its end untraced.
  ~Session();
  /// The traced process; 0 in kernel mode.
  pid_t pid() const { return kernel_ ? 0 : pid_; }
  const std::string& description() const { return description_; }

  /// Attaches the tracer; the pool's records go to `fn`, the kernel's off/on-CPU records to `sched`
  /// (in kernel mode all go to `fn`, in order).
  void attach(Tracer::BatchFn fn, Tracer::SchedFn sched = [](const cmwq_ev_state&) {});
  /// Attaches a source the caller made (kernel mode's counters, KernelCounters): run() polls it.
  void attach(std::unique_ptr<EventSource> source);
  /// Lets the command run, then polls until the session ends. `tick(now)` runs after every poll
  /// and returns how long the next poll may wait (ms). Returns why the session ended.
  std::string run(const std::function<int(std::int64_t now)>& tick);
  /// Ends run() after the current tick, as a signal would.
  void stop() { stopped_ = true; }
  /// Whether the last poll left records unread: what a tick judges at `now` may be among them.
  bool behind() const { return behind_; }
  cmwq_bpf_stats stats() const { return tracer_->stats(); }
  std::string left_out() const { return tracer_->left_out(); }

 private:
  bool target_gone();
  /// Reads everything left in the ring buffer (the session ends).
  void drain();
  /// Whether stdin has reached its end (what came before it is read and ignored).
  bool stdin_ended();
  void let_command_finish();
  void drop_capabilities();
  /// --lossless for a command started here: once it has exec'd, its block is written (needs the
  /// privileges dropped after). Warns if it never showed up.
  void start_handover();
  /// How far the target may run ahead of what we have read (--lossless).
  std::uint64_t room() const;

  bool launch_;
  bool kernel_;
  bool raw_kernel_pointers_;
  bool stop_at_eof_;  // stdin is watched: its end stops the session
  pid_t pid_;
  std::uint32_t ring_buffer_bytes_;
  int go_ = -1;        // write end of the pipe that holds the child
  bool live_ = false;
  bool stopped_ = false;  // the command runs and is not reaped yet
  bool behind_ = false;   // the last poll's budget ran out with records unread
  int pidfd_ = -1;     // -p: readable once the process has exited, reaped or not
  std::string binary_, description_;  // binary_: the command's, resolved (a command started here)
  ProbeBinary mapped_;                 // -p: the file the process maps that has the probe
  std::unique_ptr<EventSource> tracer_;
  std::unique_ptr<Handover> handover_;  // --lossless; after tracer_: the target stops waiting first
};

}  // namespace wqscope
