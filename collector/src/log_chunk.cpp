#include "log_chunk.h"

#include <algorithm>
#include <climits>
#include <cstring>

namespace wqscope {

void append_logged(std::vector<std::byte>& chunk, int stream, const cmwq::Record& r) {
  std::size_t at = chunk.size();
  chunk.resize(at + r.h->size);
  std::memcpy(chunk.data() + at, r.h, r.h->size);
  auto id = static_cast<std::uint32_t>(stream);
  std::memcpy(chunk.data() + at + offsetof(cmwq_event_header, pid), &id, sizeof id);
}

void for_each_logged(std::span<const std::uint8_t> chunk, const std::function<std::uint32_t(int stream)>& pid_of,
                     const std::function<void(int stream, const cmwq::Record&)>& fn) {
  std::vector<std::uint64_t> aligned((chunk.size() + 7) / 8);  // for_each_record reads records in place
  if (!chunk.empty()) std::memcpy(aligned.data(), chunk.data(), chunk.size());
  cmwq::for_each_record({reinterpret_cast<const std::byte*>(aligned.data()), chunk.size()},
                        [&](const cmwq::Record& logged) {
                          int stream = static_cast<int>(std::min<std::uint32_t>(logged.h->pid, INT_MAX));
                          union {
                            cmwq_event_header h;
                            cmwq_ev_state state;
                            cmwq_ev_name name;
                            cmwq_ev_hello hello;
                          } copy;
                          std::memcpy(&copy, logged.h, logged.h->size);
                          copy.h.pid = pid_of(stream);
                          fn(stream, cmwq::Record{&copy.h});
                        });
}

}  // namespace wqscope
