#include "alerts.h"

#include "hook.h"
#include "untrusted.h"

#include <cmwq/report.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>

namespace wqscope {

namespace {

nlohmann::json alert_json(const Alert& a, pid_t pid) {
  nlohmann::json j = {{"type", name(a.kind)}, {"message", a.message}, {"stuck_ms", a.stuck_ns / 1'000'000},
                      {"pending", a.pending}, {"time_ns", a.time_ns}, {"pid", pid}};
  if (a.pool >= 0) j["pool"] = a.pool;
  if (!a.identity.empty()) j["pool_identity"] = a.identity.substr(1);
  if (a.kind == AlertKind::CpuHog) j["function"] = a.wq;
  else if (!a.wq.empty()) j["workqueue"] = a.wq;
  return j;
}

}  // namespace

AlertPrinter::AlertPrinter(AlertOutput out, pid_t target) : out_(std::move(out)), target_(target) {
  if (!out_.exec.empty()) hook_ = std::make_unique<AlertHook>(out_.exec, out_.exec_timeout_ns);
}

AlertPrinter::~AlertPrinter() = default;

void AlertPrinter::print(const std::vector<Alert>& raised, const Model& model) {
  bool lockup = std::any_of(raised.begin(), raised.end(), [](const Alert& a) { return a.kind == AlertKind::Lockup; });
  std::vector<std::string> dump;
  std::int64_t now = model.last_ts();
  for (const Alert& a : raised) now = std::max(now, a.time_ns);
  if (lockup) dump = cmwq::report::show_busy(model.busy(now));
  std::vector<std::string> why;
  if (lockup && out_.explain) why = out_.explain(model, now);
  for (const Alert& a : raised) {
    ++count_;
    nlohmann::json j = alert_json(a, target_);
    if (a.kind == AlertKind::Lockup) j["dump"] = dump;
    if (a.kind == AlertKind::Lockup && out_.explain) j["explain"] = why;
    std::string line = json_text(j) + "\n";
    if (out_.json) fmt::print("{}", line);
    else fmt::print("{}\n", a.message);
    if (hook_) hook_->submit(std::move(line));
  }
  if (!out_.json) {
    for (auto& line : dump) fmt::print("{}\n", line);
    for (auto& line : why) fmt::print("{}\n", line);
  }
  std::fflush(stdout);
}

}  // namespace wqscope
