#include "untrusted.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>

namespace wqscope {

namespace {

/// The length of the valid UTF-8 sequence at the start of `s` (RFC 3629: no overlong forms, no
/// surrogates, nothing past U+10FFFF) and its code point; 0 if it is not one.
std::size_t utf8_sequence(std::string_view s, char32_t& cp) {
  auto b = [&](std::size_t i) { return static_cast<unsigned char>(s[i]); };
  unsigned char c = b(0);
  std::size_t n = c < 0x80 ? 1 : c >= 0xc2 && c <= 0xdf ? 2 : c >= 0xe0 && c <= 0xef ? 3 : c >= 0xf0 && c <= 0xf4 ? 4 : 0;
  if (!n || n > s.size()) return 0;
  cp = n == 1 ? c : c & (0x7f >> n);
  for (std::size_t i = 1; i < n; ++i) {
    if ((b(i) & 0xc0) != 0x80) return 0;
    cp = cp << 6 | (b(i) & 0x3f);
  }
  static constexpr char32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
  if (cp < kMin[n] || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) return 0;
  return n;
}

/// Valid, but changes how a terminal (or the line) shows what follows.
bool control(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7f && cp <= 0x9f) ||  // C0, DEL, C1 (0x9b is a CSI on some terminals)
         cp == 0x200e || cp == 0x200f ||                // left-to-right and right-to-left marks
         (cp >= 0x202a && cp <= 0x202e) ||              // bidi embeddings and overrides
         (cp >= 0x2066 && cp <= 0x2069) ||              // bidi isolates
         cp == 0x2028 || cp == 0x2029;                  // line and paragraph separators
}

void escape(std::string& out, std::string_view bytes) {
  static constexpr char kHex[] = "0123456789abcdef";
  for (unsigned char c : bytes) out.append({'\\', 'x', kHex[c >> 4], kHex[c & 15]});
}

}  // namespace

std::string printable(std::string_view bytes) {
  if (std::all_of(bytes.begin(), bytes.end(), [](char c) { return c >= 0x20 && c < 0x7f; }))
    return std::string(bytes);  // the usual name: nothing to do
  std::string out;
  out.reserve(bytes.size());
  for (std::size_t at = 0; at < bytes.size();) {
    char32_t cp = 0;
    std::size_t n = utf8_sequence(bytes.substr(at), cp);
    if (!n) {
      escape(out, bytes.substr(at, 1));  // one invalid byte; the next may start a valid sequence
      ++at;
      continue;
    }
    if (control(cp)) escape(out, bytes.substr(at, n));
    else out.append(bytes.substr(at, n));
    at += n;
  }
  return out;
}

void make_printable(nlohmann::json& j) {
  if (j.is_string()) {
    auto& s = j.get_ref<std::string&>();
    s = printable(s);
  } else if (j.is_array()) {
    for (auto& v : j) make_printable(v);
  } else if (j.is_object()) {
    nlohmann::json out = nlohmann::json::object();
    for (auto& [k, v] : j.items()) {
      make_printable(v);
      out[printable(k)] = std::move(v);
    }
    j = std::move(out);
  }
}

std::string json_text(const nlohmann::json& j) { return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace); }

}  // namespace wqscope
