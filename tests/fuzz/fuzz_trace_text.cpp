// Text -> the trace reader -> kernel mode's translation -> the model -> the printer. Any bytes: an
// ftrace, trace-cmd or perf text, a mangled one, binary. Nothing may crash, hang or grow without bound;
// whatever events the reader finds must translate into records the decoder accepts.
#include "import/trace_stream.h"
#include "import/trace_text.h"
#include "model.h"

#include <cmwq/records.h>
#include <cmwq/report.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace wqscope::trace;
  Input in = parse_text(std::string_view(reinterpret_cast<const char*>(data), size));
  wqscope::Model model;
  translate(
      in,
      [&](std::span<const std::byte> bytes) {
        // Our own records: the decoder rejecting them is a bug, so no catch.
        cmwq::for_each_record(bytes, [&](const cmwq::Record& r) { model.apply(r); });
      },
      30'000'000'000);
  (void)cmwq::report::show_busy(model.busy(model.last_ts()));
  (void)cmwq::report::wq_monitor_table(model.monitor());
  return 0;
}
