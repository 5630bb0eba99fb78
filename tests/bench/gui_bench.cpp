// The GUI's side of a long recording, through its own Session (the loader
// thread and all), no display needed:
//   gui_bench open DB T1 T2 ...   time to the first state (the recording's end) after opening, the
//                                 latency of seeking to each Ti (ns on the target's clock), and the
//                                 chart's sampling of the whole recording (at the snapshots, as the
//                                 GUI does, and by the full replay it did before)
//   gui_bench live WQSCOPE SECONDS NEW_DB CMD ARGS...
//                                 the GUI's collector recording CMD, followed live: at every state
//                                 shown, how far the instant shown is behind CLOCK_MONOTONIC (the
//                                 events' clock) and behind the newest record committed by then
// Prints one "name value" line per figure, milliseconds.
#include "collector.h"
#include "series.h"
#include "session.h"

#include <QCoreApplication>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QTimer>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <vector>

using namespace wqgui;

namespace {

/// Runs the event loop until `signal` of `sender` fires (or `ms` pass); returns the milliseconds waited.
template <class S, class F>
double waitFor(S* sender, F signal, int ms = 600'000) {
  QEventLoop loop;
  QElapsedTimer t;
  t.start();
  QObject::connect(sender, signal, &loop, &QEventLoop::quit, Qt::SingleShotConnection);
  QTimer::singleShot(ms, &loop, [&] { loop.exit(1); });
  if (loop.exec() != 0) {
    std::fprintf(stderr, "gui_bench: no answer in %d ms\n", ms);
    std::exit(1);
  }
  return t.nsecsElapsed() / 1e6;
}

void failOn(Session& session) {
  QObject::connect(&session, &Session::failed, [](const QString& m) {
    std::fprintf(stderr, "gui_bench: %s\n", qPrintable(m));
    std::exit(1);
  });
}

int open(const QString& db, const QStringList& instants) {
  Session session(db, {});
  failOn(session);
  session.start();
  std::printf("first_state_ms %.1f\n", waitFor(&session, &Session::stateChanged));
  // The chart follows the first state by itself: its series, then the timeline's bars.
  std::printf("series_and_bars_ms %.1f\n", waitFor(&session, &Session::barsChanged));
  for (const QString& at : instants) {
    session.seek(at.toLongLong());
    std::printf("seek_ms %.1f\n", waitFor(&session, &Session::stateChanged));
  }
  // The series alone, on this thread: at the snapshots (what the GUI does), and by a full replay.
  wqscope::RecordingReader reader(db.toStdString());
  for (std::int64_t limit : {std::int64_t(1'000'000), INT64_MAX}) {
    QElapsedTimer t;
    t.start();
    Series s = sampleSeries(reader, session.extent().start_ns, session.extent().end_ns, 1500, limit);
    std::printf("%s %.1f\n", limit == INT64_MAX ? "series_replay_ms" : "series_ms", t.nsecsElapsed() / 1e6);
  }
  return 0;
}

std::int64_t monoNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec * 1'000'000'000LL + ts.tv_nsec;
}

int live(const QString& wqscope, int seconds, const QStringList& command, const QString& db) {
  Collector collector(wqscope, {0, command}, db);
  QObject::connect(&collector, &Collector::failed, [](const QString& m) {
    std::fprintf(stderr, "gui_bench: %s\n", qPrintable(m));
    std::exit(1);
  });
  Session::Options opt;
  opt.live = true;
  Session session(db, opt);
  std::vector<double> lags;
  bool measuring = false;
  std::vector<double> behind;
  QObject::connect(&session, &Session::stateChanged, [&](const State& s) {
    if (!measuring || !s.model || s.model->pools().empty()) return;
    std::int64_t now = monoNs();
    lags.push_back((now - s.now) / 1e6);
    // The newest record committed by now (the collector itself is some way behind the target).
    behind.push_back((wqscope::RecordingReader(db.toStdString()).last_ns() - s.now) / 1e6);
  });
  collector.start();
  session.start();
  // From the first line after attaching ("... (Ctrl-C to stop)"), for `seconds`.
  QEventLoop loop;
  QObject::connect(&collector, &Collector::output, &loop, [&](const QString& line) {
    if (line.contains(QStringLiteral("Ctrl-C to stop"))) loop.quit();
  });
  loop.exec();
  measuring = true;
  QTimer::singleShot(seconds * 1000, &loop, &QEventLoop::quit);
  loop.exec();
  measuring = false;
  collector.stop();
  waitFor(&collector, &Collector::finished, 60'000);
  for (double l : lags) std::printf("lag_ms %.1f\n", l);
  for (double b : behind) std::printf("behind_commit_ms %.1f\n", b);
  return lags.empty() ? 1 : 0;
}

}  // namespace

int main(int argc, char** argv) {
  QCoreApplication app(argc, argv);
  QStringList args = app.arguments().mid(1);
  if (args.size() >= 2 && args[0] == "open") return open(args[1], args.mid(2));
  if (args.size() >= 5 && args[0] == "live")
    return live(args[1], args[2].toInt(), args.mid(4), args[3]);
  std::fprintf(stderr, "usage: gui_bench open DB [NS...] | gui_bench live WQSCOPE SECONDS NEW_DB CMD ARGS...\n");
  return 2;
}
