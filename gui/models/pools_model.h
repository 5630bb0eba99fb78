// Worker pools at the current instant, as the kernel's dump names them.
#pragma once

#include "rows_model.h"
#include "state.h"

namespace wqgui {

class PoolsModel : public RowsModel {
  Q_OBJECT
 public:
  enum Column { Id, Identity, Flags, Workers, Idle, Busy, NrRunning, Worklist, Hung, Mayday };
  explicit PoolsModel(QObject* parent = nullptr);
  void setState(const State&);
};

}  // namespace wqgui
