#include "workqueues_model.h"

#include "flags.h"

namespace wqgui {

namespace {
const QStringList kHeaders = {QObject::tr("Workqueue / pool"), QObject::tr("Flags"), QObject::tr("Active"),
                              QObject::tr("Inactive"), QObject::tr("In flight"), QObject::tr("Mayday"),
                              QObject::tr("Completed")};
}

WorkqueuesModel::WorkqueuesModel(QObject* parent) : QAbstractItemModel(parent) {}

void WorkqueuesModel::setState(const State& s) {
  const wqscope::Model& m = *s.model;
  QVector<Node> nodes;
  for (auto& [id, wq] : m.workqueues()) {
    if (wq.destroyed_ns >= 0) continue;
    Node& n = nodes.emplace_back();
    n.row.key = id;
    int active = 0, inactive = 0, in_flight = 0;
    bool mayday = false;
    for (auto it = m.pwqs().lower_bound({id, -1}); it != m.pwqs().end() && it->first.first == id; ++it) {
      const wqscope::PwqInfo& q = it->second;
      auto pool = m.pools().find(q.pool);
      if (pool == m.pools().end()) continue;
      Row& r = n.pwqs.emplace_back();
      r.key = r.pool = q.pool;
      r.alarm = std::any_of(s.stuck.begin(), s.stuck.end(), [&](auto& a) { return a.pool == q.pool; }) &&
                std::any_of(pool->second.worklist.begin(), pool->second.worklist.end(),
                            [&](auto& x) { return x.wq == id; });
      r.cells = {{QStringLiteral("pwq %1:%2").arg(q.pool).arg(QString::fromStdString(m.pool_identity(pool->second))),
                  q.pool, {}},
                 {QString(), {}, {}},
                 {QStringLiteral("%1/%2").arg(q.nr_active).arg(wq.max_active), q.nr_active, {}},
                 {int(q.inactive.size()), {}, {}},
                 {q.nr_in_flight, {}, {}},
                 {q.mayday ? QStringLiteral("MAYDAY") : QString(), {}, {}},
                 {QVariant(), {}, {}}};
      active += q.nr_active;
      inactive += int(q.inactive.size());
      in_flight += q.nr_in_flight;
      mayday |= q.mayday;
      n.row.alarm |= r.alarm;
    }
    n.row.alarm |= std::any_of(s.stuck.begin(), s.stuck.end(), [&](auto& a) { return a.kind == wqscope::AlertKind::Stall && a.wq == wq.name; });
    QString flags = workqueueFlags(wq.flags);
    n.row.cells = {{QString::fromStdString(wq.name), {}, {}},
                   {flags, wq.flags, QStringLiteral("flags=0x%1").arg(wq.flags, 0, 16)},
                   {QStringLiteral("%1 (max %2)").arg(active).arg(wq.max_active), active, {}},
                   {inactive, {}, {}},
                   {in_flight, {}, {}},
                   {mayday ? QStringLiteral("MAYDAY") : QString(), {}, {}},
                   {qulonglong(wq.counters.completed), {}, {}}};
  }
  auto keys = [](const QVector<Node>& v) {
    QVector<qint64> out;
    for (const Node& n : v) {
      out << n.row.key << -1;
      for (const Row& r : n.pwqs) out << r.key;
    }
    return out;
  };
  if (keys(nodes) != keys(nodes_)) {
    beginResetModel();
    nodes_ = std::move(nodes);
    endResetModel();
    return;
  }
  nodes_ = std::move(nodes);
  // Same tree: only the data changed (expansion and selection stay).
  for (int i = 0; i < nodes_.size(); ++i) {
    QModelIndex top = index(i, 0);
    Q_EMIT dataChanged(top, index(i, columnCount() - 1));
    if (!nodes_[i].pwqs.isEmpty())
      Q_EMIT dataChanged(index(0, 0, top), index(int(nodes_[i].pwqs.size()) - 1, columnCount() - 1, top));
  }
}

QModelIndex WorkqueuesModel::index(int row, int column, const QModelIndex& parent) const {
  if (!hasIndex(row, column, parent)) return {};
  // Workqueues carry id 0; a pwq carries its workqueue's row + 1.
  return createIndex(row, column, parent.isValid() ? quintptr(parent.row() + 1) : quintptr(0));
}

QModelIndex WorkqueuesModel::parent(const QModelIndex& child) const {
  if (!child.isValid() || child.internalId() == 0) return {};
  return createIndex(int(child.internalId() - 1), 0, quintptr(0));
}

int WorkqueuesModel::rowCount(const QModelIndex& parent) const {
  if (!parent.isValid()) return int(nodes_.size());
  if (parent.internalId() != 0 || parent.column() != 0) return 0;
  return int(nodes_[parent.row()].pwqs.size());
}

int WorkqueuesModel::columnCount(const QModelIndex&) const { return int(kHeaders.size()); }

const Row* WorkqueuesModel::rowAt(const QModelIndex& index) const {
  if (index.internalId() == 0) return &nodes_[index.row()].row;
  return &nodes_[int(index.internalId() - 1)].pwqs[index.row()];
}

QVariant WorkqueuesModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid)) return {};
  const Row& row = *rowAt(index);
  const Cell& cell = row.cells[index.column()];
  bool pwq = index.internalId() != 0;
  switch (role) {
    case Qt::DisplayRole: return cell.display;
    case Qt::ToolTipRole: return cell.tip.isEmpty() ? QVariant() : QVariant(cell.tip);
    case SortRole: return cell.sort.isValid() ? cell.sort : cell.display;
    case KeyRole: return pwq ? nodes_[int(index.internalId() - 1)].row.key : row.key;  // the workqueue
    case PoolRole: return pwq ? row.pool : -1;
    case AlarmRole: return row.alarm;
    default: return {};
  }
}

QVariant WorkqueuesModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole || section < 0 || section >= kHeaders.size()) return {};
  return kHeaders[section];
}

}  // namespace wqgui
