// The ordered worklist of one pool (or of one pwq: its part of the pool's
// worklist), followed by the items max_active holds back on inactive lists.
#pragma once

#include "rows_model.h"
#include "state.h"

namespace wqgui {

class WorklistModel : public RowsModel {
  Q_OBJECT
 public:
  enum Column { Position, Function, Workqueue, List, Queued, Age };
  explicit WorklistModel(QObject* parent = nullptr);
  /// Whose list to show: a pool (wq 0) or one pwq; pool -1 shows nothing.
  void setScope(int pool, std::uint32_t wq = 0);
  int pool() const { return pool_; }
  std::uint32_t workqueue() const { return wq_; }
  void setState(const State&);

 private:
  void rebuild();
  State state_;
  int pool_ = -1;
  std::uint32_t wq_ = 0;
};

}  // namespace wqgui
