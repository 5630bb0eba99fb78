// Bytes -> the ingest pipeline, as a probe hit of the target would come: whatever it gets (garbage,
// workers never created, ends without starts, barriers for nothing, negative pools, timestamps near
// the int64 edge), it counts and skips what does not decode, never throws, and the model it leaves
// answers its queries and round-trips its snapshot. The same bytes through the transport's packed
// form (cmwq/packed.h) come back as they were, and a packed batch of them ingests as they do.
#include "ingest.h"

#include <cmwq/packed.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Records are read in place: give them the alignment a real batch buffer has.
  std::vector<std::uint64_t> buf((size + 7) / 8);
  if (size) std::memcpy(buf.data(), data, size);
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(buf.data()), size);

  if (!cmwq::is_packed(bytes)) {
    std::vector<std::byte> packed;
    cmwq::RecordBytes unpacked;
    cmwq::pack(bytes, packed);
    if (cmwq::unpack(packed, unpacked) && !std::ranges::equal(unpacked, bytes)) std::abort();
  }

  wqscope::Ingest ingest(nullptr, 1'000'000'000, wqscope::Ingest::Clock::deadlines);
  ingest.batch(1, CMWQ_STREAM_ID(1, 1), bytes);
  ingest.finish(ingest.trace().last_ts());
  for (auto& [stream, model] : ingest.trace().models()) {
    (void)model.busy(model.last_ts());
    (void)model.monitor();
    (void)model.held_back();
    for (auto& [id, p] : model.pools()) (void)model.pool_identity(p);
    if (size <= 4096) {  // a snapshot costs more than the records: round-trip the small states only
      wqscope::Model copy;
      copy.restore(model.snapshot());
    }
  }
  return 0;
}
