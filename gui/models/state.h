// What the loader thread hands the GUI thread: values, never shared mutable
// state. A State is one instant of the recording; the Model in it is never
// changed after it is published, so item models read it without locks.
#pragma once

#include "model.h"
#include "reader.h"
#include "watchdog.h"

#include <QMetaType>

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

namespace wqgui {

struct State {
  std::shared_ptr<const wqscope::Model> model;
  std::int64_t now = 0;
  std::int64_t start_ns = 0;  // the recording's start, for times shown as seconds into it
  /// Lockups and stalls the collector's Watchdog sees at `now`: what the banner shows.
  std::vector<wqscope::Alert> stuck;
  /// The workqueue name of each queued item (by work id), and when it was queued: for worklists.
  std::map<std::uint64_t, wqscope::WorkInstance> queued;
};

/// A recording's extent: its run row and its first and last instants.
struct Extent {
  wqscope::RunInfo run;
  std::int64_t start_ns = 0, end_ns = 0;
};

/// A pool's worklist length and nr_running over time, one point per time bucket (the highest value in it).
struct Series {
  struct Point {
    std::int64_t t;
    int pending, running;
  };
  std::map<int, std::vector<Point>> pools;  // only pools that ever had work or running workers
  std::int64_t bucket_ns = 0;
};

}  // namespace wqgui

Q_DECLARE_METATYPE(wqgui::State)
Q_DECLARE_METATYPE(wqgui::Extent)
Q_DECLARE_METATYPE(wqgui::Series)
Q_DECLARE_METATYPE(std::vector<wqscope::Alert>)
