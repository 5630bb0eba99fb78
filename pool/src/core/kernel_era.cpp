#include <cmwq/kernel_era.h>

#include <charconv>

namespace cmwq {

Kernel kernel_of_release(std::string_view release) {
  int major = 0, minor = 0;
  auto [end, ec] = std::from_chars(release.data(), release.data() + release.size(), major);
  if (ec == std::errc() && end != release.data() + release.size() && *end == '.')
    std::from_chars(end + 1, release.data() + release.size(), minor);
  auto at_least = [&](int ma, int mi) { return major > ma || (major == ma && minor >= mi); };
  return at_least(7, 0) ? Kernel::V7_0 : at_least(6, 9) ? Kernel::V6_9 : at_least(6, 5) ? Kernel::V6_5 : Kernel::Seeds;
}

report::Dialect dialect_of(Kernel kernel) {
  // The seeds' form; 6.9 moved max_active to the workqueue and joins in-flight entries " ,"; 7.0 adds " for Ns".
  report::Dialect d;
  d.max_active = kernel < Kernel::V6_9;
  d.comma_first = kernel >= Kernel::V6_9;
  d.for_s = kernel >= Kernel::V7_0;
  return d;
}

}  // namespace cmwq
