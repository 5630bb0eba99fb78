// Text -> the scenario parser. Bad input must end in cmwq::Error naming the line, nothing else.
// Scenarios small enough to finish quickly are also run (with their events recorded), so that
// odd but valid scripts exercise the core; the simulator has no step cap, so "small" is judged
// from the script: a bounded virtual time, few items, and no requeueing at no cost.
#include <cmwq/sim.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <sstream>
#include <string>

namespace {

bool small_enough(const cmwq::sim::Scenario& sc) {
  using cmwq::kMsec;
  using cmwq::kSec;
  const auto& c = sc.config;
  if (sc.until <= 0 || sc.until > kSec / 2 || sc.items.size() > 16 || sc.actions.size() > 32 || c.possible_cpus > 8)
    return false;
  // Periodic work of the core and the simulator must not tick at nanosecond intervals.
  if ((c.watchdog_thresh != 0 && c.watchdog_thresh < kMsec) || c.cpu_intensive_thresh < kMsec) return false;
  // Items that queue others must cost time, or two of them could requeue each other forever at one
  // instant; then every run is paid for by an action or by virtual time, and `until` bounds both.
  for (auto& item : sc.items) {
    cmwq::Time cost = 0;
    bool queues = false;
    for (auto& op : item.ops) {
      cost = std::min(cost + op.duration, kSec);  // durations reach 1e18: no overflow
      queues |= op.kind == cmwq::sim::Op::Queue;
    }
    if (queues && cost < kMsec) return false;
  }
  return true;
}

// `count=N` may expand one line into 10 million items, gigabytes by design: not a finding.
bool huge_count(const std::string& text) {
  for (auto at = text.find("count="); at != std::string::npos; at = text.find("count=", at + 1)) {
    const char* p = text.c_str() + at + 6;
    if (std::strtoll(p, nullptr, 0) > 100'000) return true;  // as the parser reads it (stol, base 0)
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  if (huge_count(text)) return 0;
  std::istringstream in(text);
  cmwq::sim::Scenario sc;
  try {
    sc = cmwq::sim::parse_scenario(in, "fuzz.scn");
  } catch (const cmwq::Error&) {
    return 0;
  }
  if (!small_enough(sc)) return 0;
  try {
    cmwq::sim::Result r = cmwq::sim::run(sc, true);
    (void)cmwq::sim::format_timeline(r);
  } catch (const cmwq::Error&) {
    // What the core refuses at run time (offline CPU -1, ...): cmwq-sim reports it and exits 2.
  }
  return 0;
}
