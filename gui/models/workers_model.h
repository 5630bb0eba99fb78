// Workers alive at the current instant: what each is doing and for how long,
// including waits off the CPU that the pool was never told about.
#pragma once

#include "rows_model.h"
#include "state.h"

namespace wqgui {

class WorkersModel : public RowsModel {
  Q_OBJECT
 public:
  enum Column { Pid, Pool, StateColumn, Function, Workqueue, For, Rescuer };
  explicit WorkersModel(QObject* parent = nullptr);
  void setState(const State&);
};

}  // namespace wqgui
