#include "kallsyms.h"

#include "tracer.h"

#include <fmt/format.h>

#include <fstream>
#include <sstream>

namespace wqscope {

KernelSymbols KernelSymbols::load(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw TracerError(fmt::format("cannot read {}: kernel mode names work functions from it", path));
  KernelSymbols syms;
  std::string line, addr, type, name;
  while (std::getline(in, line)) {
    std::istringstream fields(line);  // "ffffffff81234560 T name [module]"
    if (!(fields >> addr >> type >> name) || (type != "t" && type != "T")) continue;
    std::uint64_t a = std::strtoull(addr.c_str(), nullptr, 16);
    if (a) syms.add(a, name);  // the first name of an address: aliases come later
  }
  if (!syms.size())
    throw TracerError(fmt::format("{} lists no addresses (kernel.kptr_restrict hides them from this user): run "
                                  "wqscope as root",
                                  path));
  return syms;
}

std::uint64_t KernelSymbols::address(const std::string& name, const std::string& path) {
  std::ifstream in(path);
  std::string line, addr, type, sym;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    if (fields >> addr >> type >> sym && sym == name) {
      if (std::uint64_t a = std::strtoull(addr.c_str(), nullptr, 16)) return a;
      throw TracerError(fmt::format("{} hides the address of {} (kernel.kptr_restrict): run wqscope as root", path, name));
    }
  }
  throw TracerError(fmt::format("{} does not list {}", path, name));
}

}  // namespace wqscope
