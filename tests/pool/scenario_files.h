// The pool's scenario files (pool/scenarios), by name: what the simulator tests run.
#pragma once

#include <cmwq/sim.h>

#include <string>

namespace cmwq::sim::test {

inline Scenario scenario(const std::string& name) {
  return load_scenario(std::string(CMWQ_SCENARIOS) + "/" + name + ".scn");
}

}  // namespace cmwq::sim::test
