// Where alerts go, for `watch` live and `replay` from a recording alike: the
// kernel's words on stdout (the lockup lines of all stuck pools, then the busy
// dump once, as the kernel prints them) or JSON lines, and a hook program.
#pragma once

#include "model.h"
#include "watchdog.h"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <sys/types.h>
#include <vector>

namespace wqscope {

struct AlertOutput {
  bool json = false;
  std::string exec;  // run without a shell, the alert as JSON on stdin (hook.h)
  std::int64_t exec_timeout_ns = 10'000'000'000;  // a hook still running then is killed
  /// --explain: lines printed after a lockup's dump (and its JSON's "explain"); set, it is the explainer.
  using Explain = std::function<std::vector<std::string>(const Model&, std::int64_t now)>;
  Explain explain;
};

class AlertHook;

class AlertPrinter {
 public:
  AlertPrinter(AlertOutput out, pid_t target);
  ~AlertPrinter();
  /// Prints what one check raised; a lockup comes with the busy dump of `model` as it is now.
  void print(const std::vector<Alert>& raised, const Model& model);
  std::uint64_t count() const { return count_; }

 private:
  AlertOutput out_;
  pid_t target_;
  std::uint64_t count_ = 0;
  std::unique_ptr<AlertHook> hook_;  // with --exec
};

}  // namespace wqscope
