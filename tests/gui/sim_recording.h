// A recording of a simulated story, made as `wqscope record` makes one: every
// record into the events table and the model's tables, and the collector's
// watchdog checked at each of its deadlines so the alerts table is filled.
#pragma once

#include <cstdint>
#include <string>

namespace wqgui::test {

/// Writes `db` (which must not exist) from scenario file `scenario`; returns the simulation's end.
std::int64_t recordScenario(const std::string& scenario, const std::string& db,
                            std::int64_t thresh_ns = 30'000'000'000);

}  // namespace wqgui::test
