#include "workers_model.h"

#include "format.h"

namespace wqgui {

namespace {

QString stateName(const wqscope::WorkerInfo& w) {
  QString s;
  switch (w.state) {
    case wqscope::WorkerState::Starting: s = QStringLiteral("starting"); break;
    case wqscope::WorkerState::Idle: s = QStringLiteral("idle"); break;
    case wqscope::WorkerState::Busy: s = QStringLiteral("busy"); break;
    case wqscope::WorkerState::Sleeping: s = QStringLiteral("sleeping"); break;
  }
  if (w.off_cpu_since < 0) return s;
  // The task state as ps prints it: S interruptible, D uninterruptible.
  QString task = w.off_cpu_state & 1 ? QStringLiteral("S") : w.off_cpu_state & 2 ? QStringLiteral("D")
                                                                                 : QString::number(w.off_cpu_state);
  return w.hidden_block ? QStringLiteral("%1, off-CPU (%2) hidden").arg(s, task)
                        : QStringLiteral("%1, off-CPU (%2)").arg(s, task);
}

}  // namespace

WorkersModel::WorkersModel(QObject* parent)
    : RowsModel({tr("PID"), tr("Pool"), tr("State"), tr("Function"), tr("Workqueue"), tr("For"), tr("Rescuer of")},
                parent) {}

void WorkersModel::setState(const State& s) {
  const wqscope::Model& m = *s.model;
  QVector<Row> rows;
  for (auto& [pid, w] : m.workers()) {
    if (w.destroyed_ns >= 0) continue;
    Row& r = rows.emplace_back();
    r.key = pid;
    r.pool = w.pool;
    r.alarm = w.hidden_block ||
              std::any_of(s.stuck.begin(), s.stuck.end(), [&](auto& a) { return a.kind == wqscope::AlertKind::HiddenBlock && a.pool == w.pool; });
    // How long it has been like this: off the CPU, in its item, or in its state.
    std::int64_t since = w.off_cpu_since >= 0 ? w.off_cpu_since
                         : w.current.work && w.current.started_ns >= 0 ? w.current.started_ns
                                                                       : w.state_since_ns;
    QString rescuer;
    if (w.rescuer_of)
      if (auto it = m.workqueues().find(w.rescuer_of); it != m.workqueues().end())
        rescuer = QString::fromStdString(it->second.name);
    QString pool = w.pool >= 0 ? QString::number(w.pool) : QString();
    if (auto it = m.pools().find(w.pool); it != m.pools().end())
      pool = QStringLiteral("%1 (%2)").arg(w.pool).arg(QString::fromStdString(m.pool_identity(it->second)).trimmed());
    r.cells = {{pid, {}, {}},
               {pool, w.pool, {}},
               {stateName(w), {}, w.hidden_block ? tr("blocked in its item without the pool's blocking point: "
                                                     "the pool still counts it as running")
                                                  : QString()},
               {w.current.work ? QString::fromStdString(w.current.func) : QString(), {}, {}},
               {w.current.work ? QString::fromStdString(w.current.wq) : QString(), {}, {}},
               {since >= 0 ? duration(s.now - since) : QString(), qint64(since >= 0 ? s.now - since : 0), {}},
               {rescuer, {}, {}}};
  }
  replaceRows(std::move(rows));
}

}  // namespace wqgui
