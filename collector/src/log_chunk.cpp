#include "log_chunk.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cstring>

namespace wqscope {

namespace {

/// Any record, with room to change its header.
union AnyRecord {
  cmwq_event_header h;
  cmwq_ev_state state;
  cmwq_ev_name name;
  cmwq_ev_hello hello;
};

}  // namespace

bool LogChunk::append(int stream, const cmwq::Record& r) {
  AnyRecord copy;
  std::memcpy(&copy, r.h, r.h->size);
  copy.h.pid = static_cast<std::uint32_t>(stream);
  return packer_.add({reinterpret_cast<const std::byte*>(&copy), r.h->size}) != 0;
}

void for_each_logged(std::span<const std::uint8_t> chunk, const std::function<std::uint32_t(int stream)>& pid_of,
                     const std::function<void(int stream, const cmwq::Record&)>& fn) {
  std::span<const std::byte> bytes = std::as_bytes(chunk);
  std::vector<std::byte> unpacked;
  bool whole = true;
  if (cmwq::is_packed(bytes)) {
    if (bytes.size() > LogChunk::kMaxReadBytes)
      throw cmwq::RecordError(fmt::format("a packed chunk of {} bytes, larger than any wqscope writes", bytes.size()));
    whole = cmwq::unpack(bytes, unpacked);
  } else {  // format 3; for_each_record reads records in place, aligned
    unpacked.assign(bytes.begin(), bytes.end());
  }
  cmwq::for_each_record(unpacked, [&](const cmwq::Record& logged) {
    int stream = static_cast<int>(std::min<std::uint32_t>(logged.h->pid, INT_MAX));
    AnyRecord copy;
    std::memcpy(&copy, logged.h, logged.h->size);
    copy.h.pid = pid_of(stream);
    fn(stream, cmwq::Record{&copy.h});
  });
  if (!whole) throw cmwq::RecordError("its packed records are cut short or damaged");
}

}  // namespace wqscope
