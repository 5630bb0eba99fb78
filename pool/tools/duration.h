// The one grammar of durations and instants, for every option of every program: wqscope,
// wqscope-gui, cmwq-demo and cmwq-sim (docs/collector.md, "Durations and instants"). Scenario
// files have their own (cmwq::sim::parse_duration: a unit always), which is a file format, not
// an option.
//   duration  NUMBER[UNIT]   UNIT one of ns, us, ms, s, m; no unit: seconds ("1.5" = 1.5 s)
//   instant   a duration     from the start of the recording
//             @NS            an absolute time on the target's CLOCK_MONOTONIC, in nanoseconds
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>

namespace cmwq::cli {

/// What an option accepts: more than 0 (or 0 too), up to `max_ns`.
struct DurationLimits {
  bool zero_ok = false;
  std::int64_t max_ns = 10'000'000'000'000;  // 10000 s: a typo's order of magnitude, not a threshold
};

/// `text` as nanoseconds; throws std::invalid_argument naming `option`, what was given and what
/// is accepted.
std::int64_t parse_duration(std::string_view text, std::string_view option, DurationLimits = {});

/// `text` as an absolute time: "@NS", or a duration (0 included) after `origin_ns`.
std::int64_t parse_instant(std::string_view text, std::string_view option, std::int64_t origin_ns);

/// "30s", "500ms", "1.5s": how parse_duration's input would say `ns` (for messages).
std::string format_duration(std::int64_t ns);

}  // namespace cmwq::cli
