// A flat table of prepared rows: the concrete models only say what their rows
// are at an instant. When an instant has the same rows as the last (the same
// keys in the same order) only the data changes, so selections survive
// playback; otherwise the model resets.
#pragma once

#include "roles.h"

#include <QAbstractTableModel>
#include <QStringList>
#include <QVariant>
#include <QVector>

namespace wqgui {

struct Cell {
  QVariant display, sort;  // sort: a number to sort by, if the text would sort wrongly
  QString tip;
};

struct Row {
  qint64 key = 0;
  int pool = -1;
  bool alarm = false, dim = false;
  qint64 time = 0;
  QVector<Cell> cells;
};

class RowsModel : public QAbstractTableModel {
  Q_OBJECT
 public:
  explicit RowsModel(QStringList headers, QObject* parent = nullptr)
      : QAbstractTableModel(parent), headers_(std::move(headers)) {}

  int rowCount(const QModelIndex& parent = {}) const override;
  int columnCount(const QModelIndex& parent = {}) const override;
  QVariant data(const QModelIndex&, int role) const override;
  QVariant headerData(int section, Qt::Orientation, int role) const override;
  /// The row whose KeyRole is `key`, or -1.
  int rowOf(qint64 key) const;

 protected:
  void replaceRows(QVector<Row> rows);

 private:
  QStringList headers_;
  QVector<Row> rows_;
};

}  // namespace wqgui
