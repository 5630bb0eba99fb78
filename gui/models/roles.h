// Roles every wqscope item model answers besides Qt's: views sort, select and
// highlight through them, so the models need no widgets or colours.
#pragma once

#include <Qt>

namespace wqgui {

enum Role {
  KeyRole = Qt::UserRole,  // what a row stands for: a pool id, a worker pid, a workqueue id
  SortRole,                // the value to sort by (numbers as numbers)
  AlarmRole,               // true: the row is part of a lockup or stall (a stuck pool, an item waiting in it)
  PoolRole,                // the pool a row belongs to (-1: none)
  TimeRole,                // an alert's detection time (ns)
  DimRole,                 // true: not yet true at the current instant (an alert raised later)
};

}  // namespace wqgui
