// Workqueues and, under each, its pool_workqueues: how many items are active
// of max_active, how many wait on the inactive list, and whether the pwq is on
// its workqueue's mayday list.
#pragma once

#include "roles.h"
#include "rows_model.h"
#include "state.h"

#include <QAbstractItemModel>

namespace wqgui {

class WorkqueuesModel : public QAbstractItemModel {
  Q_OBJECT
 public:
  enum Column { Name, Flags, Active, Inactive, InFlight, Mayday, Completed };
  explicit WorkqueuesModel(QObject* parent = nullptr);
  void setState(const State&);

  QModelIndex index(int row, int column, const QModelIndex& parent = {}) const override;
  QModelIndex parent(const QModelIndex&) const override;
  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex&, int role) const override;
  QVariant headerData(int section, Qt::Orientation, int role) const override;

 private:
  /// A workqueue (key: its id; its pwqs: key the pool) and its pwqs, as rows of cells.
  struct Node {
    Row row;
    QVector<Row> pwqs;
  };
  const Row* rowAt(const QModelIndex&) const;
  QVector<Node> nodes_;
};

}  // namespace wqgui
