// A name the pool interned (a work function's, a workqueue's), as the model hands it on: one
// immutable string shared by every instance that names it. Queueing an item copies two names; as
// strings, kernel-length function names were a heap allocation each (the model's busiest path).
#pragma once

#include <fmt/format.h>

#include <memory>
#include <string>
#include <string_view>
#include <utility>

namespace wqscope {

class Name {
 public:
  Name() = default;
  explicit Name(std::string s) : s_(std::make_shared<const std::string>(std::move(s))) {}
  const std::string& str() const { return s_ ? *s_ : empty_string(); }
  operator const std::string&() const { return str(); }  // NOLINT: read wherever a string is
  bool empty() const { return !s_ || s_->empty(); }
  friend bool operator==(const Name& a, const Name& b) { return a.s_ == b.s_ || a.str() == b.str(); }
  friend bool operator==(const Name& a, std::string_view b) { return a.str() == b; }

 private:
  static const std::string& empty_string() {
    static const std::string empty;
    return empty;
  }
  std::shared_ptr<const std::string> s_;  // null: no name; never changed once made (shared between threads)
};

}  // namespace wqscope

template <>
struct fmt::formatter<wqscope::Name> : fmt::formatter<std::string_view> {
  auto format(const wqscope::Name& n, format_context& ctx) const {
    return fmt::formatter<std::string_view>::format(n.str(), ctx);
  }
};
