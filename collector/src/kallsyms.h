// The kernel's symbols (/proc/kallsyms): work functions by address, as %ps prints them.
#pragma once

#include <fmt/format.h>

#include <cstdint>
#include <string>
#include <unordered_map>

namespace wqscope {

class KernelSymbols {
 public:
  KernelSymbols() = default;
  /// Reads the text symbols of `path` (root sees their addresses; others see zeros and get
  /// TracerError saying so). Module symbols loaded later are not in it.
  static KernelSymbols load(const std::string& path = "/proc/kallsyms");
  /// The address of the symbol `name` in `path` (root sees it); TracerError if it is not there.
  static std::uint64_t address(const std::string& name, const std::string& path = "/proc/kallsyms");
  void add(std::uint64_t addr, std::string name) { names_.emplace(addr, std::move(name)); }
  /// The function at `addr`, or null when unknown (a module loaded later, a BPF program).
  const std::string* find(std::uint64_t addr) const {
    auto it = names_.find(addr);
    return it != names_.end() ? &it->second : nullptr;
  }
  std::size_t size() const { return names_.size(); }

 private:
  std::unordered_map<std::uint64_t, std::string> names_;
};

}  // namespace wqscope
