#include "tables.h"

#include "recording.h"
#include "sqlite_rows.h"

#include <fmt/format.h>

namespace wqgui {

std::vector<wqscope::Alert> Tables::alerts() const {
  wqscope::Cursor c(db(), reader_.path(),
                    "SELECT kind, pool, wq, message, detected_ns, stuck_ns, waiting FROM alerts ORDER BY detected_ns, id");
  std::vector<wqscope::Alert> out;
  while (c.next()) {
    auto kind = wqscope::alert_kind(c.s(0));
    if (!kind) continue;  // a kind a newer wqscope raised: not one this GUI can show
    wqscope::Alert& a = out.emplace_back();
    a.kind = *kind;
    a.pool = static_cast<int>(c.i(1, -1));
    a.wq = c.s(2);
    a.message = c.s(3);
    a.time_ns = c.i(4, 0);
    a.stuck_ns = c.i(5, 0);
    a.pending = static_cast<int>(c.i(6, 0));
  }
  return out;
}

std::vector<Bar> Tables::bars(std::int64_t from, std::int64_t to) const {
  std::vector<Bar> out;
  // Both queries give worker, start, end, function (and hidden for waits off the CPU).
  wqscope::Cursor items(db(), reader_.path(),
                        "SELECT worker, started_ns, ended_ns, func, 0 FROM work_items WHERE started_ns IS NOT NULL "
                        "AND started_ns <= ?2 AND (ended_ns IS NULL OR ended_ns >= ?1) ORDER BY worker, started_ns "
                        "LIMIT ?3",
                        {from, to, kMaxBars});
  wqscope::Cursor off(db(), reader_.path(),
                      "SELECT worker, start_ns, end_ns, func, hidden FROM off_cpu WHERE start_ns <= ?2 AND "
                      "end_ns >= ?1 ORDER BY worker, start_ns LIMIT ?3",
                      {from, to, kMaxBars});
  for (auto* c : {&items, &off})
    while (c->next())
      out.push_back({static_cast<int>(c->i(0, 0)), c->i(1, 0), c->i(2, -1), c->s(3), c == &off, c->i(4, 0) != 0});
  return out;
}

}  // namespace wqgui
