#include "main_window.h"

#include "alarm_proxy.h"
#include "alerts_model.h"
#include "collector.h"
#include "depth_chart.h"
#include "explain_model.h"
#include "format.h"
#include "lockup_banner.h"
#include "pools_model.h"
#include "time_scrubber.h"
#include "worker_timeline.h"
#include "workers_model.h"
#include "worklist_model.h"
#include "workqueues_model.h"

#include "untrusted.h"

#include <QCoreApplication>
#include <QDragEnterEvent>
#include <QDropEvent>
#include <QFileInfo>
#include <QMimeData>
#include <QProcess>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QScrollArea>
#include <QSortFilterProxyModel>
#include <QSplitter>
#include <QStackedWidget>
#include <QStatusBar>
#include <QTabWidget>
#include <QTableView>
#include <QToolBar>
#include <QTreeView>
#include <QVBoxLayout>

namespace wqgui {

namespace {

/// Sorts by SortRole, filters on `column` (-1: every column), colours alarms.
QSortFilterProxyModel* proxyFor(QAbstractItemModel* model, int column, QObject* parent) {
  auto* alarm = new AlarmProxy(parent);
  alarm->setSourceModel(model);
  auto* proxy = new QSortFilterProxyModel(parent);
  proxy->setSourceModel(alarm);
  proxy->setSortRole(SortRole);
  proxy->setFilterKeyColumn(column);
  proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);
  return proxy;
}

}  // namespace

MainWindow::MainWindow(Session* session, QWidget* parent)
    : QMainWindow(parent),
      session_(session),
      pools_(new PoolsModel(this)),
      workqueues_(new WorkqueuesModel(this)),
      worklist_(new WorklistModel(this)),
      workers_(new WorkersModel(this)),
      alerts_(new AlertsModel(this)),
      stack_(new QStackedWidget(this)),
      message_(new QLabel(this)),
      banner_(new LockupBanner(this)),
      filter_(new QLineEdit(this)),
      tabs_(new QTabWidget(this)),
      chart_(new DepthChart(this)),
      timeline_(new WorkerTimeline(this)),
      scrubber_(new TimeScrubber(session->live(), this)),
      progress_(new QProgressBar(this)),
      runInfo_(new QLabel(this)) {
  setWindowTitle(tr("wqscope — %1").arg(QFileInfo(session->path()).fileName()));
  // Labels that show what a recording or the collector says (a command line, names, errors): plain
  // text, never taken for HTML.
  for (QLabel* l : {message_, runInfo_}) l->setTextFormat(Qt::PlainText);
  setAcceptDrops(true);
  message_->setObjectName(QStringLiteral("message"));
  runInfo_->setObjectName(QStringLiteral("runInfo"));
  message_->setAlignment(Qt::AlignCenter);
  message_->setWordWrap(true);
  message_->setTextInteractionFlags(Qt::TextSelectableByMouse);
  message_->setMargin(40);
  refreshMessage();
  stack_->addWidget(message_);
  stack_->addWidget(buildViews());
  setCentralWidget(stack_);

  progress_->setRange(0, 0);  // the loader does not know how far it is: a busy indicator
  progress_->setMaximumWidth(120);
  progress_->setVisible(false);
  statusBar()->addWidget(runInfo_, 1);
  statusBar()->addPermanentWidget(progress_);

  connect(session, &Session::extentChanged, this, &MainWindow::showExtent);
  connect(session, &Session::stateChanged, this, &MainWindow::showState);
  connect(session, &Session::failed, this, &MainWindow::showFailure);
  connect(session, &Session::busyChanged, progress_, &QWidget::setVisible);
  connect(session, &Session::alertsChanged, this,
          [this](const auto& alerts) {
            alerts_->setAlerts(alerts, session_->extent().start_ns);
            // The instants to step between: an imported log's reports (its lockup lines), a recording's lockups.
            std::vector<std::int64_t> lockups;
            for (const wqscope::Alert& a : alerts)
              if (a.kind == wqscope::AlertKind::Lockup) lockups.push_back(a.time_ns);
            scrubber_->setInstants(std::move(lockups));
          });
  connect(session, &Session::seriesChanged, this, [this](const Series& s) {
    chart_->setSeries(s, session_->extent().start_ns, session_->extent().end_ns);
  });
  connect(session, &Session::barsChanged, this, [this](const std::vector<Bar>& bars) {
    timeline_->setBars(bars, session_->extent().start_ns, session_->extent().end_ns);
  });
  connect(scrubber_, &TimeScrubber::seekRequested, session, &Session::seek);
  connect(scrubber_, &TimeScrubber::followToggled, this, [this](bool on) {
    session_->setFollowing(on);
    if (on) session_->seek(session_->extent().end_ns);
  });
  connect(banner_, &LockupBanner::poolClicked, this, &MainWindow::selectPool);
  connect(banner_, &LockupBanner::workqueueClicked, this, &MainWindow::selectWorkqueue);
}

