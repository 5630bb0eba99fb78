// State transitions the core reports through Driver::emit(). The numbers are
// the schema's (cmwq/events.h): recordings and probes carry them.
#pragma once

#include <cmwq/constants.h>
#include <cmwq/events.h>

#include <cstdint>

namespace cmwq {

struct Pool;
struct Worker;
struct Work;
struct Workqueue;

enum class EventKind : std::uint16_t {
  WqCreate = CMWQ_EV_WQ_CREATE,
  WqDestroy = CMWQ_EV_WQ_DESTROY,
  PoolCreate = CMWQ_EV_POOL_CREATE,
  WorkerCreate = CMWQ_EV_WORKER_CREATE,
  WorkerDestroy = CMWQ_EV_WORKER_DESTROY,
  WorkerIdle = CMWQ_EV_WORKER_IDLE,
  WorkerBusy = CMWQ_EV_WORKER_BUSY,
  WorkerSleep = CMWQ_EV_WORKER_SLEEP,
  WorkerWake = CMWQ_EV_WORKER_WAKE,
  WorkQueue = CMWQ_EV_WORK_QUEUE,
  WorkActivate = CMWQ_EV_WORK_ACTIVATE,
  WorkStart = CMWQ_EV_WORK_START,
  WorkEnd = CMWQ_EV_WORK_END,
  WorkCancel = CMWQ_EV_WORK_CANCEL,
  Flush = CMWQ_EV_FLUSH,
  Barrier = CMWQ_EV_BARRIER,
  ManagerStart = CMWQ_EV_MANAGER_START,
  ManagerEnd = CMWQ_EV_MANAGER_END,
  CreateFail = CMWQ_EV_CREATE_FAIL,
  Mayday = CMWQ_EV_MAYDAY,
  RescuerWake = CMWQ_EV_RESCUER_WAKE,
  Rescue = CMWQ_EV_RESCUE,
  CpuOffline = CMWQ_EV_CPU_OFFLINE,
  CpuOnline = CMWQ_EV_CPU_ONLINE,
  Freeze = CMWQ_EV_FREEZE,
  Thaw = CMWQ_EV_THAW,
  WatchdogTouch = CMWQ_EV_WATCHDOG_TOUCH,
  Lockup = CMWQ_EV_LOCKUP,
  MaxActive = CMWQ_EV_MAX_ACTIVE,
  CpuIntensive = CMWQ_EV_CPU_INTENSIVE,
  BarrierDone = CMWQ_EV_BARRIER_DONE,
  WorkAssign = CMWQ_EV_WORK_ASSIGN,
  OffCpu = CMWQ_EV_OFF_CPU,
  OnCpu = CMWQ_EV_ON_CPU,
};

struct Event {
  Time time;
  EventKind kind;
  const Pool* pool;
  const Worker* worker;
  const Work* work;
  const Workqueue* wq;
  std::int64_t arg;  // kind-specific: cpu, max_active, stuck ns, ...
};

}  // namespace cmwq
