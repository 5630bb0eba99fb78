// wqscope-gui: a recording's pools, workqueues, worklists and workers at any
// instant, or a recording that `wqscope record`/`watch` is still writing — or
// that it starts itself, for a process or a command.
#include "collector.h"
#include "import/import_log.h"
#include "import/import_trace.h"
#include "watchdog.h"
#include "main_window.h"

#include <duration.h>

#include <QApplication>
#include <QCommandLineParser>
#include <QFile>
#include <QFileInfo>
#include <QTemporaryDir>
#include <QTimer>

#include <cstdio>
#include <optional>
#include <stdexcept>

namespace {

/// What to import before showing `path`: a kernel trace (trace.dat, or tracer text), a kernel log
/// (any other file that is neither a recording, SQLite, nor an event stream), or nothing.
enum class Import { None, Trace, Log };
Import to_import(const QString& path) {
  QFile f(path);
  if (!f.open(QIODevice::ReadOnly)) return Import::None;  // the session says why it cannot read it
  QByteArray head = f.read(16 * 1024);
  if (head.startsWith("SQLite format 3")) return Import::None;
  if (wqscope::is_kernel_trace(std::string_view(head.constData(), static_cast<std::size_t>(head.size()))))
    return Import::Trace;
  if (wqscope::is_event_stream(std::as_bytes(std::span(head.constData(), static_cast<std::size_t>(head.size())))))
    return Import::None;
  return Import::Log;
}

}  // namespace

