#include "alarm_proxy.h"

#include "roles.h"

#include <QBrush>
#include <QColor>

namespace wqgui {

QVariant AlarmProxy::data(const QModelIndex& index, int role) const {
  if (role == Qt::BackgroundRole && index.data(AlarmRole).toBool()) return QBrush(QColor(0xff, 0xdd, 0xdd));
  if (role == Qt::ForegroundRole) {
    if (index.data(AlarmRole).toBool()) return QBrush(QColor(0x9b, 0x00, 0x00));
    if (index.data(DimRole).toBool()) return QBrush(QColor(0x99, 0x99, 0x99));
  }
  return QIdentityProxyModel::data(index, role);
}

}  // namespace wqgui
