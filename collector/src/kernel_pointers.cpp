#include "kernel_pointers.h"

#include <fmt/format.h>

#include <sys/random.h>

#include <bit>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace wqscope {

KernelPointers::KernelPointers(bool raw) : raw_(raw) {
  if (raw) return;
  if (getrandom(key_.data(), sizeof key_, 0) != static_cast<ssize_t>(sizeof key_))
    throw std::runtime_error(fmt::format("cannot make a key to hash kernel addresses with: {}", std::strerror(errno)));
}

std::uint64_t KernelPointers::hide(std::uint64_t addr) const {
  if (raw_ || !addr) return addr;
  // SipHash-2-4 of one 8-byte message (Aumasson and Bernstein), as the kernel's siphash_1u64().
  std::uint64_t v0 = 0x736f6d6570736575ULL ^ key_[0], v1 = 0x646f72616e646f6dULL ^ key_[1];
  std::uint64_t v2 = 0x6c7967656e657261ULL ^ key_[0], v3 = 0x7465646279746573ULL ^ key_[1];
  auto round = [&] {
    v0 += v1, v1 = std::rotl(v1, 13), v1 ^= v0, v0 = std::rotl(v0, 32);
    v2 += v3, v3 = std::rotl(v3, 16), v3 ^= v2;
    v0 += v3, v3 = std::rotl(v3, 21), v3 ^= v0;
    v2 += v1, v1 = std::rotl(v1, 17), v1 ^= v2, v2 = std::rotl(v2, 32);
  };
  auto block = [&](std::uint64_t m) {
    v3 ^= m;
    round();
    round();
    v0 ^= m;
  };
  block(addr);
  block(std::uint64_t{8} << 56);  // the length in the last block's top byte
  v2 ^= 0xff;
  for (int i = 0; i < 4; ++i) round();
  std::uint64_t h = (v0 ^ v1 ^ v2 ^ v3) & ((std::uint64_t{1} << 48) - 1);
  return h ? h : 1;  // 0 means "no item" in the records
}

}  // namespace wqscope
