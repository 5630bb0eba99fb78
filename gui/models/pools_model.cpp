#include "pools_model.h"

#include "flags.h"
#include "format.h"

namespace wqgui {

PoolsModel::PoolsModel(QObject* parent)
    : RowsModel({tr("Pool"), tr("Identity"), tr("Flags"), tr("Workers"), tr("Idle"), tr("Busy"), tr("nr_running"),
                 tr("Worklist"), tr("Hung"), tr("Mayday")},
                parent) {}

void PoolsModel::setState(const State& s) {
  const wqscope::Model& m = *s.model;
  std::map<int, int> busy;  // workers running an item, per pool
  for (auto& [pid, w] : m.workers())
    if (w.destroyed_ns < 0 && w.current.work) ++busy[w.pool];
  QVector<Row> rows;
  for (auto& [id, p] : m.pools()) {
    Row& r = rows.emplace_back();
    r.key = r.pool = id;
    r.alarm = std::any_of(s.stuck.begin(), s.stuck.end(), [&](auto& a) { return a.pool == id; });
    std::int64_t hung = p.hung_ns(s.now);
    QString mayday;
    if (p.episode.started_ns >= 0 && p.episode.ended_ns < 0)
      mayday = tr("calling rescuers: %1 mayday(s) for %2").arg(p.episode.maydays).arg(duration(s.now - p.episode.started_ns));
    r.cells = {{id, {}, {}},
               {QString::fromStdString(m.pool_identity(p)).trimmed(), {}, {}},
               {poolFlags(p.flags), p.flags, QStringLiteral("flags=0x%1").arg(p.flags, 0, 16)},
               {p.nr_workers, {}, {}},
               {p.nr_idle, {}, {}},
               {busy[id], {}, {}},
               {p.nr_running, {}, {}},
               {p.pending, {}, {}},
               {hung ? duration(hung) : QString(), qint64(hung), tr("no progress for %1 while work waits").arg(duration(hung))},
               {mayday, {}, {}}};
    if (!hung) r.cells[Hung].tip.clear();
  }
  replaceRows(std::move(rows));
}

}  // namespace wqgui
