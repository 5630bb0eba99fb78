// The time scrubber: a slider over the recording, play/pause at a chosen
// speed, steps between its reports, and (live) a button to keep following
// the newest instant.
#pragma once

#include <QWidget>

#include <cstdint>
#include <vector>

class QComboBox;
class QLabel;
class QSlider;
class QTimer;
class QToolButton;

namespace wqgui {

class TimeScrubber : public QWidget {
  Q_OBJECT
 public:
  explicit TimeScrubber(bool live, QWidget* parent = nullptr);
  void setExtent(std::int64_t start_ns, std::int64_t end_ns);
  /// Shows `at` without asking for it (the state at `at` has arrived).
  void setTime(std::int64_t at);
  void setFollowing(bool on);
  /// Instants to step between (an imported kernel log's reports, a recording's lockups): buttons
  /// to the one before and after the shown instant; hidden while there are none.
  void setInstants(std::vector<std::int64_t> instants);
  std::int64_t time() const { return at_; }

 Q_SIGNALS:
  void seekRequested(qint64 at);
  void followToggled(bool on);

 private:
  void request(std::int64_t at);
  void step();
  void updateLabel();

  QToolButton *play_, *follow_, *prev_, *next_;
  std::vector<std::int64_t> instants_;  // ascending
  QSlider* slider_;
  QComboBox* speed_;
  QLabel* label_;
  QTimer* timer_;
  std::int64_t start_ = 0, end_ = 0, at_ = 0;
};

}  // namespace wqgui
