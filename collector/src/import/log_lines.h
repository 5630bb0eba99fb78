// The lines of a kernel log as the kernel printed them, from what people paste: the printk prefixes
// (`[ts]`, `[ts][ C1]`, `[ts][T123]`, `dmesg -T`'s wall clock, journald/syslog `Mon DD hh:mm:ss host
// kernel:`, raw /dev/kmsg records `prio,seq,usec,flags;`), mail quoting (`> `, `> > | `, `>>> `),
// CRLF and trailing spaces go; lines wrapped by mail clients or terminals are joined; lines printed
// twice by two consoles are kept once. What remains is the message text, with its time if it had one.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

namespace wqscope::kernel_log {

struct LogLine {
  std::string text;         // the message, without prefix (leading spaces are the kernel's)
  std::int64_t ts_ns = -1;  // from its prefix; -1: none
  std::size_t number = 0;   // of its first physical line, from 1
};

class LineReader {
 public:
  /// `readable` says whether a joined line is one the parser understands: a wrapped line is joined
  /// with or without a space, whichever makes it readable (a mail client wraps at a space, a
  /// terminal anywhere).
  using Readable = std::function<bool(std::string_view)>;
  LineReader(std::string_view log, Readable readable) : log_(log), readable_(std::move(readable)) {}

  /// The next logical line; false at the end.
  bool next(LogLine& out);

 private:
  struct Physical {
    std::string_view text;  // after quoting and prefix
    std::string_view prefix;  // the prefix as written (duplicates have equal ones)
    std::int64_t ts_ns = -1;
    bool has_prefix = false, blank = false, foreign = false;
    std::size_t number = 0;
  };
  bool read_physical(Physical& out);
  bool peek(Physical& out);

  std::string_view log_;
  Readable readable_;
  std::size_t pos_ = 0, number_ = 0;
  Physical ahead_;
  bool have_ahead_ = false;
  bool log_has_prefixes_ = false;  // once a line had one, an unprefixed line after a prefixed one is a wrap
  std::string last_key_;           // prefix + text of the last line returned: its duplicate is dropped
};

/// Splits off the printk prefix of a line (after quoting); exposed for tests.
struct Prefix {
  std::size_t length = 0;   // bytes of prefix, 0: none
  std::int64_t ts_ns = -1;
  bool foreign = false;     // a syslog line of another program than the kernel
};
Prefix split_prefix(std::string_view line);

}  // namespace wqscope::kernel_log
