// Worklist length and nr_running over the whole recording, for the selected
// pool (or all pools summed), with a marker at the current instant.
#pragma once

#include "state.h"

#include <QChartView>

class QLineSeries;
class QValueAxis;

namespace wqgui {

class DepthChart : public QChartView {
  Q_OBJECT
 public:
  explicit DepthChart(QWidget* parent = nullptr);
  void setSeries(const Series&, std::int64_t start_ns, std::int64_t end_ns);
  /// -1: all pools.
  void setPool(int pool);
  void setNow(std::int64_t now);

 private:
  void rebuild();
  Series series_;
  std::int64_t start_ = 0, end_ = 0, at_ = 0;
  int pool_ = -1;
  QLineSeries *pending_, *running_, *now_;
  QValueAxis *x_, *y_;
};

}  // namespace wqgui
