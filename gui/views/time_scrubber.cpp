#include "time_scrubber.h"

#include "format.h"

#include <QComboBox>
#include <QHBoxLayout>
#include <QLabel>
#include <QSignalBlocker>
#include <QSlider>
#include <QStyle>
#include <QTimer>
#include <QToolButton>

#include <algorithm>

namespace wqgui {

namespace {
constexpr int kTickMs = 100;
constexpr std::int64_t kMs = 1'000'000;
}  // namespace

TimeScrubber::TimeScrubber(bool live, QWidget* parent)
    : QWidget(parent),
      play_(new QToolButton(this)),
      follow_(new QToolButton(this)),
      prev_(new QToolButton(this)),
      next_(new QToolButton(this)),
      slider_(new QSlider(Qt::Horizontal, this)),
      speed_(new QComboBox(this)),
      label_(new QLabel(this)),
      timer_(new QTimer(this)) {
  auto* layout = new QHBoxLayout(this);
  layout->setContentsMargins(0, 0, 0, 0);
  play_->setIcon(style()->standardIcon(QStyle::SP_MediaPlay));
  play_->setCheckable(true);
  play_->setToolTip(tr("Play the recording"));
  follow_->setText(tr("Live"));
  follow_->setCheckable(true);
  follow_->setChecked(live);
  follow_->setToolTip(tr("Follow the newest instant of the recording as it grows"));
  follow_->setVisible(live);
  for (double s : {0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 50.0}) speed_->addItem(QStringLiteral("%1×").arg(s), s);
  speed_->setCurrentIndex(4);
  speed_->setToolTip(tr("Playback speed"));
  label_->setMinimumWidth(label_->fontMetrics().horizontalAdvance(QStringLiteral("00000.000 s / 00000.000 s")));
  label_->setAlignment(Qt::AlignRight | Qt::AlignVCenter);
  layout->addWidget(play_);
  layout->addWidget(speed_);
  layout->addWidget(slider_, 1);
  layout->addWidget(label_);
  layout->addWidget(prev_);
  layout->addWidget(next_);
  layout->addWidget(follow_);
  prev_->setText(tr("◀ Report"));
  prev_->setToolTip(tr("The report (or lockup) before this instant"));
  next_->setText(tr("Report ▶"));
  next_->setToolTip(tr("The report (or lockup) after this instant"));
  prev_->setVisible(false);
  next_->setVisible(false);
  connect(prev_, &QToolButton::clicked, this, [this] {
    auto it = std::lower_bound(instants_.begin(), instants_.end(), at_);
    if (it != instants_.begin()) request(*std::prev(it));
  });
  connect(next_, &QToolButton::clicked, this, [this] {
    auto it = std::upper_bound(instants_.begin(), instants_.end(), at_);
    if (it != instants_.end()) request(*it);
  });
  timer_->setInterval(kTickMs);
  connect(timer_, &QTimer::timeout, this, &TimeScrubber::step);
  connect(play_, &QToolButton::toggled, this, [this](bool on) {
    play_->setIcon(style()->standardIcon(on ? QStyle::SP_MediaPause : QStyle::SP_MediaPlay));
    if (on && at_ >= end_) request(start_);  // play again from the start
    on ? timer_->start() : timer_->stop();
  });
  connect(slider_, &QSlider::valueChanged, this, [this](int ms) { request(start_ + ms * kMs); });
  connect(follow_, &QToolButton::toggled, this, &TimeScrubber::followToggled);
}

void TimeScrubber::setExtent(std::int64_t start_ns, std::int64_t end_ns) {
  start_ = start_ns;
  end_ = end_ns;
  QSignalBlocker block(slider_);
  slider_->setRange(0, int((end_ - start_) / kMs));
  slider_->setPageStep(std::max(1, slider_->maximum() / 20));
  updateLabel();
}

void TimeScrubber::setTime(std::int64_t at) {
  at_ = at;
  QSignalBlocker block(slider_);
  slider_->setValue(int((at - start_) / kMs));
  updateLabel();
}

void TimeScrubber::setInstants(std::vector<std::int64_t> instants) {
  std::sort(instants.begin(), instants.end());
  instants.erase(std::unique(instants.begin(), instants.end()), instants.end());
  instants_ = std::move(instants);
  prev_->setVisible(!instants_.empty());
  next_->setVisible(!instants_.empty());
}

void TimeScrubber::setFollowing(bool on) {
  QSignalBlocker block(follow_);
  follow_->setChecked(on);
}

void TimeScrubber::request(std::int64_t at) {
  at_ = std::clamp(at, start_, end_);
  // Moving away from the end stops following a live recording.
  if (follow_->isVisible() && follow_->isChecked() && at_ < end_) {
    follow_->setChecked(false);
  }
  updateLabel();
  Q_EMIT seekRequested(at_);
}

void TimeScrubber::step() {
  auto advance = std::int64_t(speed_->currentData().toDouble() * kTickMs * kMs);
  request(at_ + advance);
  QSignalBlocker block(slider_);
  slider_->setValue(int((at_ - start_) / kMs));
  if (at_ >= end_) play_->setChecked(false);
}

void TimeScrubber::updateLabel() { label_->setText(instant(at_, start_) + QStringLiteral(" / ") + instant(end_, start_)); }

}  // namespace wqgui
