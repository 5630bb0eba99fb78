#include "explain_model.h"

#include "explain.h"

namespace wqgui {

ExplainModel::ExplainModel(QObject* parent) : RowsModel({tr("Why"), tr("Pool"), tr("Worker")}, parent) {}

void ExplainModel::setState(const State& s) {
  QVector<Row> rows;
  if (s.model) {
    wqscope::Explanation e = wqscope::explain(*s.model, s.now, wqscope::default_thresh_ns(*s.model));
    auto add = [&](const std::string& text, int pool, int worker, bool alarm) {
      Row r;
      r.key = rows.size();  // the same explanation keeps its rows (and the selection)
      r.pool = pool;
      r.alarm = alarm;
      r.cells = {{QString::fromStdString(text), {}, QString::fromStdString(text)},
                 {pool >= 0 ? QVariant(pool) : QVariant(), pool, {}},
                 {worker ? QVariant(worker) : QVariant(), worker, {}}};
      rows.push_back(std::move(r));
    };
    for (const auto& stuck : e.pools) {
      add("pool " + std::to_string(stuck.pool) + ":" + stuck.identity + " stuck for " + std::to_string(stuck.stuck_s) +
              "s",
          stuck.pool, 0, true);
      for (const auto& c : stuck.causes) add("  " + c.text, stuck.pool, c.worker, false);
      for (const auto& chain : stuck.chains) {
        // A chain selects where it ends: the worker (and its pool) that everything before it waits for.
        const auto& last = chain.links.back();
        add("  " + wqscope::chain_text(chain), last.pool, last.kind == wqscope::Explanation::Link::Worker ? last.pid : 0,
            chain.deadlock);
      }
    }
    for (const auto& chain : e.deadlocks) add("DEADLOCK: " + wqscope::chain_text(chain), chain.links.back().pool,
                                              chain.links.back().pid, true);
  }
  replaceRows(std::move(rows));
}

}  // namespace wqgui
