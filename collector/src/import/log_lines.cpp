#include "import/log_lines.h"

#include <array>
#include <charconv>
#include <limits>

namespace wqscope::kernel_log {

namespace {

bool digit(char c) { return c >= '0' && c <= '9'; }

/// Digits at `s[i]` on, as a number (saturating); `i` moves past them. False if there are none.
bool number(std::string_view s, std::size_t& i, std::int64_t& out) {
  std::size_t start = i;
  out = 0;
  for (; i < s.size() && digit(s[i]); ++i)
    out = out > (std::numeric_limits<std::int64_t>::max() - 9) / 10 ? std::numeric_limits<std::int64_t>::max()
                                                                      : out * 10 + (s[i] - '0');
  return i > start;
}

bool skip(std::string_view s, std::size_t& i, char c) {
  if (i < s.size() && s[i] == c) return ++i, true;
  return false;
}

void spaces(std::string_view s, std::size_t& i) {
  while (i < s.size() && s[i] == ' ') ++i;
}

std::int64_t saturate_add(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  return __builtin_add_overflow(a, b, &r) ? std::numeric_limits<std::int64_t>::max() : r;
}
std::int64_t saturate_mul(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  return __builtin_mul_overflow(a, b, &r) ? std::numeric_limits<std::int64_t>::max() : r;
}

/// The digits after a decimal point as ns, however many there are.
bool fraction(std::string_view s, std::size_t& i, std::int64_t& ns) {
  std::size_t start = i;
  if (!number(s, i, ns)) return false;
  std::size_t digits = i - start;
  if (digits > 18) return false;
  for (; digits < 9; ++digits) ns *= 10;
  for (; digits > 9; --digits) ns /= 10;
  return true;
}

/// "SSS.ffffff" as ns; the fraction may have any number of digits.
bool seconds(std::string_view s, std::size_t& i, std::int64_t& ns) {
  std::int64_t sec = 0, frac = 0;
  if (!number(s, i, sec) || !skip(s, i, '.')) return false;
  if (!fraction(s, i, frac)) return false;
  ns = saturate_add(saturate_mul(sec, 1'000'000'000), frac);
  return true;
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's days_from_civil): no time zone, no mktime.
std::int64_t days_from_civil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

int month(std::string_view s) {
  static constexpr std::array<std::string_view, 12> kMonths = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                               "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  for (std::size_t m = 0; m < kMonths.size(); ++m)
    if (s == kMonths[m]) return static_cast<int>(m) + 1;
  return 0;
}

/// "hh:mm:ss[.frac]" as ns since midnight.
bool clock(std::string_view s, std::size_t& i, std::int64_t& ns) {
  std::int64_t h = 0, m = 0, sec = 0;
  if (!number(s, i, h) || !skip(s, i, ':') || !number(s, i, m) || !skip(s, i, ':') || !number(s, i, sec)) return false;
  if (h > 24 || m > 59 || sec > 60) return false;
  ns = (h * 3600 + m * 60 + sec) * 1'000'000'000;
  if (i < s.size() && s[i] == '.') {  // journalctl -o short-precise
    std::size_t j = i + 1;
    std::int64_t frac = 0;
    if (fraction(s, j, frac)) {
      ns += frac;
      i = j;
    }
  }
  return true;
}

/// "Mon DD hh:mm:ss YYYY" (dmesg -T, after the day of the week) or "Mon DD hh:mm:ss" (syslog, no year).
bool wall_clock(std::string_view s, std::size_t& i, bool with_year, std::int64_t& ns) {
  if (i + 3 > s.size()) return false;
  int m = month(s.substr(i, 3));
  if (!m) return false;
  i += 3;
  spaces(s, i);
  std::int64_t day = 0, tod = 0, year = 1970;
  if (!number(s, i, day) || day < 1 || day > 31 || !skip(s, i, ' ')) return false;
  if (!clock(s, i, tod)) return false;
  if (with_year && (!skip(s, i, ' ') || !number(s, i, year) || year > 9999)) return false;
  ns = saturate_add(saturate_mul(days_from_civil(year, static_cast<unsigned>(m), static_cast<unsigned>(day)), 86'400'000'000'000),
                    tod);
  return true;
}

/// "[  842.410023]", "[  842.410023][    C1]", "[Sun Nov 22 14:02:11 2026]", each then one space.
bool bracket(std::string_view s, std::size_t& i, std::int64_t& ns) {
  std::size_t j = i;
  if (!skip(s, j, '[')) return false;
  spaces(s, j);
  if (!seconds(s, j, ns)) {
    j = i + 1;  // dmesg -T: "Sun Nov 22 14:02:11 2026"
    if (j + 4 > s.size() || s[j + 3] != ' ') return false;
    j += 4;
    if (!wall_clock(s, j, true, ns)) return false;
  }
  if (!skip(s, j, ']')) return false;
  if (j < s.size() && s[j] == '[') {  // the caller id: "[    C1]" or "[T123]"
    std::size_t k = j + 1;
    spaces(s, k);
    std::int64_t id = 0;
    if (k < s.size() && (s[k] == 'C' || s[k] == 'T') && number(s, ++k, id) && skip(s, k, ']')) j = k;
  }
  skip(s, j, ' ');
  i = j;
  return true;
}

/// "6,22010,903311456,-,caller=C3;": /dev/kmsg's prio,seq,usec,flags[,fields];
bool kmsg(std::string_view s, std::size_t& i, std::int64_t& ns) {
  std::size_t j = i;
  std::int64_t prio = 0, seq = 0, usec = 0;
  if (!number(s, j, prio) || !skip(s, j, ',') || !number(s, j, seq) || !skip(s, j, ',') || !number(s, j, usec) ||
      !skip(s, j, ','))
    return false;
  std::size_t semi = s.find(';', j);
  if (semi == std::string_view::npos || semi - j > 64 || s.substr(j, semi - j).find(' ') != std::string_view::npos)
    return false;
  ns = saturate_mul(usec, 1000);
  i = semi + 1;
  return true;
}

/// "Nov 28 03:11:02 node7 kernel: " (syslog, journalctl) or "2026-11-28T03:11:02+0100 node7 kernel: "
/// (journalctl -o short-iso); `foreign` when the tag is another program's.
bool syslog(std::string_view s, std::size_t& i, std::int64_t& ns, bool& foreign) {
  std::size_t j = i;
  if (j < s.size() && digit(s[j])) {  // ISO: YYYY-MM-DDThh:mm:ss[.frac][zone]
    std::int64_t y = 0, m = 0, d = 0, tod = 0;
    if (!number(s, j, y) || !skip(s, j, '-') || !number(s, j, m) || !skip(s, j, '-') || !number(s, j, d) ||
        !skip(s, j, 'T') || m < 1 || m > 12 || d < 1 || d > 31 || y > 9999 || !clock(s, j, tod))
      return false;
    while (j < s.size() && s[j] != ' ') ++j;  // the zone: the log's times only need to be in order
    ns = saturate_add(saturate_mul(days_from_civil(y, static_cast<unsigned>(m), static_cast<unsigned>(d)),
                                   86'400'000'000'000),
                      tod);
  } else if (!wall_clock(s, j, false, ns)) {
    return false;
  }
  if (!skip(s, j, ' ')) return false;
  std::size_t host_end = s.find(' ', j);
  if (host_end == std::string_view::npos || host_end == j) return false;
  j = host_end + 1;
  std::size_t colon = s.find(": ", j);
  if (colon == std::string_view::npos || s.substr(j, colon - j).find(' ') != std::string_view::npos) {
    if (s.substr(j) == "kernel:") colon = s.size() - 1;  // an empty kernel line
    else return false;
  }
  foreign = s.substr(j, colon - j) != "kernel";
  i = std::min(s.size(), colon + 2);
  return true;
}

}  // namespace

Prefix split_prefix(std::string_view line) {
  Prefix p;
  std::size_t i = 0;
  if (kmsg(line, i, p.ts_ns) || bracket(line, i, p.ts_ns)) {
    p.length = i;
  } else if (syslog(line, i, p.ts_ns, p.foreign)) {
    std::int64_t printk = -1;
    if (bracket(line, i, printk)) p.ts_ns = printk;  // rsyslog keeps printk's own time: finer
    p.length = i;
  }
  return p;
}

bool LineReader::read_physical(Physical& out) {
  if (pos_ >= log_.size()) return false;
  std::size_t end = log_.find('\n', pos_);
  if (end == std::string_view::npos) end = log_.size();
  std::string_view line = log_.substr(pos_, end - pos_);
  pos_ = end + 1;
  out = Physical{};
  out.number = ++number_;
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
  // Mail quoting: "> ", "> > | ", ">>> ": one space after each mark belongs to the quoting.
  while (!line.empty() && (line.front() == '>' || line.front() == '|')) {
    line.remove_prefix(1);
    if (!line.empty() && line.front() == ' ') line.remove_prefix(1);
  }
  out.blank = line.empty();
  Prefix p = split_prefix(line);
  out.prefix = line.substr(0, p.length);
  out.text = line.substr(p.length);
  out.ts_ns = p.ts_ns;
  out.has_prefix = p.length > 0;
  out.foreign = p.foreign;
  return true;
}

bool LineReader::peek(Physical& out) {
  if (!have_ahead_) have_ahead_ = read_physical(ahead_);
  out = ahead_;
  return have_ahead_;
}

bool LineReader::next(LogLine& out) {
  Physical p;
  for (;;) {
    if (have_ahead_) {
      p = ahead_;
      have_ahead_ = false;
    } else if (!read_physical(p)) {
      return false;
    }
    if (p.blank || p.foreign) continue;
    log_has_prefixes_ |= p.has_prefix;
    std::string text(p.text);
    // Wrapped: the rest of a prefixed line comes on lines without one, up to a blank or prefixed line.
    Physical q;
    while (p.has_prefix && peek(q) && !q.blank && !q.has_prefix) {
      have_ahead_ = false;
      // /dev/kmsg's dictionary lines (" SUBSYSTEM=pci") follow their record indented: not a wrap.
      if (p.prefix.ends_with(';') && q.text.starts_with(' ')) continue;
      std::string spaced = text + " " + std::string(q.text), joined = text + std::string(q.text);
      text = readable_(joined) && !readable_(spaced) ? std::move(joined) : std::move(spaced);
    }
    std::string key = std::string(p.prefix) + text;
    if (p.has_prefix && key == last_key_) continue;  // the same record from a second console
    last_key_ = std::move(key);
    out.text = std::move(text);
    out.ts_ns = p.ts_ns;
    out.number = p.number;
    return true;
  }
}

}  // namespace wqscope::kernel_log
