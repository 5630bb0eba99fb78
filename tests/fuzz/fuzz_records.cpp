// Bytes -> the validating decoder -> the model. The decoder may reject a stream (cmwq::Error);
// whatever it accepts, however nonsensical (workers never created, ends without starts, barriers
// for nothing, negative pools, timestamps near the int64 edge), the model must take without
// crashing or hanging, and its queries and snapshot must work on the state it is left in.
#include "model.h"

#include <cmwq/recorder.h>

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  // Records are read in place: give them the alignment a real batch buffer has.
  std::vector<std::uint64_t> buf((size + 7) / 8);
  if (size) std::memcpy(buf.data(), data, size);
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(buf.data()), size);

  wqscope::Model model;
  try {
    cmwq::for_each_record(bytes, [&](const cmwq::Record& r) { model.apply(r); });
  } catch (const cmwq::Error&) {
    // Rejected from here on; the records before it were applied, as the collector does.
  }
  (void)model.busy(model.last_ts());
  (void)model.monitor();
  (void)model.held_back();
  for (auto& [id, p] : model.pools()) (void)model.pool_identity(p);
  if (size <= 4096) {  // a snapshot costs more than the records: round-trip the small states only
    wqscope::Model copy;
    copy.restore(model.snapshot());
  }
  model.finish();
  return 0;
}
