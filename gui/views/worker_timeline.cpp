#include "worker_timeline.h"

#include "format.h"

#include <QHelpEvent>
#include <QPainter>
#include <QToolTip>

#include <cmath>

namespace wqgui {

namespace {
constexpr int kRow = 18, kGutter = 64, kTop = 4;

/// A stable, muted colour per function, so one function reads the same across workers.
QColor colourOf(const std::string& func) {
  return QColor::fromHsv(int(qHash(QString::fromStdString(func)) % 360), 90, 215);
}
}  // namespace

WorkerTimeline::WorkerTimeline(QWidget* parent) : QWidget(parent) {
  setMouseTracking(true);
  setBackgroundRole(QPalette::Base);
  setAutoFillBackground(true);
}

void WorkerTimeline::setBars(const std::vector<Bar>& bars, std::int64_t start_ns, std::int64_t end_ns) {
  bars_ = bars;
  start_ = start_ns;
  end_ = std::max(end_ns, start_ns + 1);
  rows_.clear();
  for (const Bar& b : bars_) rows_.emplace(b.worker, 0);
  int row = 0;
  for (auto& [pid, r] : rows_) r = row++;
  updateGeometry();
  update();
}

void WorkerTimeline::setNow(std::int64_t now) {
  now_ = now;
  update();
}

QSize WorkerTimeline::sizeHint() const { return {600, kTop * 2 + int(rows_.size() + 2) * kRow}; }

double WorkerTimeline::x(std::int64_t t) const {
  return kGutter + double(t - start_) / double(end_ - start_) * (width() - kGutter - 8);
}

QRectF WorkerTimeline::barRect(const Bar& b) const {
  double left = x(b.start_ns), right = x(b.end_ns < 0 ? end_ : b.end_ns);
  int row = rows_.at(b.worker);
  return QRectF(left, kTop + row * kRow + 2, std::max(right - left, 1.5), kRow - 4);
}

void WorkerTimeline::paintEvent(QPaintEvent*) {
  QPainter p(this);
  if (bars_.empty()) {
    p.drawText(rect(), Qt::AlignCenter, tr("No work items ran in this recording yet"));
    return;
  }
  for (auto& [pid, row] : rows_) {
    int y = kTop + row * kRow;
    if (row % 2) p.fillRect(QRect(0, y, width(), kRow), palette().alternateBase());
    p.drawText(QRect(4, y, kGutter - 8, kRow), Qt::AlignVCenter | Qt::AlignRight, QString::number(pid));
  }
  // Items first, waits on top of them: a wait happens inside an item.
  p.setPen(QPen(QColor(0x55, 0x55, 0x55), 0.5));
  for (const Bar& b : bars_) {
    if (b.off_cpu) continue;
    QRectF r = barRect(b);
    p.setBrush(colourOf(b.label));
    p.drawRect(r);
    QString text = QString::fromStdString(b.label);
    if (r.width() > p.fontMetrics().horizontalAdvance(text) + 6) p.drawText(r.adjusted(3, 0, 0, 0), Qt::AlignVCenter, text);
  }
  for (const Bar& b : bars_)
    if (b.off_cpu) p.fillRect(barRect(b), QBrush(b.hidden ? QColor(0xc6, 0x28, 0x28) : QColor(0x60, 0x60, 0x60),
                                                 Qt::BDiagPattern));
  // A time axis under the rows: seconds from the start at round steps.
  int axis = kTop + int(rows_.size()) * kRow + 4;
  double span = double(end_ - start_) / 1e9, step = std::pow(10.0, std::floor(std::log10(span / 6)));
  if (span / step > 15) step *= 5;
  else if (span / step > 8) step *= 2;
  p.setPen(palette().color(QPalette::Mid));
  p.drawLine(QPointF(kGutter, axis), QPointF(width() - 8, axis));
  p.setPen(palette().color(QPalette::Text));
  for (double t = 0; t <= span + step / 2; t += step) {
    double px = x(start_ + std::int64_t(t * 1e9));
    p.drawLine(QPointF(px, axis), QPointF(px, axis + 4));
    p.drawText(QRectF(px - 40, axis + 4, 80, kRow), Qt::AlignHCenter | Qt::AlignTop,
               QString::number(t, 'f', step >= 1 ? 0 : step >= 0.1 ? 1 : step >= 0.01 ? 2 : 3));
  }
  p.setPen(QPen(QColor(0x44, 0x44, 0x44), 1, Qt::DashLine));
  p.drawLine(QPointF(x(now_), 0), QPointF(x(now_), height()));
}

bool WorkerTimeline::event(QEvent* e) {
  if (e->type() != QEvent::ToolTip) return QWidget::event(e);
  auto* help = static_cast<QHelpEvent*>(e);
  // The topmost bar under the mouse: waits are drawn over items.
  for (auto it = bars_.rbegin(); it != bars_.rend(); ++it)
    if (barRect(*it).contains(help->pos())) {
      QString what = it->off_cpu ? (it->hidden ? tr("off-CPU without telling the pool") : tr("off-CPU")) : tr("ran");
      QString until = it->end_ns < 0 ? tr("the end (still running)") : instant(it->end_ns, start_);
      QToolTip::showText(help->globalPos(), plainTip(tr("worker %1: %2 %3\n%4 → %5")
                                                         .arg(it->worker)
                                                         .arg(QString::fromStdString(it->label), what,
                                                              instant(it->start_ns, start_), until)));
      return true;
    }
  QToolTip::hideText();
  e->ignore();
  return true;
}

}  // namespace wqgui
