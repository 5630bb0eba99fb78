// Text -> the kernel-log reader -> the records of its reports -> the model -> the printer and the
// explainer. Any bytes: a log, a mangled one, binary. Nothing may crash, hang or grow without bound;
// whatever reports the reader finds must translate into records the decoder accepts.
#include "explain.h"
#include "import/kernel_log.h"
#include "import/report_stream.h"
#include "model.h"

#include <cmwq/recorder.h>
#include <cmwq/report.h>

#include <cstddef>
#include <cstdint>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace wqscope::kernel_log;
  Log log = parse(std::string_view(reinterpret_cast<const char*>(data), size));
  if (log.reports.empty()) return 0;
  std::vector<std::int64_t> at = ReportStream::instants(log);
  ReportStream stream(ReportStream::possible_cpus(log));
  wqscope::Model model;
  for (std::size_t k = 0; k < log.reports.size(); ++k) {
    stream.add(log.reports[k], at[k], static_cast<std::int64_t>(k + 1));
    // Our own records: the decoder rejecting them is a bug, so no catch.
    cmwq::for_each_record(stream.records(), [&](const cmwq::Record& r) { model.apply(r); });
    stream.records().clear();
    (void)cmwq::report::show_busy(model.busy(at[k]));
    wqscope::Explanation e = wqscope::explain(model, at[k], 1'000'000'000);
    (void)wqscope::explain_text(e);
    (void)wqscope::explain_json(e);
  }
  stream.finish(at.back() + 1);  // instants stop at 2^62 ns: no overflow
  cmwq::for_each_record(stream.records(), [&](const cmwq::Record& r) { model.apply(r); });
  return 0;
}