QTableView* MainWindow::table(QAbstractItemModel* model, QSortFilterProxyModel** proxy, int filterColumn) {
  *proxy = proxyFor(model, filterColumn, this);
  auto* view = new QTableView(this);
  view->setModel(*proxy);
  view->setSortingEnabled(true);
  view->sortByColumn(0, Qt::AscendingOrder);
  view->setSelectionBehavior(QAbstractItemView::SelectRows);
  view->setSelectionMode(QAbstractItemView::SingleSelection);
  view->setAlternatingRowColors(true);
  view->verticalHeader()->hide();
  view->verticalHeader()->setDefaultSectionSize(view->fontMetrics().height() + 6);
  view->horizontalHeader()->setStretchLastSection(true);
  view->setWordWrap(false);
  // Columns fit their contents whenever the rows are new (not on every instant: that would jitter).
  connect(*proxy, &QAbstractItemModel::modelReset, view, &QTableView::resizeColumnsToContents);
  return view;
}

QWidget* MainWindow::buildViews() {
  poolsView_ = table(pools_, &poolsProxy_, -1);
  worklistView_ = table(worklist_, &worklistProxy_, -1);
  workersView_ = table(workers_, &workersProxy_, -1);
  alertsView_ = table(alerts_, &alertsProxy_, -1);
  workqueuesProxy_ = proxyFor(workqueues_, WorkqueuesModel::Name, this);
  workqueuesProxy_->setRecursiveFilteringEnabled(true);
  workqueuesProxy_->setAutoAcceptChildRows(true);
  workqueuesView_ = new QTreeView(this);
  workqueuesView_->setModel(workqueuesProxy_);
  workqueuesView_->setSortingEnabled(true);
  workqueuesView_->sortByColumn(0, Qt::AscendingOrder);
  workqueuesView_->setAlternatingRowColors(true);
  workqueuesView_->setUniformRowHeights(true);
  // New workqueues and pwqs appear expanded: the pwqs are what the tree is for.
  connect(workqueuesProxy_, &QAbstractItemModel::modelReset, workqueuesView_, &QTreeView::expandAll);
  connect(workqueuesProxy_, &QAbstractItemModel::layoutChanged, workqueuesView_, &QTreeView::expandAll);
  connect(workqueuesProxy_, &QAbstractItemModel::modelReset, this, [this] {
    for (int c = 0; c < workqueuesProxy_->columnCount(); ++c) workqueuesView_->resizeColumnToContents(c);
  });

  connect(poolsView_->selectionModel(), &QItemSelectionModel::selectionChanged, this, &MainWindow::onPoolSelected);
  connect(workqueuesView_->selectionModel(), &QItemSelectionModel::selectionChanged, this, &MainWindow::onPwqSelected);
  connect(alertsView_, &QTableView::activated, this, [this](const QModelIndex& index) {
    selectPool(index.data(PoolRole).toInt());
    session_->seek(index.data(TimeRole).toLongLong());
  });
  connect(filter_, &QLineEdit::textChanged, this, [this](const QString& text) {
    for (auto* proxy : {workqueuesProxy_, worklistProxy_, workersProxy_}) proxy->setFilterFixedString(text);
  });

  filter_->setPlaceholderText(tr("Filter by workqueue or function"));
  filter_->setClearButtonEnabled(true);
  filter_->setMaximumWidth(320);
  auto* toolbar = addToolBar(tr("Filter"));
  toolbar->setMovable(false);
  toolbar->addWidget(new QLabel(tr(" Filter: "), this));
  toolbar->addWidget(filter_);

  tabs_->addTab(worklistView_, tr("Worklist"));
  tabs_->addTab(workersView_, tr("Workers"));
  tabs_->addTab(alertsView_, tr("Alerts"));
  // Why the stuck pools make no progress, in the explainer's order (no sorting): selecting a row selects
  // the pool it points at, and its worker in the Workers tab.
  explain_ = new ExplainModel(this);
  explainView_ = new QTableView(this);
  explainView_->setModel(explain_);
  explainView_->setSelectionBehavior(QAbstractItemView::SelectRows);
  explainView_->setSelectionMode(QAbstractItemView::SingleSelection);
  explainView_->verticalHeader()->hide();
  explainView_->horizontalHeader()->setStretchLastSection(true);
  explainView_->setWordWrap(false);
  connect(explain_, &QAbstractItemModel::modelReset, explainView_, &QTableView::resizeColumnsToContents);
  connect(explainView_, &QTableView::activated, this, [this](const QModelIndex& index) {
    int pool = index.sibling(index.row(), ExplainModel::Pool).data(SortRole).toInt();
    int worker = index.sibling(index.row(), ExplainModel::Worker).data(SortRole).toInt();
    if (pool >= 0) selectPool(pool);
    if (!worker) return;
    QModelIndexList found = workersProxy_->match(workersProxy_->index(0, 0), KeyRole, worker, 1, Qt::MatchExactly);
    if (found.isEmpty()) return;
    workersView_->selectRow(found.front().row());
    tabs_->setCurrentWidget(workersView_);
  });
  tabs_->addTab(explainView_, tr("Explain"));

  auto* left = new QSplitter(Qt::Vertical, this);
  left->addWidget(poolsView_);
  left->addWidget(workqueuesView_);
  auto* top = new QSplitter(Qt::Horizontal, this);
  top->addWidget(left);
  top->addWidget(tabs_);
  top->setSizes({860, 540});
  left->setSizes({300, 200});
  auto* main = new QSplitter(Qt::Vertical, this);
  main->addWidget(top);
  auto* scroll = new QScrollArea(this);
  scroll->setWidget(timeline_);
  scroll->setWidgetResizable(true);
  auto* bottom = new QTabWidget(this);
  bottom->addTab(chart_, tr("Worklist length and nr_running"));
  bottom->addTab(scroll, tr("Worker timeline"));
  main->addWidget(bottom);
  main->setSizes({520, 260});

  auto* page = new QWidget(this);
  auto* layout = new QVBoxLayout(page);
  layout->setContentsMargins(6, 6, 6, 6);
  layout->addWidget(banner_);
  layout->addWidget(main, 1);
  layout->addWidget(scrubber_);
  return page;
}

