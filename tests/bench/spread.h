// A benchmark figure over rounds: median (min-max), as every table of the benchmark report gives it.
#pragma once

#include <fmt/format.h>

#include <algorithm>
#include <string>
#include <vector>

namespace bench {

struct Stat {
  double median, lo, hi;
};

inline Stat stat(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return {v[v.size() / 2], v.front(), v.back()};
}

/// "1.23 (0.98-1.50)" with `spec` the format of each number (".2f").
inline std::string fmt_stat(Stat s, const char* spec) {
  return fmt::format(fmt::runtime(std::string("{:") + spec + "} ({:" + spec + "}-{:" + spec + "})"), s.median, s.lo,
                     s.hi);
}

}  // namespace bench
