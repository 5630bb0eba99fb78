// Bytes -> snapshots, the state a recording stores every so often and a reader restores instead of
// replaying from the start. First byte even: the rest is a snapshot as a crafted recording holds it;
// restore() takes it or throws nlohmann::json::exception, and what it takes holds printable names
// only and answers the model's queries. Odd: the rest is records, applied to one model from the
// start, and to another up to a point (the first byte's share of them), snapshotted, restored into
// a third that applies the rest: the snapshot path and the full replay must end in the same state.
#include "canonical.h"
#include "model.h"
#include "untrusted.h"

#include <cmwq/records.h>
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <vector>

namespace {

void query(const wqscope::Model& m) {
  (void)m.busy(m.last_ts());
  (void)m.monitor();
  (void)m.held_back();
  for (auto& [id, p] : m.pools()) (void)m.pool_identity(p);
}

// Every string printable() would leave as it is.
void check_printable(const nlohmann::json& j) {
  if (j.is_string() && wqscope::printable(j.get_ref<const std::string&>()) != j.get_ref<const std::string&>()) abort();
  if (j.is_structured())
    for (auto& [k, v] : j.items()) {
      if (j.is_object() && wqscope::printable(k) != k) abort();
      check_printable(v);
    }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 1) return 0;
  std::uint8_t mode = data[0];
  ++data;
  --size;
  if (!(mode & 1)) {
    wqscope::Model m;
    try {
      m.restore(std::span(data, size));
    } catch (const nlohmann::json::exception&) {
      return 0;
    }
    check_printable(nlohmann::json::from_cbor(m.snapshot()));
    query(m);
    return 0;
  }
  // Records are read in place: give them the alignment a real batch buffer has.
  std::vector<std::uint64_t> buf((size + 7) / 8);
  if (size) std::memcpy(buf.data(), data, size);
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(buf.data()), size);
  std::vector<cmwq::Record> records;
  try {
    cmwq::for_each_record(bytes, [&](const cmwq::Record& r) { records.push_back(r); });
  } catch (const cmwq::RecordError&) {  // the records before the bad one are the input
  }
  std::size_t split = records.size() * (mode >> 1) / 127;
  wqscope::Model full, prefix, resumed;
  for (std::size_t i = 0; i < records.size(); ++i) {
    full.apply(records[i]);
    if (i < split) prefix.apply(records[i]);
  }
  resumed.restore(prefix.snapshot());
  for (std::size_t i = split; i < records.size(); ++i) resumed.apply(records[i]);
  full.finish();
  resumed.finish();
  if (wqscope::fuzz::canonical(full) != wqscope::fuzz::canonical(resumed)) abort();
  query(resumed);
  return 0;
}
