// The producer: lives on its own thread and does everything that touches
// SQLite, so the GUI thread never waits for the disk. Each slot answers with
// signals (values, never pointers into its own state) and then done().
#pragma once

#include "series.h"
#include "state.h"
#include "tables.h"

#include <QObject>
#include <QString>

#include <memory>
#include <optional>

namespace wqgui {

class Loader : public QObject {
  Q_OBJECT
 public:
  Loader(QString path, std::int64_t thresh_ns) : path_(std::move(path)), thresh_(thresh_ns) {}

  /// Opens (or re-opens, to see a live recording grow): emits extentChanged and alertsChanged.
  void open();
  void seek(qint64 at);
  /// The chart's series and the worker timeline's bars over the whole recording.
  void sample();

 Q_SIGNALS:
  void extentChanged(const wqgui::Extent&);
  void alertsChanged(const std::vector<wqscope::Alert>&);
  void stateReady(const wqgui::State&);
  void seriesReady(const wqgui::Series&);
  void barsReady(const std::vector<wqgui::Bar>&);
  void failed(const QString& message);
  void done();

 private:
  /// Runs `f`, turning what it throws into failed() (and forgetting the recording, so open() retries).
  template <class F>
  void guarded(F&& f);

  QString path_;
  std::int64_t thresh_;
  std::unique_ptr<wqscope::RecordingReader> reader_;
  std::unique_ptr<Tables> tables_;
  Extent extent_;
  /// The last state shown at the recording's newest instant: a live view goes on from there.
  struct Tail {
    wqscope::Trace trace;
    wqscope::RecordingReader::Position pos;
  };
  std::optional<Tail> tail_;
  std::optional<LiveSeries> live_series_;  // the chart of a recording being written
};

}  // namespace wqgui

Q_DECLARE_METATYPE(std::vector<wqgui::Bar>)
