// The GUI's own collector: `wqscope record` started as the GUI's child on a
// cmwq-demo story, followed live until its pools, workqueues and workers show,
// then stopped through its stdin; and its failures as messages in the window.
// Recording needs root (CI is root): without it, the recording tests skip.
#include "live_window.h"
#include "reader.h"

#include <QSignalSpy>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>
#include <QTreeView>

#include <unistd.h>

using namespace wqgui;

class CollectorTest : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;

  static int rowsOf(const MainWindow& window, const QString& firstHeader, const QString& secondHeader) {
    for (auto* view : window.findChildren<QAbstractItemView*>()) {
      QAbstractItemModel* m = view->model();
      if (m && m->headerData(0, Qt::Horizontal).toString() == firstHeader &&
          m->headerData(1, Qt::Horizontal).toString() == secondHeader)
        return m->rowCount();
    }
    return -1;
  }

  static bool needRoot() {
    if (::geteuid() == 0) return true;
    qWarning("SKIP: recording needs root (CAP_BPF, CAP_PERFMON); run this test as root, as CI does");
    return false;
  }

 private Q_SLOTS:
  void initTestCase() { QVERIFY(dir_.isValid()); }

  void commandIsRecordedAndFollowedLive() {
    if (!needRoot()) QSKIP("recording needs root (CAP_BPF, CAP_PERFMON)");
    QString db = dir_.filePath("server.db");
    Collector collector(WQSCOPE_BIN, {0, {CMWQ_DEMO, "server", "--seconds", "120"}}, db);
    test::LiveWindow live(collector, db);
    Session& session = live.session;
    MainWindow& window = live.window;
    window.resize(1400, 900);
    window.show();
    QSignalSpy finished(&collector, &Collector::finished);
    collector.start();
    session.start();
    QCOMPARE(collector.how(), QString("as root"));
    // Attaching takes seconds on a busy machine; then the demo's pools, workqueues and workers show.
    QTRY_VERIFY_WITH_TIMEOUT(window.collectorStatus().contains("Ctrl-C to stop"), 60'000);
    QTRY_VERIFY_WITH_TIMEOUT(rowsOf(window, "Pool", "Identity") > 0, 60'000);
    QTRY_VERIFY_WITH_TIMEOUT(rowsOf(window, "Workqueue / pool", "Flags") >= 3, 60'000);
    QTRY_VERIFY_WITH_TIMEOUT(rowsOf(window, "PID", "Pool") > 0, 60'000);
    QVERIFY(window.message().isEmpty());

    // Closing: SIGINT through its stdin; the recording ends cleanly as an interrupted one.
    collector.stop();
    QVERIFY(finished.wait(30'000));
    QVERIFY2(finished.front().at(0).toBool(), qPrintable(finished.front().at(1).toString()));
    QVERIFY2(window.collectorStatus().startsWith("collector exited: wqscope: interrupted"),
             qPrintable(window.collectorStatus()));
    wqscope::RecordingReader reader(db.toStdString());
    QCOMPARE(QString::fromStdString(reader.run().end_reason), QString("interrupted"));
    QVERIFY(reader.run().events > 0);
  }

  void collectorErrorsAreMessagesInTheWindow() {
    if (!needRoot()) QSKIP("recording needs root (CAP_BPF, CAP_PERFMON)");
    QString db = dir_.filePath("nopid.db");
    Collector collector(WQSCOPE_BIN, {99999999, {}}, db);
    test::LiveWindow live(collector, db);
    Session& session = live.session;
    MainWindow& window = live.window;
    QSignalSpy finished(&collector, &Collector::finished);
    collector.start();
    session.start();
    QVERIFY(finished.wait(30'000));
    QVERIFY(!finished.front().at(0).toBool());
    QString expected = "collector exited with status 1 (as root): wqscope record: no process 99999999: check the pid (it may "
                       "have exited)";
    QVERIFY2(window.message().startsWith(expected), qPrintable(window.message()));
    QVERIFY2(window.collectorStatus() == expected, qPrintable(window.collectorStatus()));
  }

  void noCollectorIsAMessage() {
    QString db = dir_.filePath("none.db");
    Collector collector(QString(), {1, {}}, db);
    test::LiveWindow live(collector, db);
    MainWindow& window = live.window;
    QSignalSpy failed(&collector, &Collector::failed);
    collector.start();
    QCOMPARE(failed.count(), 1);
    QVERIFY2(window.message().startsWith("Cannot find the collector: no wqscope next to "), qPrintable(window.message()));
  }
};

QTEST_MAIN(CollectorTest)
#include "collector_test.moc"
