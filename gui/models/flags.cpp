#include "flags.h"

#include <cmwq/constants.h>

#include <QStringList>

#include <utility>

namespace wqgui {

namespace {

QString join(unsigned flags, std::initializer_list<std::pair<unsigned, const char*>> names) {
  QStringList out;
  for (auto [bit, name] : names)
    if (flags & bit) {
      out << name;
      flags &= ~bit;
    }
  if (flags) out << QStringLiteral("0x%1").arg(flags, 0, 16);
  return out.join(QStringLiteral(" | "));
}

}  // namespace

QString workqueueFlags(unsigned flags) {
  QString ordered;
  if ((flags & cmwq::__WQ_ORDERED) && (flags & cmwq::WQ_UNBOUND)) {
    flags &= ~(cmwq::__WQ_ORDERED | cmwq::WQ_UNBOUND);
    ordered = QStringLiteral("ordered");
  }
  QString rest = join(flags, {{cmwq::WQ_BH, "WQ_BH"},
                              {cmwq::WQ_UNBOUND, "WQ_UNBOUND"},
                              {cmwq::WQ_FREEZABLE, "WQ_FREEZABLE"},
                              {cmwq::WQ_MEM_RECLAIM, "WQ_MEM_RECLAIM"},
                              {cmwq::WQ_HIGHPRI, "WQ_HIGHPRI"},
                              {cmwq::WQ_CPU_INTENSIVE, "WQ_CPU_INTENSIVE"},
                              {cmwq::WQ_SYSFS, "WQ_SYSFS"},
                              {cmwq::WQ_POWER_EFFICIENT, "WQ_POWER_EFFICIENT"},
                              {cmwq::WQ_PERCPU, "WQ_PERCPU"},
                              {cmwq::__WQ_DESTROYING, "__WQ_DESTROYING"},
                              {cmwq::__WQ_DRAINING, "__WQ_DRAINING"},
                              {cmwq::__WQ_ORDERED, "__WQ_ORDERED"},
                              {cmwq::__WQ_LEGACY, "__WQ_LEGACY"}});
  if (ordered.isEmpty()) return rest;
  return rest.isEmpty() ? ordered : ordered + QStringLiteral(" | ") + rest;
}

QString poolFlags(unsigned flags) {
  return join(flags, {{cmwq::POOL_BH, "BH"},
                      {cmwq::POOL_MANAGER_ACTIVE, "MANAGER_ACTIVE"},
                      {cmwq::POOL_DISASSOCIATED, "DISASSOCIATED"},
                      {cmwq::POOL_BH_DRAINING, "BH_DRAINING"}});
}

}  // namespace wqgui
