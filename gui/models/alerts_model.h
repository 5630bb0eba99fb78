// What the collector raised while recording (the alerts table); alerts raised
// after the current instant are marked DimRole.
#pragma once

#include "rows_model.h"
#include "state.h"

namespace wqgui {

class AlertsModel : public RowsModel {
  Q_OBJECT
 public:
  enum Column { At, Kind, Pool, Stuck, Message };
  explicit AlertsModel(QObject* parent = nullptr);
  void setAlerts(const std::vector<wqscope::Alert>&, std::int64_t start_ns);
  void setNow(std::int64_t now);

 private:
  void rebuild();
  std::vector<wqscope::Alert> alerts_;
  std::int64_t start_ = 0, now_ = INT64_MAX;
};

}  // namespace wqgui
