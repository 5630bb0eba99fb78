// `wqscope explain REC [--at T] [--json]`: the explainer over the state of a recording at an instant.
#include "explain_command.h"

#include "explain.h"
#include "reader.h"

#include <fmt/format.h>

#include <stdexcept>

namespace wqscope {

int explain_recording(const std::string& db, const std::optional<std::string>& at,
                      std::optional<std::int64_t> thresh_ns, bool json) {
  RecordingReader reader(db);
  const RunInfo& run = reader.run();
  std::int64_t t = at ? parse_instant(*at, run) : std::max(reader.last_ns(), run.ended_ns);
  if (t < run.started_ns)
    throw std::invalid_argument(fmt::format("--at is before the recording began (@{})", run.started_ns));
  Trace trace;
  reader.state_at(trace, t);
  const Model& model = trace.primary();
  std::int64_t thresh = thresh_ns.value_or(default_thresh_ns(model));
  Explanation e = explain(model, t, thresh);
  if (json) {
    fmt::print("{}\n", explain_json(e));
    return 0;
  }
  fmt::print("# {}: explain at @{}\n", db, t);
  for (const std::string& line : explain_text(e)) fmt::print("{}\n", line);
  return 0;
}

}  // namespace wqscope
