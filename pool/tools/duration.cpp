#include "duration.h"

#include <fmt/format.h>

#include <charconv>
#include <cmath>
#include <string>

namespace cmwq::cli {

namespace {

struct Unit {
  std::string_view name;
  double ns;
};
// Longest suffix first: "ms" before "s", "ns" and "us" too.
constexpr Unit kUnits[] = {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}};

}  // namespace

std::string format_duration(std::int64_t ns) {
  if (ns % 1'000'000'000 == 0) return fmt::format("{}s", ns / 1'000'000'000);
  if (ns % 1'000'000 == 0) return fmt::format("{}ms", ns / 1'000'000);
  if (ns % 1'000 == 0) return fmt::format("{}us", ns / 1'000);
  return fmt::format("{}ns", ns);
}

std::int64_t parse_duration(std::string_view text, std::string_view option, DurationLimits limits) {
  auto bad = [&] {
    return std::invalid_argument(fmt::format("{} '{}' is not a duration like 30s or 500ms (also 250us, 2m; a bare "
                                             "number is seconds: 1.5 = 1.5s) from {} to {}",
                                             option, text, limits.zero_ok ? "0" : "more than 0",
                                             format_duration(limits.max_ns)));
  };
  double scale = 1e9;  // no unit: seconds
  std::string_view number = text;
  for (const Unit& u : kUnits)
    if (text.ends_with(u.name)) {
      number.remove_suffix(u.name.size());
      scale = u.ns;
      break;
    }
  double v = 0;
  // from_chars: no locale, no leading whitespace or '+', no "inf"/"nan" spelled out as numbers.
  auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), v, std::chars_format::fixed);
  if (number.empty() || ec != std::errc() || end != number.data() + number.size() || !std::isfinite(v)) throw bad();
  double ns = v * scale;
  if (ns < 0 || (ns == 0 && !limits.zero_ok) || ns > static_cast<double>(limits.max_ns)) throw bad();
  auto out = static_cast<std::int64_t>(std::llround(ns));
  if (out == 0 && !limits.zero_ok) throw bad();  // 0.1ns
  return out;
}

std::int64_t parse_instant(std::string_view text, std::string_view option, std::int64_t origin_ns) {
  if (text.starts_with('@')) {
    std::int64_t ns = -1;
    auto digits = text.substr(1);
    auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), ns);
    if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() || ns < 0)
      throw std::invalid_argument(fmt::format("{} '{}' is not an instant: @NS is nanoseconds on the target's "
                                              "CLOCK_MONOTONIC, e.g. @123456789000",
                                              option, text));
    return ns;
  }
  try {
    return origin_ns + parse_duration(text, option, {.zero_ok = true, .max_ns = 10'000'000'000'000'000});
  } catch (const std::invalid_argument&) {
    throw std::invalid_argument(fmt::format("{} '{}' is not an instant: give a time from the start of the recording "
                                            "(12.5, 12.5s, 800ms) or @NS on the target's CLOCK_MONOTONIC",
                                            option, text));
  }
}

}  // namespace cmwq::cli
