#include "sim_recording.h"

#include "ingest.h"
#include "recording.h"

#include <cmwq/sim.h>

namespace wqgui::test {

std::int64_t recordScenario(const std::string& scenario, const std::string& db, std::int64_t thresh_ns) {
  auto result = cmwq::sim::run(cmwq::sim::load_scenario(scenario), true);
  auto rec = wqscope::Recording::create(db, {"cmwq-sim " + scenario.substr(scenario.rfind('/') + 1), 1, 0, "deadlines"});
  wqscope::Ingest ingest(rec.get(), thresh_ns, wqscope::Ingest::Clock::deadlines);
  ingest.batch(1, CMWQ_STREAM_ID(1, 1), result.events);
  ingest.finish(result.end);
  rec->finish("simulation ended", result.end, 0, ingest.trace().lost());
  return result.end;
}

}  // namespace wqgui::test
