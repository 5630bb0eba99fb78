// Colours for the models' roles: rows of a lockup in red, alerts still in the
// future greyed. The models stay free of QtGui; this is the only place that
// decides how alarm looks.
#pragma once

#include <QIdentityProxyModel>

namespace wqgui {

class AlarmProxy : public QIdentityProxyModel {
  Q_OBJECT
 public:
  using QIdentityProxyModel::QIdentityProxyModel;
  QVariant data(const QModelIndex&, int role) const override;
};

}  // namespace wqgui
