// The item models over golden recordings of simulated stories: checked by
// QAbstractItemModelTester, and showing what the kernel's dump shows.
#include "alerts_model.h"
#include "format.h"
#include "loader.h"
#include "pools_model.h"
#include "ingest.h"
#include "recording.h"
#include "series.h"
#include "session.h"
#include "sim_recording.h"
#include "workers_model.h"
#include "worklist_model.h"
#include "workqueues_model.h"

#include <cmwq/sim.h>

#include <QAbstractItemModelTester>
#include <QFile>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTest>

using namespace wqgui;

namespace {
constexpr std::int64_t kSec = 1'000'000'000;
}

class ModelsTest : public QObject {
  Q_OBJECT
  QTemporaryDir dir_;
  QString seed004_, busy_;

  /// The loader's answer to `seek(at)`, run on this thread.
  State stateAt(const QString& db, std::int64_t at) {
    Loader loader(db, 30 * kSec);
    QSignalSpy states(&loader, &Loader::stateReady);
    QSignalSpy failures(&loader, &Loader::failed);
    loader.open();
    loader.seek(at);
    [&] { QCOMPARE(failures.count(), 0); }();
    [&] { QCOMPARE(states.count(), 1); }();
    return states.isEmpty() ? State{} : states.front().front().value<State>();
  }

  /// 300 groups of 100 items, one every millisecond, more than the CPUs can run: about 150 000 events, a
  /// snapshot in them, and a worklist that only grows. Made once.
  QString longRecording() {
    QString scn = dir_.filePath("long.scn"), db = dir_.filePath("long.db");
    if (QFile::exists(db)) return db;
    QFile f(scn);
    [&] { QVERIFY(f.open(QIODevice::WriteOnly)); }();
    f.write("cpus 2\nworkqueue bound max_active=8\n");
    for (int i = 0; i < 300; ++i)
      f.write(QString("work b%1x bound fn=bound_fn count=100: burn 30us\nat %1ms queue b%1x on %2\n").arg(i).arg(i % 2).toUtf8());
    f.close();
    test::recordScenario(scn.toStdString(), db.toStdString());
    return db;
  }

  template <class M>
  void check(M& model) {
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    // Every instant of a story, so resets and data changes are both exercised under the tester.
    for (std::int64_t t : {std::int64_t(0), 1 * kSec, 2 * kSec, 30 * kSec, 60 * kSec, 61 * kSec}) model.setState(stateAt(seed004_, t));
    for (std::int64_t t = 0; t < 160'000'000; t += 2'500'000) model.setState(stateAt(busy_, t));
  }

 private Q_SLOTS:
  void initTestCase() {
    QVERIFY(dir_.isValid());
    seed004_ = dir_.filePath("seed004.db");
    busy_ = dir_.filePath("busy.db");
    test::recordScenario(CMWQ_SCENARIOS "/seed004-hotplug-lockup.scn", seed004_.toStdString());
    test::recordScenario(CMWQ_TEST_SCENARIOS "/busy-dumps.scn", busy_.toStdString());
  }

  void poolsModelPassesTheTester() {
    PoolsModel m;
    check(m);
  }
  void workqueuesModelPassesTheTester() {
    WorkqueuesModel m;
    check(m);
  }
  void workersModelPassesTheTester() {
    WorkersModel m;
    check(m);
  }
  void worklistModelPassesTheTester() {
    WorklistModel m;
    QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
    m.setScope(0);
    m.setState(stateAt(seed004_, 60 * kSec));
    m.setScope(1);
    m.setScope(0);
    for (std::int64_t t = 0; t < 160'000'000; t += 2'500'000) m.setState(stateAt(busy_, t));
  }
  void alertsModelPassesTheTester() {
    AlertsModel m;
    QAbstractItemModelTester tester(&m, QAbstractItemModelTester::FailureReportingMode::QtTest);
    wqscope::RecordingReader reader(seed004_.toStdString());
    Tables tables(reader);
    m.setAlerts(tables.alerts(), 0);
    m.setNow(0);
    m.setNow(61 * kSec);
    m.setAlerts({}, 0);
  }

