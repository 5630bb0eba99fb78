#include "alerts_model.h"

#include "format.h"

namespace wqgui {

AlertsModel::AlertsModel(QObject* parent)
    : RowsModel({tr("At"), tr("Kind"), tr("Pool"), tr("Stuck"), tr("Message")}, parent) {}

void AlertsModel::setAlerts(const std::vector<wqscope::Alert>& alerts, std::int64_t start_ns) {
  alerts_ = alerts;
  start_ = start_ns;
  rebuild();
}

void AlertsModel::setNow(std::int64_t now) {
  now_ = now;
  rebuild();
}

void AlertsModel::rebuild() {
  QVector<Row> rows;
  for (const wqscope::Alert& a : alerts_) {
    Row& r = rows.emplace_back();
    r.key = int(rows.size()) - 1;
    r.pool = a.pool;
    r.time = a.time_ns;
    r.dim = a.time_ns > now_;
    r.alarm = !r.dim && wqscope::is_stuck(a.kind);
    QString message = QString::fromStdString(a.message);
    r.cells = {{instant(a.time_ns, start_), qint64(a.time_ns), {}},
               {QString::fromUtf8(wqscope::name(a.kind).data(), qsizetype(wqscope::name(a.kind).size())), {}, {}},
               {a.pool >= 0 ? QVariant(a.pool) : QVariant(), {}, {}},
               {duration(a.stuck_ns), qint64(a.stuck_ns), {}},
               {message, {}, message}};
  }
  replaceRows(std::move(rows));
}

}  // namespace wqgui