int main(int argc, char** argv) {
  QCommandLineParser cli;
  cli.setApplicationDescription(QStringLiteral(
      "Shows a wqscope recording: pools, workqueues, worklists, workers and lockups at any instant.\n\n"
      "Examples:\n"
      "  wqscope-gui trace.db                 open a recording at its end\n"
      "  wqscope-gui --at 60s trace.db        open it 60 s after its start\n"
      "  wqscope-gui console.log              a kernel log with lockup reports: imported, one instant per report\n"
      "  wqscope-gui trace.dat                a kernel trace (trace.dat, ftrace, trace-cmd or perf text): imported\n"
      "  sudo wqscope record -o t.db -- ./app &  wqscope-gui --live t.db\n"
      "                                       follow a recording as it is written (no privileges needed)\n"
      "  wqscope-gui --pid 1234               record process 1234 and follow it live\n"
      "  wqscope-gui -o t.db -- ./app args    start ./app, record it into t.db and follow it live\n"
      "                                       (the collector runs as root: directly, or through pkexec or sudo -n)"));
  QCommandLineOption help({QStringLiteral("h"), QStringLiteral("help")}, QStringLiteral("Show this help."));
  cli.addOption(help);
  QCommandLineOption live(QStringLiteral("live"), QStringLiteral("Follow a recording that is being written."));
  // Durations and instants as every wqscope option takes them (docs/collector.md: Durations and instants).
  QCommandLineOption at(QStringLiteral("at"), QStringLiteral("Open at this instant: a time from the start (60, 60s, "
                                                             "800ms) or @NS on the target's CLOCK_MONOTONIC."),
                        QStringLiteral("T"));
  QCommandLineOption thresh(QStringLiteral("thresh"),
                            QStringLiteral("Lockup threshold of the banner, e.g. 30s, 500ms or 1.5 (seconds); default "
                                           "30s, the kernel's."),
                            QStringLiteral("D"), QStringLiteral("30s"));
  QCommandLineOption screenshot(QStringLiteral("screenshot"),
                                QStringLiteral("Write the window as a PNG once the recording is shown, and exit "
                                               "(works without a display: QT_QPA_PLATFORM=offscreen)."),
                                QStringLiteral("FILE"));
  QCommandLineOption pid(QStringLiteral("pid"), QStringLiteral("Record this process (it uses libcmwq) and follow it."),
                         QStringLiteral("PID"));
  QCommandLineOption output({QStringLiteral("o"), QStringLiteral("output")},
                            QStringLiteral("With --pid or -- CMD: the recording to create (default: a new file in "
                                           "$XDG_RUNTIME_DIR or the temp directory)."),
                            QStringLiteral("FILE"));
  cli.addOptions({live, at, thresh, screenshot, pid, output});
  cli.addPositionalArgument(QStringLiteral("trace.db"), QStringLiteral("The recording."));
  cli.addPositionalArgument(QStringLiteral("-- CMD ARGS"), QStringLiteral("Start CMD, record it and follow it."));
  // Parsed before QApplication exists, so --help and usage errors need no display.
  auto usage = [&] { return cli.helpText().replace(QStringLiteral("<executable_name>"), QStringLiteral("wqscope-gui")); };
  QStringList args, command;
  for (int i = 0; i < argc; ++i) args << QString::fromLocal8Bit(argv[i]);
  if (qsizetype dashes = args.indexOf(QStringLiteral("--")); dashes > 0) {
    command = args.mid(dashes + 1);
    args = args.mid(0, dashes);
  }
  auto bad = [&](const QString& why) {
    std::fprintf(stderr, "wqscope-gui: %s\n%s", qPrintable(why), qPrintable(usage()));
    return 2;
  };
  if (!cli.parse(args)) return bad(cli.errorText());
  if (cli.isSet(help)) {
    std::printf("%s", qPrintable(usage()));
    return 0;
  }
  bool record = cli.isSet(pid) || args.size() < argc;
  if (args.size() < argc && command.isEmpty()) return bad(QStringLiteral("give a command after --"));
  if (cli.isSet(pid) && !command.isEmpty()) return bad(QStringLiteral("give either --pid PID or -- CMD, not both"));
  if (record && !cli.positionalArguments().isEmpty())
    return bad(QStringLiteral("--pid and -- CMD make their own recording: give no trace.db (-o FILE names it)"));
  if (!record && cli.positionalArguments().size() != 1) return bad(QStringLiteral("give one recording"));
  if (!record && cli.isSet(output)) return bad(QStringLiteral("-o FILE names the recording of --pid or -- CMD"));
  if (record && (cli.isSet(at) || cli.isSet(live))) return bad(QStringLiteral("--pid and -- CMD always follow live: "
                                                                             "--at and --live are for recordings"));
  wqgui::Collector::Target target{0, command};
  if (cli.isSet(pid)) {
    bool ok = false;
    target.pid = cli.value(pid).toInt(&ok);
    if (!ok || target.pid <= 0) return bad(QStringLiteral("--pid '%1' is not a process id").arg(cli.value(pid)));
  }
  QString db = record ? (cli.isSet(output) ? cli.value(output) : wqgui::Collector::freshRecordingPath())
                      : cli.positionalArguments().front();
  if (record && QFileInfo::exists(db))
    return bad(QStringLiteral("%1 already exists; wqscope never overwrites a recording: choose another -o").arg(db));

  // A kernel log or trace (not a recording): imported into a recording of its own, gone at exit.
  std::optional<QTemporaryDir> imported;
  if (Import kind = record ? Import::None : to_import(db); kind != Import::None) {
    imported.emplace();
    QString out = imported->filePath(QStringLiteral("report.db"));
    try {
      if (kind == Import::Trace)
        wqscope::import_kernel_trace(db.toStdString(), out.toStdString(), 30'000'000'000, wqscope::kQueueStorm);
      else
        wqscope::import_kernel_log(db.toStdString(), out.toStdString());
    } catch (const std::runtime_error& e) {
      std::fprintf(stderr, "wqscope-gui: %s\n", e.what());
      return 1;
    }
    db = out;
  }

  wqgui::Session::Options opt;
  opt.live = record || cli.isSet(live);
  std::optional<std::int64_t> first_at;  // from the start, or absolute with @NS
  bool absolute = false;
  try {
    opt.thresh_ns = cmwq::cli::parse_duration(cli.value(thresh).toStdString(), "--thresh");
    if (cli.isSet(at)) {
      std::string text = cli.value(at).toStdString();
      absolute = text.starts_with('@');
      first_at = cmwq::cli::parse_instant(text, "--at", 0);
    }
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "wqscope-gui: %s\n", e.what());
    return 2;
  }

  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("wqscope-gui"));
  // Declared first, so destroyed last: after the window, it stops the collector and lets it finish the file.
  std::optional<wqgui::Collector> collector;
  bool collector_ok = true;
  wqgui::Session session(db, opt);
  if (record) {
    collector.emplace(wqgui::Collector::locate(), target, db);
    // Said on stderr too; and a screenshot that will never come (no recording) ends the program.
    auto ended = [&](bool done_ok, const QString& text) {
      collector_ok = done_ok;
      if (done_ok) return;
      std::fprintf(stderr, "wqscope-gui: %s\n", qPrintable(text));
      if (cli.isSet(screenshot) && session.extent().end_ns == 0) QTimer::singleShot(0, &app, [&] { app.exit(1); });
    };
    QObject::connect(&*collector, &wqgui::Collector::failed, [ended](const QString& text) { ended(false, text); });
    QObject::connect(&*collector, &wqgui::Collector::finished, ended);
  }
  wqgui::MainWindow window(&session);
  if (collector) window.watchCollector(&*collector);
  window.resize(1400, 900);
  window.show();
  if (cli.isSet(screenshot)) {
    QObject::connect(&window, &wqgui::MainWindow::stateShown, &app, [&] {
      // The chart is computed after the state: give it a moment, then grab.
      QTimer::singleShot(1500, &app, [&] {
        bool saved = window.grab().save(cli.value(screenshot));
        std::fprintf(stderr, "wqscope-gui: %s %s\n", saved ? "wrote" : "cannot write", qPrintable(cli.value(screenshot)));
        app.exit(saved ? 0 : 1);
      });
    }, Qt::SingleShotConnection);
  }
  if (collector) collector->start();
  session.start(first_at, absolute);
  int status = app.exec();
  if (collector && QFileInfo::exists(db)) std::fprintf(stderr, "wqscope-gui: the recording is %s\n", qPrintable(db));
  return status ? status : collector_ok ? 0 : 1;
}
