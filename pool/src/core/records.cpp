#include <cmwq/records.h>

#include <fmt/format.h>

#include <cstring>

namespace cmwq {

std::size_t check_any_record(std::span<const std::byte> bytes, std::size_t off) {
  if (bytes.size() - off < sizeof(cmwq_event_header))
    throw RecordError(fmt::format("event stream: record at byte {} is truncated ({} bytes left, a header needs {})", off,
                                  bytes.size() - off, sizeof(cmwq_event_header)));
  cmwq_event_header h;
  std::memcpy(&h, bytes.data() + off, sizeof h);
  if (h.size < sizeof h || h.size > bytes.size() - off)
    throw RecordError(fmt::format("event stream: record at byte {} claims {} bytes ({} left)", off, h.size,
                                  bytes.size() - off));
  if (off % alignof(cmwq_event_header) != 0)
    throw RecordError(fmt::format("event stream: record at byte {} is misaligned", off));
  std::size_t want = h.kind == CMWQ_EV_NAME ? sizeof(cmwq_ev_name)
                     : h.kind == CMWQ_EV_HELLO ? sizeof(cmwq_ev_hello)
                                               : sizeof(cmwq_ev_state);
  if (h.kind == 0 || h.kind >= CMWQ_EV_KIND_END)
    throw RecordError(fmt::format("event stream: record at byte {} has unknown kind {} (this reader knows 1-{})", off,
                                  h.kind, CMWQ_EV_KIND_END - 1));
  if (h.size != want)
    throw RecordError(fmt::format("event stream: record at byte {} of kind {} has {} bytes, expected {}", off, h.kind,
                                  h.size, want));
  if (h.kind == CMWQ_EV_HELLO) {
    cmwq_ev_hello hello;
    std::memcpy(&hello, bytes.data() + off, sizeof hello);
    if (hello.version > CMWQ_EVENTS_VERSION)
      throw RecordError(fmt::format("event stream: schema version {} is newer than this reader's {}; update wqscope",
                                    hello.version, CMWQ_EVENTS_VERSION));
  }
  return h.size;
}

}  // namespace cmwq
