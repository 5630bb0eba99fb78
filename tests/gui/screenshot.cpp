// Renders the main window offscreen for docs/: records a simulated story,
// opens it at an instant, optionally shows the tabs whose names contain TAB, and
// saves QWidget::grab().
//   gui_screenshot SCENARIO SECONDS OUT.png [TAB] [THRESH_MS]
#include "main_window.h"
#include "sim_recording.h"

#include <QApplication>
#include <QTabWidget>
#include <QTemporaryDir>
#include <QTimer>

#include <cstdio>

int main(int argc, char** argv) {
  QApplication app(argc, argv);
  if (argc < 4) {
    std::fprintf(stderr, "usage: gui_screenshot SCENARIO SECONDS OUT.png [TAB] [THRESH_MS]\n");
    return 2;
  }
  QTemporaryDir dir;
  QString db = dir.filePath("story.db");
  wqgui::Session::Options opt;
  if (argc > 5) opt.thresh_ns = std::stoll(argv[5]) * 1'000'000;
  wqgui::test::recordScenario(argv[1], db.toStdString(), opt.thresh_ns);
  wqgui::Session session(db, opt);
  wqgui::MainWindow window(&session);
  window.resize(1400, 860);
  window.show();
  QString tab = argc > 4 ? argv[4] : "";
  int states = 0;
  QObject::connect(&window, &wqgui::MainWindow::stateShown, [&] {
    if (++states > 1) return;
    for (auto* tabs : window.findChildren<QTabWidget*>())
      for (int i = 0; !tab.isEmpty() && i < tabs->count(); ++i)
        if (tabs->tabText(i).contains(tab, Qt::CaseInsensitive)) tabs->setCurrentIndex(i);
    // The chart arrives after the state: give it a moment, then grab.
    QTimer::singleShot(1500, [&] {
      bool ok = window.grab().save(argv[3]);
      std::fprintf(stderr, "gui_screenshot: %s %s\n", ok ? "wrote" : "could not write", argv[3]);
      app.exit(ok ? 0 : 1);
    });
  });
  session.start(static_cast<std::int64_t>(std::stod(argv[2]) * 1e9));
  return app.exec();
}
