// Kernel addresses as a recording stores them: hashed with a key of its own, as the kernel's %p prints
// pointers. A recording is given to the sudo user or a --group; raw work_struct and text addresses
// in it would tell them where the kernel is (KASLR) whatever kernel.kptr_restrict says.
#pragma once

#include <array>
#include <cstdint>

namespace wqscope {

class KernelPointers {
 public:
  /// A fresh random key (getrandom): the same address hashes alike within one recording only.
  /// `raw`: addresses as they are, for a recording only root can read.
  explicit KernelPointers(bool raw = false);
  /// `key`: for tests.
  explicit KernelPointers(const std::array<std::uint64_t, 2>& key) : key_(key) {}
  /// SipHash-2-4 of `addr` under the key, cut to 48 bits: nothing hashed looks like a kernel address
  /// (those start 0xffff), and distinct items stay distinct (a clash is one in 2^48 per pair). 0 stays 0.
  std::uint64_t hide(std::uint64_t addr) const;

 private:
  std::array<std::uint64_t, 2> key_{};
  bool raw_ = false;
};

}  // namespace wqscope
