// The kinds of alert, with their one name table: the names are what JSON alerts say ("type"), what
// the recording's alerts table stores and what metrics label (kind); nothing compares the strings.
#pragma once

#include <iterator>
#include <optional>
#include <string_view>

namespace wqscope {

enum class AlertKind {
  Lockup,       // a pool's worklist makes no progress (the kernel's workqueue lockup)
  Stall,        // a workqueue's items held back by max_active behind work that never ends
  CpuHog,       // a function marked CPU-intensive again (the kernel's "hogged CPU")
  MaydayStorm,  // a pool keeps calling the rescuers: worker creation keeps failing
  HiddenBlock,  // a worker blocked in an item without telling the pool, which counts it as running
  Backtrace,    // an imported kernel report's task dump: its state, Workqueue: line and stack
  QueueStorm,   // a function queued more than N times in a second (the kernel's workqueues)
};

struct AlertKindInfo {
  AlertKind kind;
  std::string_view name;
  bool stuck;  // a state, reported until it makes progress (a stall), not an event
};

inline constexpr AlertKindInfo kAlertKinds[] = {
    {AlertKind::Lockup, "lockup", true},
    {AlertKind::Stall, "stall", true},
    {AlertKind::CpuHog, "cpu_hog", false},
    {AlertKind::MaydayStorm, "mayday_storm", false},
    {AlertKind::HiddenBlock, "hidden_block", true},
    {AlertKind::Backtrace, "backtrace", false},
    {AlertKind::QueueStorm, "queue_storm", false},
};

constexpr const AlertKindInfo& info(AlertKind k) {
  for (const AlertKindInfo& i : kAlertKinds)
    if (i.kind == k) return i;
  return kAlertKinds[0];  // unreachable: every kind has a row (checked below)
}
constexpr std::string_view name(AlertKind k) { return info(k).name; }
constexpr bool is_stuck(AlertKind k) { return info(k).stuck; }

/// The kind a name stands for (a recording's alerts table); nullopt for one this version does not know.
constexpr std::optional<AlertKind> alert_kind(std::string_view name) {
  for (const AlertKindInfo& i : kAlertKinds)
    if (i.name == name) return i.kind;
  return std::nullopt;
}

static_assert(static_cast<int>(AlertKind::QueueStorm) + 1 == std::size(kAlertKinds), "a row for every kind");
static_assert([] {
  for (int k = 0; k < static_cast<int>(std::size(kAlertKinds)); ++k)
    if (static_cast<int>(kAlertKinds[k].kind) != k) return false;
  return true;
}(), "rows in the enum's order");

}  // namespace wqscope
