#include "rows_model.h"

#include "format.h"

#include <algorithm>

namespace wqgui {

int RowsModel::rowCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(rows_.size()); }

int RowsModel::columnCount(const QModelIndex& parent) const { return parent.isValid() ? 0 : int(headers_.size()); }

QVariant RowsModel::data(const QModelIndex& index, int role) const {
  if (!checkIndex(index, CheckIndexOption::IndexIsValid | CheckIndexOption::ParentIsInvalid)) return {};
  const Row& row = rows_[index.row()];
  const Cell& cell = row.cells[index.column()];
  switch (role) {
    case Qt::DisplayRole: return cell.display;
    case Qt::ToolTipRole: return cell.tip.isEmpty() ? QVariant() : QVariant(plainTip(cell.tip));
    case SortRole: return cell.sort.isValid() ? cell.sort : cell.display;
    case KeyRole: return row.key;
    case PoolRole: return row.pool;
    case AlarmRole: return row.alarm;
    case DimRole: return row.dim;
    case TimeRole: return row.time;
    default: return {};
  }
}

QVariant RowsModel::headerData(int section, Qt::Orientation orientation, int role) const {
  if (orientation != Qt::Horizontal || role != Qt::DisplayRole || section < 0 || section >= headers_.size()) return {};
  return headers_[section];
}

int RowsModel::rowOf(qint64 key) const {
  auto it = std::find_if(rows_.begin(), rows_.end(), [&](const Row& r) { return r.key == key; });
  return it == rows_.end() ? -1 : int(it - rows_.begin());
}

void RowsModel::replaceRows(QVector<Row> rows) {
  bool same = std::equal(rows_.begin(), rows_.end(), rows.begin(), rows.end(),
                         [](const Row& a, const Row& b) { return a.key == b.key; });
  if (!same) {
    beginResetModel();
    rows_ = std::move(rows);
    endResetModel();
    return;
  }
  rows_ = std::move(rows);
  if (!rows_.isEmpty()) Q_EMIT dataChanged(index(0, 0), index(int(rows_.size()) - 1, columnCount() - 1));
}

}  // namespace wqgui
