// wqscope-gui: a recording's pools, workqueues, worklists and workers at any
// instant, or a recording that `wqscope record`/`watch` is still writing.
#include "main_window.h"
#include "reader.h"

#include <QApplication>
#include <QCommandLineParser>

#include <cstdio>
#include <stdexcept>

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  QApplication::setApplicationName(QStringLiteral("wqscope-gui"));
  QCommandLineParser cli;
  cli.setApplicationDescription(QStringLiteral(
      "Shows a wqscope recording: pools, workqueues, worklists, workers and lockups at any instant.\n\n"
      "Examples:\n"
      "  wqscope-gui trace.db                 open a recording at its end\n"
      "  wqscope-gui --at 60s trace.db        open it 60 s after its start\n"
      "  sudo wqscope record -o t.db -- ./app &  wqscope-gui --live t.db\n"
      "                                       follow a recording as it is written (no privileges needed)"));
  cli.addHelpOption();
  QCommandLineOption live(QStringLiteral("live"), QStringLiteral("Follow a recording that is being written."));
  QCommandLineOption at(QStringLiteral("at"), QStringLiteral("Open at this instant: seconds from the start (60, 60s, 800ms)."),
                        QStringLiteral("T"));
  QCommandLineOption thresh(QStringLiteral("thresh"),
                            QStringLiteral("Lockup threshold of the banner in seconds (default 30, the kernel's)."),
                            QStringLiteral("S"), QStringLiteral("30"));
  cli.addOptions({live, at, thresh});
  cli.addPositionalArgument(QStringLiteral("trace.db"), QStringLiteral("The recording."));
  cli.process(app);
  if (cli.positionalArguments().size() != 1) cli.showHelp(2);

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
      if (cli.value(at).startsWith(u'@')) throw std::invalid_argument("--at takes seconds from the start (60, 60s, 800ms)");
      offset = wqscope::parse_instant(cli.value(at).toStdString(), wqscope::RunInfo{});
    } catch (const std::invalid_argument& e) {
      std::fprintf(stderr, "wqscope-gui: %s\n", e.what());
      return 2;
    }
  }

  wqgui::Session session(cli.positionalArguments().front(), opt);
  wqgui::MainWindow window(&session);
  window.resize(1400, 900);
  window.show();
  session.start(offset);
  return app.exec();
}