  void seed004PoolZeroIsStuckWithTwoItems() {
    State s = stateAt(seed004_, 60 * kSec);
    PoolsModel pools;
    pools.setState(s);
    int row = pools.rowOf(0);
    QVERIFY(row >= 0);
    QCOMPARE(pools.index(row, PoolsModel::Identity).data().toString(), QString("cpus=0 node=0 flags=0x4 nice=0"));
    QCOMPARE(pools.index(row, PoolsModel::Flags).data().toString(), QString("DISASSOCIATED"));
    QCOMPARE(pools.index(row, PoolsModel::Worklist).data().toInt(), 2);
    QCOMPARE(pools.index(row, PoolsModel::Workers).data().toInt(), 0);
    QCOMPARE(pools.index(row, PoolsModel::Hung).data().toString(), QString("59 s"));
    QVERIFY(pools.index(row, 0).data(AlarmRole).toBool());

    WorklistModel worklist;
    worklist.setState(s);
    worklist.setScope(0);
    QCOMPARE(worklist.rowCount(), 2);
    QCOMPARE(worklist.index(0, WorklistModel::Function).data().toString(), QString("sync_rcu_exp_select_node_cpus"));
    QCOMPARE(worklist.index(0, WorklistModel::Workqueue).data().toString(), QString("rcu_par_gp"));
    QCOMPARE(worklist.index(0, WorklistModel::Age).data().toString(), QString("59 s"));
    QVERIFY(worklist.index(1, WorklistModel::Function).data().toString().startsWith("BAR("));

    // The watchdog's line, as the kernel prints it.
    QCOMPARE(s.stuck.size(), std::size_t(1));
    QCOMPARE(QString::fromStdString(s.stuck.front().message),
             QString("BUG: workqueue lockup - pool cpus=0 node=0 flags=0x4 nice=0 stuck for 59s!"));
  }

  void seed004WorkqueueTreeShowsThePwqOnTheStuckPool() {
    WorkqueuesModel wqs;
    wqs.setState(stateAt(seed004_, 60 * kSec));
    QModelIndex rcu;
    for (int i = 0; i < wqs.rowCount(); ++i)
      if (wqs.index(i, 0).data().toString() == "rcu_par_gp") rcu = wqs.index(i, 0);
    QVERIFY(rcu.isValid());
    QCOMPARE(wqs.index(rcu.row(), WorkqueuesModel::Flags).data().toString(), QString("WQ_MEM_RECLAIM"));
    QCOMPARE(wqs.rowCount(rcu), 1);
    QCOMPARE(wqs.index(0, 0, rcu).data().toString(), QString("pwq 0: cpus=0 node=0 flags=0x4 nice=0"));
    QCOMPARE(wqs.index(0, WorkqueuesModel::Active, rcu).data().toString(), QString("1/256"));
    QVERIFY(wqs.index(0, 0, rcu).data(AlarmRole).toBool());
  }

  // Names are bytes from the target: the GUI shows them as the model keeps them (untrusted.h),
  // and tooltips as plain text, never as HTML.
  void hostileNamesAreShownEscaped() {
    auto m = std::make_shared<wqscope::Model>();
    cmwq_ev_hello hello{};
    hello.h = {CMWQ_EV_HELLO, sizeof hello, 0, 1, 0, 1, 1};
    hello.possible_cpus = 1;
    m->apply(cmwq::Record{&hello.h});
    cmwq_ev_name n{};
    n.h = {CMWQ_EV_NAME, sizeof n, 0, 1, 0, 1, 2};
    n.id = 7;
    n.name_kind = CMWQ_NAME_WQ;
    std::snprintf(n.text, sizeof n.text, "%s", "bad\xff\xfe <b>wq</b> \x1b[31m\xe2\x80\xae");
    m->apply(cmwq::Record{&n.h});
    cmwq_ev_state e{};
    e.h = {CMWQ_EV_WQ_CREATE, sizeof e, 0, 1, 0, 1, 3};
    e.wq = 1;
    e.func = 7;
    e.pool = -1;
    e.arg = 1;
    m->apply(cmwq::Record{&e.h});
    State s;
    s.model = m;
    s.now = 2;
    WorkqueuesModel wqs;
    wqs.setState(s);
    QCOMPARE(wqs.rowCount(), 1);
    QCOMPARE(wqs.index(0, 0).data().toString(), QString("bad\\xff\\xfe <b>wq</b> \\x1b[31m\\xe2\\x80\\xae"));
    QCOMPARE(plainTip("<b>x</b>\n&"), QString("<p style='white-space:pre-wrap'>&lt;b&gt;x&lt;/b&gt;\n&amp;</p>"));
  }

