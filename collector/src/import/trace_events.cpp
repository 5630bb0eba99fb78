#include "import/trace_events.h"

namespace wqscope::trace {

std::uint32_t Names::id(std::string_view text) {
  auto [it, added] = ids_.try_emplace(std::string(text), static_cast<std::uint32_t>(texts_.size() + 1));
  if (added) texts_.push_back(it->first);
  return it->second;
}

void Input::problem(std::size_t line, std::string_view text, std::string why) {
  ++malformed;
  if (problems.size() < kProblemsKept) problems.push_back(Problem{line, std::string(text.substr(0, 200)), std::move(why)});
}

}  // namespace wqscope::trace
