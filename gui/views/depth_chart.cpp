#include "depth_chart.h"

#include <QChart>
#include <QLineSeries>
#include <QPen>
#include <QValueAxis>

#include <algorithm>
#include <cmath>

namespace wqgui {

DepthChart::DepthChart(QWidget* parent)
    : QChartView(parent),
      pending_(new QLineSeries),
      running_(new QLineSeries),
      now_(new QLineSeries),
      x_(new QValueAxis),
      y_(new QValueAxis) {
  auto* chart = new QChart;
  chart->setMargins(QMargins(4, 4, 4, 4));
  chart->legend()->setAlignment(Qt::AlignTop);
  pending_->setPen(QPen(QColor(0xc6, 0x28, 0x28), 2));
  running_->setPen(QPen(QColor(0x15, 0x65, 0xc0), 2));
  now_->setPen(QPen(QColor(0x44, 0x44, 0x44), 1, Qt::DashLine));
  now_->setName(tr("now"));
  for (QLineSeries* s : {pending_, running_, now_}) chart->addSeries(s);
  x_->setTitleText(tr("seconds"));
  y_->setLabelFormat(QStringLiteral("%d"));
  chart->addAxis(x_, Qt::AlignBottom);
  chart->addAxis(y_, Qt::AlignLeft);
  for (QLineSeries* s : {pending_, running_, now_}) {
    s->attachAxis(x_);
    s->attachAxis(y_);
  }
  setChart(chart);
  setRenderHint(QPainter::Antialiasing);
  setMinimumHeight(220);
  rebuild();
}

void DepthChart::setSeries(const Series& series, std::int64_t start_ns, std::int64_t end_ns) {
  series_ = series;
  start_ = start_ns;
  end_ = end_ns;
  rebuild();
}

void DepthChart::setPool(int pool) {
  pool_ = pool;
  rebuild();
}

void DepthChart::setNow(std::int64_t now) {
  at_ = now;
  double t = double(now - start_) / 1e9;
  now_->replace(QList<QPointF>{{t, y_->min()}, {t, y_->max()}});
}

void DepthChart::rebuild() {
  // All pools share one bucket grid, so summing is adding points of equal times.
  std::map<std::int64_t, std::pair<int, int>> sum;
  for (auto& [id, points] : series_.pools)
    if (pool_ < 0 || id == pool_)
      for (const Series::Point& p : points) {
        auto& [pending, running] = sum[p.t];
        pending += p.pending;
        running += p.running;
      }
  QList<QPointF> pending, running;
  int top = 1;
  for (auto& [t, v] : sum) {
    double x = double(t - start_) / 1e9;
    pending << QPointF(x, v.first);
    running << QPointF(x, v.second);
    top = std::max({top, v.first, v.second});
  }
  QString scope = pool_ < 0 ? tr("all pools") : tr("pool %1").arg(pool_);
  pending_->setName(tr("worklist length (%1)").arg(scope));
  running_->setName(tr("nr_running (%1)").arg(scope));
  pending_->replace(pending);
  running_->replace(running);
  double span = std::max(double(end_ - start_) / 1e9, 1e-3);
  // Fixed ticks while the range and the interval change: dynamic ticks of an old interval over a new
  // range could be millions of labels.
  x_->setTickType(QValueAxis::TicksFixed);
  x_->setRange(0, span);
  // Ticks at round seconds (1, 2 or 5 × 10^k), about six of them, whatever the recording's length.
  double step = std::pow(10.0, std::floor(std::log10(span / 6)));
  for (double m : {2.0, 5.0, 10.0})
    if (span / step > 8) step = std::pow(10.0, std::floor(std::log10(span / 6))) * m;
  x_->setTickAnchor(0);
  x_->setTickInterval(step);
  x_->setTickType(QValueAxis::TicksDynamic);
  x_->setLabelFormat(step >= 1 ? QStringLiteral("%.0f") : step >= 0.1 ? QStringLiteral("%.1f") : QStringLiteral("%.3f"));
  y_->setRange(0, top + 1);
  y_->setTickCount(std::min(top + 2, 6));
  setNow(at_);
}

}  // namespace wqgui
