// A model's state as its snapshot's JSON, its unordered maps (arrays of [key, value]) in key order:
// models in the same state compare equal, whichever way they got there.
#pragma once

#include "model.h"

#include <nlohmann/json.hpp>

#include <algorithm>

namespace wqscope::fuzz {

inline nlohmann::json canonical(const Model& m) {
  nlohmann::json j = nlohmann::json::from_cbor(m.snapshot());
  for (const char* unordered : {"names", "queued"}) std::sort(j[unordered].begin(), j[unordered].end());
  return j;
}

}  // namespace wqscope::fuzz
