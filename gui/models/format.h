// How times read in the views.
#pragma once

#include <QString>

#include <cstdint>

namespace wqgui {

/// "59 s", "1.2 s", "850 ms", "12 µs".
inline QString duration(std::int64_t ns) {
  if (ns >= 10'000'000'000) return QStringLiteral("%1 s").arg(ns / 1'000'000'000);
  if (ns >= 1'000'000'000) return QStringLiteral("%1 s").arg(double(ns) / 1e9, 0, 'f', 1);
  if (ns >= 1'000'000) return QStringLiteral("%1 ms").arg(ns / 1'000'000);
  return QStringLiteral("%1 µs").arg(ns / 1000);
}

/// A tooltip that shows `text` as it is. Qt takes a tooltip that looks like HTML for rich text, and
/// tips carry names from the target (untrusted.h keeps them printable, not free of '<'): escaped
/// into rich text of our own, line breaks kept.
inline QString plainTip(const QString& text) {
  return QStringLiteral("<p style='white-space:pre-wrap'>%1</p>").arg(text.toHtmlEscaped());
}

/// Seconds since the start of the recording: "60.000 s".
inline QString instant(std::int64_t ns, std::int64_t start_ns) {
  return QStringLiteral("%1 s").arg(double(ns - start_ns) / 1e9, 0, 'f', 3);
}

}  // namespace wqgui
