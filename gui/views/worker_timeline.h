// One row per worker over the whole recording: the items it ran as bars
// (from work_items), its waits off the CPU shaded (from off_cpu; red when the
// pool was not told), and a line at the current instant.
#pragma once

#include "tables.h"

#include <QWidget>

#include <map>
#include <vector>

namespace wqgui {

class WorkerTimeline : public QWidget {
  Q_OBJECT
 public:
  explicit WorkerTimeline(QWidget* parent = nullptr);
  void setBars(const std::vector<Bar>&, std::int64_t start_ns, std::int64_t end_ns);
  void setNow(std::int64_t now);
  QSize sizeHint() const override;

 protected:
  void paintEvent(QPaintEvent*) override;
  bool event(QEvent*) override;  // tooltips: the bar under the mouse

 private:
  QRectF barRect(const Bar&) const;
  double x(std::int64_t t) const;
  std::map<int, int> rows_;  // worker pid -> row
  std::vector<Bar> bars_;
  std::int64_t start_ = 0, end_ = 1, now_ = 0;
};

}  // namespace wqgui
