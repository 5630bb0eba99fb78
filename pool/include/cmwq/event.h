// State transitions the core reports through Driver::emit(). Numbers are
// explicit and append-only: recordings and probes carry them.
#pragma once

#include <cmwq/constants.h>

#include <cstdint>

namespace cmwq {

struct Pool;
struct Worker;
struct Work;
struct Workqueue;

enum class EventKind : std::uint16_t {
  WqCreate = 1,
  WqDestroy = 2,
  PoolCreate = 3,
  WorkerCreate = 4,
  WorkerDestroy = 5,
  WorkerIdle = 6,
  WorkerBusy = 7,
  WorkerSleep = 8,
  WorkerWake = 9,
  WorkQueue = 10,
  WorkActivate = 11,
  WorkStart = 12,
  WorkEnd = 13,
  WorkCancel = 14,
  Flush = 15,
  Barrier = 16,
  ManagerStart = 17,
  ManagerEnd = 18,
  CreateFail = 19,
  Mayday = 20,
  RescuerWake = 21,
  Rescue = 22,
  CpuOffline = 23,
  CpuOnline = 24,
  Freeze = 25,
  Thaw = 26,
  WatchdogTouch = 27,
  Lockup = 28,
  MaxActive = 29,
  CpuIntensive = 30,
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
