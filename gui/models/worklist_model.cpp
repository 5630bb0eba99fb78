#include "worklist_model.h"

#include "format.h"

namespace wqgui {

WorklistModel::WorklistModel(QObject* parent)
    : RowsModel({tr("#"), tr("Function"), tr("Workqueue"), tr("List"), tr("Queued at"), tr("Age")}, parent) {}

void WorklistModel::setScope(int pool, std::uint32_t wq) {
  pool_ = pool;
  wq_ = wq;
  rebuild();
}

void WorklistModel::setState(const State& s) {
  state_ = s;
  rebuild();
}

void WorklistModel::rebuild() {
  QVector<Row> rows;
  if (!state_.model || !state_.model->pools().contains(pool_)) return replaceRows(std::move(rows));
  const wqscope::Model& m = *state_.model;
  const wqscope::PoolInfo& p = m.pools().at(pool_);
  bool stuck = std::any_of(state_.stuck.begin(), state_.stuck.end(), [&](auto& a) { return a.pool == pool_; });
  auto add = [&](const wqscope::Entry& x, const QString& list) {
    Row& r = rows.emplace_back();
    r.key = x.barrier_pid ? -qint64(x.barrier_pid) : qint64(x.work);
    r.pool = pool_;
    r.alarm = stuck && list == QStringLiteral("worklist");
    auto it = state_.queued.find(x.work);
    bool known = !x.barrier_pid && it != state_.queued.end();
    QString func = x.barrier_pid ? QStringLiteral("BAR(%1)").arg(x.barrier_pid)
                                 : known ? QString::fromStdString(it->second.func) : QStringLiteral("?");
    QString wq;
    if (auto w = m.workqueues().find(x.wq); w != m.workqueues().end()) wq = QString::fromStdString(w->second.name);
    std::int64_t queued = known ? it->second.queued_ns : -1;
    r.cells = {{int(rows.size()), {}, {}},
               {func, {}, x.linked ? tr("linked to the next entry") : QString()},
               {wq, {}, {}},
               {list, {}, {}},
               {queued >= 0 ? instant(queued, state_.start_ns) : QString(), qint64(queued), {}},
               {queued >= 0 ? duration(state_.now - queued) : QString(), qint64(queued >= 0 ? state_.now - queued : -1), {}}};
  };
  for (const wqscope::Entry& x : p.worklist)
    if (!wq_ || x.wq == wq_) add(x, QStringLiteral("worklist"));
  for (auto& [key, q] : m.pwqs())
    if (q.pool == pool_ && (!wq_ || key.first == wq_))
      for (const wqscope::Entry& x : q.inactive) add(x, QStringLiteral("inactive"));
  replaceRows(std::move(rows));
}

}  // namespace wqgui