QString MainWindow::message() const { return stack_->currentWidget() == message_ ? message_->text() : QString(); }

QString MainWindow::collectorStatus() const { return collectorStatus_ ? collectorStatus_->text() : QString(); }

void MainWindow::watchCollector(Collector* collector) {
  collectorStatus_ = new QLabel(tr("starting the collector…"), this);
  collectorStatus_->setObjectName(QStringLiteral("collectorStatus"));
  collectorStatus_->setTextFormat(Qt::PlainText);
  statusBar()->addPermanentWidget(collectorStatus_);
  // Its lines (and its target's) arrive escaped (Collector::output), shown as plain text.
  collectorLog_ = new QPlainTextEdit(this);
  collectorLog_->setObjectName(QStringLiteral("collectorLog"));
  collectorLog_->setReadOnly(true);
  collectorLog_->setMaximumBlockCount(5000);
  tabs_->addTab(collectorLog_, tr("Collector"));
  auto ended = [this](bool ok, const QString& text) {
    collectorEnd_ = text;
    collectorLog_->appendPlainText(text);
    collectorStatus_->setText(text);
    collectorStatus_->setStyleSheet(ok ? QString() : QStringLiteral("color: #b00020; font-weight: bold"));
    refreshMessage();
  };
  connect(collector, &Collector::output, this, [this, collector](const QString& line) {
    collectorLog_->appendPlainText(line);
    if (collectorEnd_.isEmpty()) collectorStatus_->setText(tr("collector (%1): %2").arg(collector->how(), line));
    refreshMessage();
  });
  connect(collector, &Collector::failed, this, [ended](const QString& text) { ended(false, text); });
  connect(collector, &Collector::finished, this, ended);
}

void MainWindow::showFailure(const QString& text) {
  // A live recording may not exist yet, or be briefly unreadable: the session keeps trying.
  failure_ = session_->live() ? tr("Waiting for the recording:\n\n%1").arg(text)
                              : tr("Cannot show this recording:\n\n%1").arg(text);
  refreshMessage();
  stack_->setCurrentWidget(message_);
}

void MainWindow::refreshMessage() {
  // With a collector, what it says comes first: it is why there is no recording yet, or never will be.
  QStringList parts;
  if (!collectorEnd_.isEmpty()) parts << collectorEnd_;
  else if (collectorStatus_) parts << collectorStatus_->text();
  parts << (failure_.isEmpty() ? tr("Opening %1…").arg(session_->path()) : failure_);
  message_->setText(parts.join(QStringLiteral("\n\n")));
}

