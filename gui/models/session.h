// The GUI thread's handle on a recording: owns the loader's thread and sends
// it one request at a time, keeping only the latest wish of each kind, so a
// scrubbed slider or a 200 ms live tick never queues up work. Everything it
// learns arrives as signals; failures too.
#pragma once

#include "loader.h"

#include <QElapsedTimer>
#include <QObject>
#include <QThread>
#include <QTimer>

#include <optional>

namespace wqgui {

class Session : public QObject {
  Q_OBJECT
 public:
  struct Options {
    bool live = false;                   // follow a recording that is being written
    std::int64_t thresh_ns = 30'000'000'000;  // the lockup threshold of the banner (the kernel's default)
    int poll_ms = 100;  // live: a look for new records (issue 20's target: the view at most 250 ms behind)
  };
  Session(const QString& path, Options, QObject* parent = nullptr);
  ~Session() override;

  /// Opens the recording; shows the instant `at` ns after its start (`absolute`: at `at` on the
  /// target's clock), within the recording; its end if not given.
  void start(std::optional<std::int64_t> at = std::nullopt, bool absolute = false);
  void seek(std::int64_t at);
  /// Live: keep showing the newest instant as the recording grows (on by default).
  void setFollowing(bool on) { following_ = on; }
  bool following() const { return following_; }
  bool live() const { return opt_.live; }
  const QString& path() const { return path_; }
  const Extent& extent() const { return extent_; }

 Q_SIGNALS:
  void extentChanged(const wqgui::Extent&);
  void alertsChanged(const std::vector<wqscope::Alert>&);
  void stateChanged(const wqgui::State&);
  void seriesChanged(const wqgui::Series&);
  void barsChanged(const std::vector<wqgui::Bar>&);
  void failed(const QString& message);
  void busyChanged(bool busy);

 private:
  void pump();
  void onExtent(const Extent&);
  template <class F>
  void send(F&& f);

  QString path_;
  Options opt_;
  QThread thread_;
  Loader* loader_;
  QTimer poll_;
  QElapsedTimer sampled_;  // live: the chart is re-sampled every few seconds, not every tick
  qint64 sample_cost_ms_ = 0;  // how long the last sampling took
  Extent extent_;
  bool opened_ = false, busy_ = false, loading_ = false, following_ = true, sampling_ = false;
  bool want_open_ = false, want_series_ = false;
  std::optional<std::int64_t> want_at_, first_at_;
  bool first_absolute_ = false;
};

}  // namespace wqgui
