// wqscope-gui: a recording's pools, workqueues, worklists and workers at any
// instant, or a recording that `wqscope record`/`watch` is still writing.
#include "main_window.h"
#include "reader.h"

#include <QApplication>
#include <QCommandLineParser>
#include <QTimer>

#include <cstdio>
#include <stdexcept>

int main(int argc, char** argv) {
  QCommandLineParser cli;
  cli.setApplicationDescription(QStringLiteral(
      "Shows a wqscope recording: pools, workqueues, worklists, workers and lockups at any instant.\n\n"
      "Examples:\n"
      "  wqscope-gui trace.db                 open a recording at its end\n"
      "  wqscope-gui --at 60s trace.db        open it 60 s after its start\n"
      "  sudo wqscope record -o t.db -- ./app &  wqscope-gui --live t.db\n"
      "                                       follow a recording as it is written (no privileges needed)"));
  QCommandLineOption help({QStringLiteral("h"), QStringLiteral("help")}, QStringLiteral("Show this help."));
  cli.addOption(help);
  QCommandLineOption live(QStringLiteral("live"), QStringLiteral("Follow a recording that is being written."));
  QCommandLineOption at(QStringLiteral("at"), QStringLiteral("Open at this instant: seconds from the start (60, 60s, 800ms)."),
                        QStringLiteral("T"));
  QCommandLineOption thresh(QStringLiteral("thresh"),
                            QStringLiteral("Lockup threshold of the banner in seconds (default 30, the kernel's)."),
                            QStringLiteral("S"), QStringLiteral("30"));
  QCommandLineOption screenshot(QStringLiteral("screenshot"),
                                QStringLiteral("Write the window as a PNG once the recording is shown, and exit "
                                               "(works without a display: QT_QPA_PLATFORM=offscreen)."),
                                QStringLiteral("FILE"));
  cli.addOptions({live, at, thresh, screenshot});
  cli.addPositionalArgument(QStringLiteral("trace.db"), QStringLiteral("The recording."));
  // Parsed before QApplication exists, so --help and usage errors need no display.
  auto usage = [&] { return cli.helpText().replace(QStringLiteral("<executable_name>"), QStringLiteral("wqscope-gui")); };
  QStringList args;
  for (int i = 0; i < argc; ++i) args << QString::fromLocal8Bit(argv[i]);
  if (!cli.parse(args) || (!cli.isSet(help) && cli.positionalArguments().size() != 1)) {
    std::fprintf(stderr, "wqscope-gui: %s\n%s", qPrintable(cli.errorText().isEmpty() ? QStringLiteral("give one recording")
                                                                                   : cli.errorText()),
                 qPrintable(usage()));
    return 2;
  }
  if (cli.isSet(help)) {
    std::printf("%s", qPrintable(usage()));
    return 0;
  }

  wqgui::Session::Options opt;
  opt.live = cli.isSet(live);
  bool ok = false;
  double seconds = cli.value(thresh).toDouble(&ok);
  if (!ok || seconds <= 0) {
    std::fprintf(stderr, "wqscope-gui: --thresh '%s' is not a number of seconds > 0\n", qPrintable(cli.value(thresh)));
    return 2;
  }
  opt.thresh_ns = static_cast<std::int64_t>(seconds * 1e9);
  std::optional<std::int64_t> offset;
  if (cli.isSet(at)) {
    try {
      if (cli.value(at).startsWith(u'@')) throw std::invalid_argument("@NS");
      offset = wqscope::parse_instant(cli.value(at).toStdString(), wqscope::RunInfo{});
    } catch (const std::invalid_argument&) {
      std::fprintf(stderr, "wqscope-gui: --at '%s' is not an instant: give seconds from the start (60, 60s, 800ms)\n",
                   qPrintable(cli.value(at)));
      return 2;
    }
  }

  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("wqscope-gui"));
  wqgui::Session session(cli.positionalArguments().front(), opt);
  wqgui::MainWindow window(&session);
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
  session.start(offset);
  return app.exec();
}
