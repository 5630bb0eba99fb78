// The window wqscope-gui opens with its own collector: following the live recording `db` that the
// collector writes, and showing what the collector says.
#pragma once

#include "collector.h"
#include "main_window.h"

namespace wqgui::test {

struct LiveWindow {
  LiveWindow(Collector& collector, const QString& db) : session(db, live()), window(&session) {
    window.watchCollector(&collector);
  }
  static Session::Options live() {
    Session::Options o;
    o.live = true;
    return o;
  }
  Session session;
  MainWindow window;
};

}  // namespace wqgui::test
