// The main window: lockup banner, pools, workqueues and their pwqs, the
// selected pool's worklist, workers, alerts, the chart and the time scrubber,
// all fed by one Session. A recording that cannot be read is a message in the
// window, not a crash.
#pragma once

#include "session.h"

#include <QMainWindow>

class QAbstractItemModel;
class QDragEnterEvent;
class QDropEvent;
class QLabel;
class QLineEdit;
class QPlainTextEdit;
class QProgressBar;
class QSortFilterProxyModel;
class QStackedWidget;
class QTabWidget;
class QTableView;
class QTreeView;

namespace wqgui {

class AlertsModel;
class Collector;
class DepthChart;
class ExplainModel;
class LockupBanner;
class PoolsModel;
class TimeScrubber;
class WorkerTimeline;
class WorkersModel;
class WorklistModel;
class WorkqueuesModel;

class MainWindow : public QMainWindow {
  Q_OBJECT
 public:
  explicit MainWindow(Session* session, QWidget* parent = nullptr);

  /// Selects `pool` in the pools table (and so shows its worklist and its chart).
  void selectPool(int pool);
  int selectedPool() const { return pool_; }
  /// Selects the first pwq of workqueue `name` in the tree (and so shows its worklist and inactive items).
  void selectWorkqueue(const QString& name);
  /// Shows what `collector` (which writes the session's recording) says, and how it ended.
  void watchCollector(Collector* collector);
  /// The text shown instead of the views when the recording cannot be read ("" when it can).
  QString message() const;
  /// The status bar's line about the collector ("" without one).
  QString collectorStatus() const;

 Q_SIGNALS:
  /// A state arrived and every view shows it.
  void stateShown(qint64 at);

 protected:
  // A file dropped on the window (a kernel log, a recording) opens in a window of its own.
  void dragEnterEvent(QDragEnterEvent*) override;
  void dropEvent(QDropEvent*) override;

 private:
  QWidget* buildViews();
  QTableView* table(QAbstractItemModel* model, QSortFilterProxyModel** proxy, int filterColumn);
  void showState(const State&);
  void showExtent(const Extent&);
  void showFailure(const QString&);
  void refreshMessage();
  void onPoolSelected();
  void onPwqSelected();

  Session* session_;
  PoolsModel* pools_;
  WorkqueuesModel* workqueues_;
  WorklistModel* worklist_;
  WorkersModel* workers_;
  AlertsModel* alerts_;
  QSortFilterProxyModel *poolsProxy_, *workqueuesProxy_, *worklistProxy_, *workersProxy_, *alertsProxy_;
  QStackedWidget* stack_;
  QLabel* message_;
  LockupBanner* banner_;
  QLineEdit* filter_;
  QTableView *poolsView_, *worklistView_, *workersView_, *alertsView_;
  QTreeView* workqueuesView_;
  QTabWidget* tabs_;
  DepthChart* chart_;
  ExplainModel* explain_ = nullptr;  // the explainer's answer (a tab beside the worklist)
  QTableView* explainView_ = nullptr;
  WorkerTimeline* timeline_;
  TimeScrubber* scrubber_;
  QProgressBar* progress_;
  QLabel* runInfo_;
  QLabel* collectorStatus_ = nullptr;
  QPlainTextEdit* collectorLog_ = nullptr;
  QString failure_;       // why the session cannot show the recording
  QString collectorEnd_;  // why the collector is not running (it failed or exited)
  int pool_ = -1;
  bool shown_ = false;  // a state was shown: the first one selects a stuck pool
};

}  // namespace wqgui