  void seed004AlertsTableHasTheLockup() {
    wqscope::RecordingReader reader(seed004_.toStdString());
    Tables tables(reader);
    auto alerts = tables.alerts();
    QVERIFY(!alerts.empty());
    QVERIFY(alerts.front().kind == wqscope::AlertKind::Lockup);
    QCOMPARE(alerts.front().pool, 0);
  }

  void busyDumpsShowInactiveItemsAndWorkers() {
    State s = stateAt(busy_, 2'500'000);
    WorklistModel worklist;
    worklist.setState(s);
    worklist.setScope(0);
    QStringList lists;
    for (int i = 0; i < worklist.rowCount(); ++i) lists << worklist.index(i, WorklistModel::List).data().toString();
    QVERIFY2(lists.contains("inactive"), qPrintable(lists.join(',')));
    WorkersModel workers;
    workers.setState(s);
    QVERIFY(workers.rowCount() > 0);
  }

  void liveSessionFollowsAGrowingRecording() {
    // The collector's side: records committed in two halves, as `wqscope record` commits every 100 ms.
    auto result = cmwq::sim::run(cmwq::sim::load_scenario(CMWQ_SCENARIOS "/seed004-hotplug-lockup.scn"), true);
    std::vector<cmwq::Record> records;
    cmwq::for_each_record(result.events, [&](const cmwq::Record& r) { records.push_back(r); });
    QString path = dir_.filePath("live.db");
    auto rec = wqscope::Recording::create(path.toStdString(), {"live", 1, 0, "deadlines"});
    wqscope::Ingest ingest(rec.get(), 30 * kSec, wqscope::Ingest::Clock::deadlines);
    auto add = [&](const cmwq::Record& r) {
      ingest.batch(1, CMWQ_STREAM_ID(1, 1), std::span(reinterpret_cast<const std::byte*>(r.h), r.h->size));
    };
    auto half = std::find_if(records.begin(), records.end(), [](auto& r) { return r.h->ts > 30 * kSec; });
    for (auto it = records.begin(); it != half; ++it) add(*it);
    rec->commit();

    Session::Options opt;
    opt.live = true;
    opt.poll_ms = 20;
    Session session(path, opt);
    QSignalSpy states(&session, &Session::stateChanged);
    session.start();
    QTRY_VERIFY_WITH_TIMEOUT(!states.isEmpty(), 10'000);
    QVERIFY(states.last().front().value<State>().now < 30 * kSec);
    QVERIFY(states.last().front().value<State>().stuck.empty());

    for (auto it = half; it != records.end(); ++it) add(*it);
    rec->commit();
    // Following the end: the state of the newest record, with the lockup in the banner's list.
    QTRY_VERIFY_WITH_TIMEOUT(states.last().front().value<State>().now == std::int64_t(records.back().h->ts), 10'000);
    QCOMPARE(states.last().front().value<State>().stuck.size(), std::size_t(1));
  }

  void aLiveChartFollowsTheRecordingAndKeepsItsPeaks() {
    // Extended at 20 instants, as the live loader does: the same peaks per pool as one replay of the
    // whole, in time order, never more than its buckets, and the last point at the end.
    QString db = longRecording();
    wqscope::RecordingReader reader(db.toStdString());
    std::int64_t end = reader.last_ns();
    Series whole = sampleSeries(reader, 0, end);
    LiveSeries live(0, 1'000'000, 100);
    Series followed;
    for (int i = 1; i <= 20; ++i) followed = live.extend(reader, end / 20 * i + (i == 20 ? end % 20 : 0));
    auto peaks = [](const Series& s) {
      std::map<int, std::pair<int, int>> out;
      for (auto& [id, points] : s.pools)
        for (auto& p : points) out[id] = {std::max(out[id].first, p.pending), std::max(out[id].second, p.running)};
      return out;
    };
    QVERIFY(!whole.pools.empty());
    QCOMPARE(peaks(followed), peaks(whole));
    for (auto& [id, points] : followed.pools) {
      QVERIFY(points.size() <= 100);
      QVERIFY(std::is_sorted(points.begin(), points.end(), [](auto& a, auto& b) { return a.t < b.t; }));
    }
  }

  void longRecordingsAreChartedAtTheirSnapshots() {
    QString db = longRecording();
    std::int64_t end = wqscope::RecordingReader(db.toStdString()).last_ns();
    wqscope::RecordingReader reader(db.toStdString());
    Series replayed = sampleSeries(reader, 0, end);
    Series sampled = sampleSeries(reader, 0, end, 1500, 0);  // as if it were long
    QVERIFY(replayed.pools.contains(0) && sampled.pools.contains(0));
    // Its points: each snapshot, then the end, each the state there (no higher than the replay's bucket).
    std::vector<std::int64_t> at;
    for (auto& p : sampled.pools.at(0)) at.push_back(p.t);
    QVERIFY2(at.size() >= 2 && at.back() == end, qPrintable(QString::number(at.size())));
    for (const Series::Point& p : sampled.pools.at(0)) {
      wqscope::Trace trace;
      reader.state_at(trace, p.t);
      const wqscope::Model& m = trace.primary();
      QCOMPARE(p.pending, m.pools().at(0).pending);
      QCOMPARE(p.running, m.pools().at(0).nr_running);
      auto bucket = std::find_if(replayed.pools.at(0).rbegin(), replayed.pools.at(0).rend(),
                                 [&](auto& r) { return r.t <= p.t; });
      QVERIFY(bucket != replayed.pools.at(0).rend() && bucket->pending >= p.pending && bucket->running >= p.running);
    }
  }

  void advancingIsSeekingFurther() {
    // The long story: from an instant before its snapshot and from one after it, on to its end.
    QString db = longRecording();
    wqscope::RecordingReader reader(db.toStdString());
    std::int64_t end = reader.last_ns();
    for (std::int64_t from : {end / 10, end * 9 / 10}) {
      wqscope::Trace followed_trace, sought_trace;
      auto pos = reader.state_at(followed_trace, from);
      pos = reader.advance(followed_trace, pos, end);
      QCOMPARE(pos.at, end);
      auto direct = reader.state_at(sought_trace, end);
      QCOMPARE(pos.event, direct.event);
      const wqscope::Model &followed = followed_trace.primary(), &sought = sought_trace.primary();
      // What the views show (the records counted differ: names are applied again on each advance).
      auto shown = [](const wqscope::Model& m) {
        QStringList out;
        for (const auto& [id, p] : m.pools())
          out << QString("pool %1: %2 pending, %3/%4/%5 running/idle/workers")
                     .arg(id).arg(p.pending).arg(p.nr_running).arg(p.nr_idle).arg(p.nr_workers);
        for (const auto& [id, w] : m.workers())
          out << QString("worker %1: %2 %3").arg(id).arg(int(w.state)).arg(w.current.work);
        out << QString("%1 open items, %2 lost").arg(m.open_instances().size()).arg(m.lost());
        return out;
      };
      QCOMPARE(shown(followed), shown(sought));
    }
  }

  void seriesFollowsTheWorklist() {
    wqscope::RecordingReader reader(seed004_.toStdString());
    Series series = sampleSeries(reader, 0, 61 * kSec);
    QVERIFY(series.pools.contains(0));
    QCOMPARE(series.pools.at(0).back().pending, 2);
  }
};

QTEST_GUILESS_MAIN(ModelsTest)
#include "models_test.moc"
