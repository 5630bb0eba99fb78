// The main window offscreen: the seed004 lockup shows in the banner and the
// views, the banner selects the stuck pool, recordings that cannot be read are
// a message in the window, and crafted strings (a file's, a collector's stderr)
// are shown as escaped plain text.
#include "live_window.h"
#include "main_window.h"
#include "sim_recording.h"

#include <QFile>
#include <QLabel>
#include <QPlainTextEdit>
#include <QProcess>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTableView>
#include <QTemporaryDir>
#include <QTest>

#include <sqlite3.h>
#include <unistd.h>

using namespace wqgui;

namespace {
constexpr std::int64_t kSec = 1'000'000'000;
}

class WindowTest : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  QString seed004_;

  static QTableView* worklistOf(const MainWindow& window) {
    for (auto* view : window.findChildren<QTableView*>())
      if (view->model()->headerData(3, Qt::Horizontal).toString() == "List") return view;
    return nullptr;
  }

  /// The window's message once the session failed to open `path`.
  QString failureFor(const QString& path) {
    Session session(path, {});
    MainWindow window(&session);
    QSignalSpy failed(&session, &Session::failed);
    session.start();
    if (!failed.wait(10'000)) return "(no failure)";
    return window.message();
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    seed004_ = dir_.filePath("seed004.db");
    test::recordScenario(CMWQ_SCENARIOS "/seed004-hotplug-lockup.scn", seed004_.toStdString());
  }

  void seed004LockupShowsInTheBannerAndViews() {
    Session session(seed004_, {});
    MainWindow window(&session);
    window.resize(1400, 900);
    window.show();
    QSignalSpy shown(&window, &MainWindow::stateShown);
    session.start(60 * kSec);
    QVERIFY(shown.wait(10'000));
    QCOMPARE(shown.front().front().toLongLong(), 60 * kSec);

    auto* banner = window.findChild<QLabel*>("lockupBanner");
    QVERIFY(banner && banner->isVisible());
    QVERIFY2(banner->text().contains("BUG: workqueue lockup - pool cpus=0 node=0 flags=0x4 nice=0 stuck for 59s!"),
             qPrintable(banner->text()));
    // The first look goes to the stuck pool: its worklist in order.
    QCOMPARE(window.selectedPool(), 0);
    QTableView* worklist = worklistOf(window);
    QVERIFY(worklist);
    QCOMPARE(worklist->model()->rowCount(), 2);
    QCOMPARE(worklist->model()->index(0, 1).data().toString(), QString("sync_rcu_exp_select_node_cpus"));
    QVERIFY(worklist->model()->index(1, 1).data().toString().startsWith("BAR("));

    // Another pool, then a click on the banner's line: back to pool 0.
    window.selectPool(1);
    QCOMPARE(window.selectedPool(), 1);
    Q_EMIT banner->linkActivated("pool:0");
    QCOMPARE(window.selectedPool(), 0);

    // Before the threshold, no banner.
    session.seek(20 * kSec);
    QVERIFY(shown.wait(10'000));
    QVERIFY(!banner->isVisible());
  }

  void stallSelectsTheWorkqueueAndItsInactiveItem() {
    QString db = dir_.filePath("stall.db");
    test::recordScenario(CMWQ_GUI_SCENARIOS "/stall.scn", db.toStdString(), 5 * kSec);
    Session::Options opt;
    opt.thresh_ns = 5 * kSec;
    Session session(db, opt);
    MainWindow window(&session);
    window.show();
    QSignalSpy shown(&window, &MainWindow::stateShown);
    session.start(10 * kSec);
    QVERIFY(shown.wait(10'000));
    auto* banner = window.findChild<QLabel*>("lockupBanner");
    QVERIFY2(banner->text().contains("wqscope: workqueue stall_wq stalled for 9.0s: 1 item(s) held back by max_active 1"),
             qPrintable(banner->text()));
    QTableView* worklist = worklistOf(window);
    QCOMPARE(worklist->model()->rowCount(), 1);
    QCOMPARE(worklist->model()->index(0, 1).data().toString(), QString("stall_signal_done"));
    QCOMPARE(worklist->model()->index(0, 3).data().toString(), QString("inactive"));
  }

  // A crafted recording's strings (run.command, host, kernel, end reason) in the status bar: as plain
  // text (no markup taken), with controls and bidi overrides escaped, in the text the label renders.
  void craftedRunStringsArePlainEscapedText() {
    QString db = dir_.filePath("crafted.db");
    QVERIFY(QFile::copy(seed004_, db));
    sqlite3* h = nullptr;
    QCOMPARE(sqlite3_open(db.toUtf8().constData(), &h), SQLITE_OK);
    QCOMPARE(sqlite3_exec(h,
                          "UPDATE run SET command = '<b>cmd</b> ' || char(27) || '[31m' || char(8238) || 'x', "
                          "host = '<img src=x>' || char(27) || ']0;title' || char(7), kernel = '<i>6.1</i>', "
                          "end_reason = '<a href=\"x\">done</a>' || char(13)",
                          nullptr, nullptr, nullptr),
             SQLITE_OK);
    sqlite3_close(h);
    Session session(db, {});
    MainWindow window(&session);
    window.show();
    QSignalSpy shown(&window, &MainWindow::stateShown);
    session.start(60 * kSec);
    QVERIFY(shown.wait(10'000));
    auto* info = window.findChild<QLabel*>("runInfo");
    QVERIFY(info);
    QTRY_VERIFY(info->text().contains("cmd"));
    QCOMPARE(info->textFormat(), Qt::PlainText);
    QString text = info->text();
    for (const char* shown_as : {"<b>cmd</b> \\x1b[31m\\xe2\\x80\\xaex", "<img src=x>\\x1b]0;title\\x07 <i>6.1</i>",
                                 "<a href=\"x\">done</a>\\x0d"})
      QVERIFY2(text.contains(QString::fromUtf8(shown_as)), qPrintable(text));
    for (QChar c : text) QVERIFY2(c.isPrint() || c == ' ', qPrintable(QString("U+%1 in %2").arg(c.unicode(), 4, 16, QChar('0')).arg(text)));
  }

  // What the collector and its target write to stderr (a hostile target's bytes: markup, ESC, a bidi
  // override, invalid UTF-8) in the Collector tab and the status bar: plain text, escaped as the
  // terminal commands print it. A stand-in collector says it and exits.
  void craftedCollectorLinesArePlainEscapedText() {
    if (::geteuid() != 0) QSKIP("the collector is started directly as root only (else through pkexec or sudo)");
    QString fake = dir_.filePath("fake-wqscope");
    {
      QFile f(fake);
      QVERIFY(f.open(QIODevice::WriteOnly));
      f.write("#!/bin/sh\nprintf 'target: <b>x</b> \\033[31mred \\342\\200\\256rev \\377\\376 end\\n' >&2\nexit 1\n");
    }
    QVERIFY(QFile::setPermissions(fake, QFile::ReadOwner | QFile::WriteOwner | QFile::ExeOwner));
    QString db = dir_.filePath("collector-lines.db");
    Collector collector(fake, {1, {}}, db);
    test::LiveWindow live(collector, db);
    MainWindow& window = live.window;
    QSignalSpy finished(&collector, &Collector::finished);
    collector.start();
    QVERIFY(finished.wait(10'000));
    const QString escaped = QString::fromUtf8("target: <b>x</b> \\x1b[31mred \\xe2\\x80\\xaerev \\xff\\xfe end"),
                  ended = "collector exited with status 1 (as root): " + escaped;
    auto* log = window.findChild<QPlainTextEdit*>("collectorLog");
    QVERIFY(log);
    QCOMPARE(log->toPlainText(), escaped + "\n" + ended);
    QCOMPARE(window.collectorStatus(), ended);
    QCOMPARE(window.findChild<QLabel*>("collectorStatus")->textFormat(), Qt::PlainText);
    QVERIFY2(window.message().startsWith(ended), qPrintable(window.message()));
    for (const QString& text : {log->toPlainText(), window.message()})
      for (QChar c : text)
        QVERIFY2(c.isPrint() || c == ' ' || c == '\n', qPrintable(QString("U+%1 in %2").arg(c.unicode(), 4, 16, QChar('0')).arg(text)));
  }

  void missingRecordingIsAMessage() {
    QString path = dir_.filePath("missing.db");
    QCOMPARE(failureFor(path), "Cannot show this recording:\n\n" + path +
                                   ": cannot read the recording: No such file or directory");
  }

  void corruptRecordingIsAMessage() {
    // A damaged recording: its file header survives, the schema page after it does not.
    QString path = dir_.filePath("cut.db");
    QVERIFY(QFile::copy(seed004_, path));
    QFile f(path);
    QVERIFY(f.open(QIODevice::ReadWrite));
    QVERIFY(f.seek(100));
    f.write(QByteArray(8192, '\x5a'));
    f.close();
    QString message = failureFor(path);
    QVERIFY2(message.startsWith("Cannot show this recording:\n\n" + path + ": "), qPrintable(message));
    QVERIFY2(message.contains("corrupt") || message.contains("malformed"), qPrintable(message));
  }

  void lockedRecordingIsAMessage() {
    // Another program holds the recording with an exclusive lock and a write transaction open.
    if (QStandardPaths::findExecutable("sqlite3").isEmpty()) QSKIP("needs the sqlite3 command to hold a lock");
    QString path = dir_.filePath("locked.db");
    QVERIFY(QFile::copy(seed004_, path));
    QProcess holder;
    holder.start("sqlite3", {path});
    QVERIFY(holder.waitForStarted());
    holder.write("PRAGMA locking_mode = EXCLUSIVE;\nBEGIN EXCLUSIVE;\nSELECT 'holding';\n");
    QByteArray said;
    QTRY_VERIFY_WITH_TIMEOUT((said += holder.readAllStandardOutput()).contains("holding"), 10'000);
    // The reader's busy timeout ends the wait: a message naming the file, the holder and what to do.
    QString message = failureFor(path);
    QString expected = QString("Cannot show this recording:\n\n%1: is locked by another program (sqlite3, pid %2 holds "
                               "an exclusive lock; SQLite says \"database is locked\"): wait for it to finish, or copy "
                               "the file and open the copy")
                           .arg(path)
                           .arg(holder.processId());
    QCOMPARE(message, expected);
    holder.closeWriteChannel();
    QVERIFY(holder.waitForFinished(10'000));
    // Released: it opens.
    Session session(path, {});
    QSignalSpy opened(&session, &Session::extentChanged);
    session.start();
    QVERIFY(opened.wait(10'000));
  }

  void foreignFilesAreMessages() {
    QString text = dir_.filePath("notes.db");
    QFile f(text);
    QVERIFY(f.open(QIODevice::WriteOnly));
    f.write(QByteArray(4096, 'x'));
    f.close();
    QVERIFY2(failureFor(text).contains("is not a SQLite database"), qPrintable(failureFor(text)));

    QString other = dir_.filePath("other.db");
    sqlite3* db = nullptr;
    sqlite3_open(other.toUtf8().constData(), &db);
    sqlite3_exec(db, "PRAGMA user_version = 1; CREATE TABLE t(x)", nullptr, nullptr, nullptr);
    sqlite3_close(db);
    QVERIFY2(failureFor(other).contains("not a wqscope recording"), qPrintable(failureFor(other)));
  }
};

QTEST_MAIN(WindowTest)
#include "window_test.moc"
