#include "sim_recording.h"

#include "model.h"
#include "recording.h"
#include "watchdog.h"

#include <cmwq/sim.h>

namespace wqgui::test {

std::int64_t recordScenario(const std::string& scenario, const std::string& db, std::int64_t thresh_ns) {
  auto result = cmwq::sim::run(cmwq::sim::load_scenario(scenario), true);
  auto rec = wqscope::Recording::create(db, {"cmwq-sim " + scenario.substr(scenario.rfind('/') + 1), 1, 0});
  wqscope::Model model(rec.get());
  wqscope::Watchdog dog(thresh_ns);
  model.add_observer(&dog);
  // Live, the watchdog wakes at its next deadline; here that is between two records.
  auto check_until = [&](std::int64_t t) {
    for (std::int64_t d = dog.next_deadline(model); d <= t; d = dog.next_deadline(model))
      for (const wqscope::Alert& a : dog.check(model, d)) rec->on_alert(a);
  };
  cmwq::for_each_record(result.events, [&](const cmwq::Record& r) {
    check_until(static_cast<std::int64_t>(r.h->ts));
    rec->add(r);
    model.apply(r);
    rec->snapshot_if_due(model);
  });
  check_until(result.end);
  for (const wqscope::Alert& a : dog.check(model, result.end)) rec->on_alert(a);  // what records raised
  model.finish();
  rec->finish("simulation ended", result.end, 0, model);
  return result.end;
}

}  // namespace wqgui::test
