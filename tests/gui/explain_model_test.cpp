// The explain panel's model over an imported kernel log: checked by QAbstractItemModelTester, with
// the rows that point at the stuck pool and the worker that keeps it.
#include "explain_model.h"
#include "import/import_log.h"
#include "loader.h"

#include <QAbstractItemModelTester>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace wqgui;

class ExplainModelTest : public QObject {
  Q_OBJECT
 private Q_SLOTS:
  void pointsAtThePoolAndTheWorker() {
    QTemporaryDir dir;
    QString log = dir.filePath(QStringLiteral("a.log")), db = dir.filePath(QStringLiteral("a.db"));
    QFile f(log);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write("[  842.410023] BUG: workqueue lockup - pool cpus=1 node=0 flags=0x0 nice=0 stuck for 38s!\n"
            "[  842.412100] Showing busy workqueues and worker pools:\n"
            "[  842.412688] workqueue events: flags=0x0\n"
            "[  842.413140]   pwq 6: cpus=1 node=0 flags=0x0 nice=0 active=3 refcnt=4\n"
            "[  842.413155]     in-flight: 57:drain_local_pages_wq BAR(4410)\n"
            "[  842.413170]     pending: 2*vmstat_update\n"
            "[  842.414230] workqueue writeback: flags=0x4a\n"
            "[  842.414711]   pwq 8: cpus=0-1 flags=0x4 nice=0 active=1 refcnt=3\n"
            "[  842.414720]     in-flight: 4410:wb_workfn\n"
            "[  842.414760] pool 6: cpus=1 node=0 flags=0x0 nice=0 hung=38s workers=3 idle: 902 88\n"
            "[  842.414812] pool 8: cpus=0-1 flags=0x4 nice=0 hung=0s workers=4 idle: 4411 130 71\n");
    f.close();
    QCOMPARE(wqscope::import_kernel_log(log.toStdString(), db.toStdString()), 0);

    Loader loader(db, 30'000'000'000);
    QSignalSpy states(&loader, &Loader::stateReady);
    loader.open();
    loader.seek(842'412'100'000);
    QVERIFY(!states.isEmpty());
    ExplainModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setState(states.last().at(0).value<State>());
    QVERIFY(model.rowCount() >= 3);
    QCOMPARE(model.index(0, ExplainModel::Pool).data(SortRole).toInt(), 6);
    bool running = false, chain = false;
    for (int r = 0; r < model.rowCount(); ++r) {
      QString text = model.index(r, ExplainModel::What).data().toString();
      int worker = model.index(r, ExplainModel::Worker).data(SortRole).toInt();
      running |= text.contains(QStringLiteral("worker 57 runs drain_local_pages_wq")) && worker == 57;
      chain |= text.contains(QStringLiteral("worker 4410 (wb_workfn")) && worker == 57 &&
               model.index(r, ExplainModel::Pool).data(SortRole).toInt() == 6;
    }
    QVERIFY(running);
    QVERIFY(chain);
  }
};

QTEST_GUILESS_MAIN(ExplainModelTest)
#include "explain_model_test.moc"
