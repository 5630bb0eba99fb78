// The explainer's answer at the shown instant (collector/src/explain.h): one row per stuck pool, per
// cause and per wait-for chain, each with the pool and the worker it points at, so that selecting
// a row selects them in the other views.
#pragma once

#include "rows_model.h"
#include "state.h"

namespace wqgui {

class ExplainModel : public RowsModel {
  Q_OBJECT
 public:
  enum Column { What, Pool, Worker };
  explicit ExplainModel(QObject* parent = nullptr);
  /// Explains `s`: its pools stuck past the explainer's threshold for that kind of recording.
  void setState(const State& s);
};

}  // namespace wqgui