void MainWindow::showExtent(const Extent& e) {
  stack_->setCurrentIndex(1);
  scrubber_->setExtent(e.start_ns, e.end_ns);
  const wqscope::RunInfo& r = e.run;
  // Every string of the file, escaped as the terminal commands print them (a crafted file's bidi
  // overrides and controls), in a plain-text label (its markup).
  auto text = [](const std::string& s) { return QString::fromStdString(wqscope::printable(s)); };
  QString status = e.run.end_reason.empty() ? tr("recording") : text(r.end_reason);
  runInfo_->setText(tr("%1 · pid %2 · %3 · %4 events, %5 dropped, %6 lost · %7")
                        .arg(text(r.command))
                        .arg(r.pid)
                        .arg(text(r.host.empty() ? r.kernel : r.host + " " + r.kernel))
                        .arg(r.events)
                        .arg(r.dropped_events)
                        .arg(r.lost_events)
                        .arg(status));
}

void MainWindow::showState(const State& s) {
  pools_->setState(s);
  workqueues_->setState(s);
  worklist_->setState(s);
  workers_->setState(s);
  alerts_->setNow(s.now);
  explain_->setState(s);
  banner_->setAlerts(s.stuck);
  chart_->setNow(s.now);
  timeline_->setNow(s.now);
  scrubber_->setTime(s.now);
  scrubber_->setFollowing(session_->following());
  // The first look at a stuck recording goes to what is stuck.
  if (!shown_ && pool_ < 0 && !s.stuck.empty()) {
    const wqscope::Alert& a = s.stuck.front();
    a.pool >= 0 ? selectPool(a.pool) : selectWorkqueue(QString::fromStdString(a.wq));
  }
  shown_ = true;
  Q_EMIT stateShown(s.now);
}

void MainWindow::dragEnterEvent(QDragEnterEvent* event) {
  if (event->mimeData()->hasUrls()) event->acceptProposedAction();
}

void MainWindow::dropEvent(QDropEvent* event) {
  // A window per file: this one keeps its session; the new process imports a log as it would from the
  // command line (and says why it cannot).
  for (const QUrl& url : event->mimeData()->urls())
    if (url.isLocalFile()) QProcess::startDetached(QCoreApplication::applicationFilePath(), {url.toLocalFile()});
  event->acceptProposedAction();
}

void MainWindow::selectPool(int pool) {
  int row = pools_->rowOf(pool);
  if (row < 0) return;
  QModelIndex index = poolsProxy_->mapFromSource(
      static_cast<QAbstractProxyModel*>(poolsProxy_->sourceModel())->mapFromSource(pools_->index(row, 0)));
  poolsView_->selectionModel()->select(index, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
  poolsView_->scrollTo(index);
  tabs_->setCurrentWidget(worklistView_);
}

void MainWindow::selectWorkqueue(const QString& name) {
  QModelIndexList found = workqueuesProxy_->match(workqueuesProxy_->index(0, 0), Qt::DisplayRole, name, 1, Qt::MatchExactly);
  if (found.isEmpty() || !workqueuesProxy_->hasChildren(found.front())) return;
  QModelIndex pwq = workqueuesProxy_->index(0, 0, found.front());
  workqueuesView_->expand(found.front());
  workqueuesView_->selectionModel()->select(pwq, QItemSelectionModel::ClearAndSelect | QItemSelectionModel::Rows);
  workqueuesView_->scrollTo(pwq);
}

void MainWindow::onPoolSelected() {
  QModelIndexList rows = poolsView_->selectionModel()->selectedRows();
  pool_ = rows.isEmpty() ? -1 : rows.front().data(KeyRole).toInt();
  worklist_->setScope(pool_);
  tabs_->setTabText(0, pool_ < 0 ? tr("Worklist") : tr("Worklist of pool %1").arg(pool_));
  chart_->setPool(pool_);
}

void MainWindow::onPwqSelected() {
  QModelIndexList rows = workqueuesView_->selectionModel()->selectedRows();
  if (rows.isEmpty() || rows.front().data(PoolRole).toInt() < 0) return;
  int pool = rows.front().data(PoolRole).toInt();
  auto wq = rows.front().data(KeyRole).toUInt();
  worklist_->setScope(pool, wq);
  tabs_->setTabText(0, tr("Worklist of pwq %1 (%2)").arg(pool).arg(rows.front().parent().data().toString()));
  tabs_->setCurrentWidget(worklistView_);
}

}  // namespace wqgui
