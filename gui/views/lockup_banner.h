// The lockup banner: the kernel's lines for every pool stuck at the current
// instant, in red across the top of the window. Clicking a line selects its
// pool (a lockup) or its workqueue (a stall).
#pragma once

#include "watchdog.h"

#include <QLabel>

#include <vector>

namespace wqgui {

class LockupBanner : public QLabel {
  Q_OBJECT
 public:
  explicit LockupBanner(QWidget* parent = nullptr);
  void setAlerts(const std::vector<wqscope::Alert>&);

 Q_SIGNALS:
  void poolClicked(int pool);
  void workqueueClicked(const QString& name);
};

}  // namespace wqgui
