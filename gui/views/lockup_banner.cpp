#include "lockup_banner.h"

#include <QStringList>

namespace wqgui {

LockupBanner::LockupBanner(QWidget* parent) : QLabel(parent) {
  setObjectName(QStringLiteral("lockupBanner"));
  setTextFormat(Qt::RichText);
  setWordWrap(true);
  setContentsMargins(10, 6, 10, 6);
  setStyleSheet(QStringLiteral("#lockupBanner { background: #b71c1c; color: white; font-family: monospace; "
                               "font-weight: bold; border-radius: 3px; }"));
  setCursor(Qt::PointingHandCursor);
  connect(this, &QLabel::linkActivated, this, [this](const QString& link) {
    if (link.startsWith(QStringLiteral("pool:"))) Q_EMIT poolClicked(link.mid(5).toInt());
    else if (link.startsWith(QStringLiteral("wq:"))) Q_EMIT workqueueClicked(link.mid(3));
  });
  hide();
}

void LockupBanner::setAlerts(const std::vector<wqscope::Alert>& alerts) {
  QStringList lines;
  for (const wqscope::Alert& a : alerts) {
    QString text = QString::fromStdString(a.message).toHtmlEscaped();
    QString link = a.pool >= 0 ? QStringLiteral("pool:%1").arg(a.pool)
                               : QStringLiteral("wq:") + QString::fromStdString(a.wq).toHtmlEscaped();
    lines << QStringLiteral("<a href=\"%1\" style=\"color: white; text-decoration: none\">%2</a>").arg(link, text);
  }
  setText(lines.join(QStringLiteral("<br>")));
  setToolTip(alerts.empty() ? QString() : tr("Click a line to select its pool or workqueue"));
  setVisible(!alerts.empty());
}

}  // namespace wqgui
