// Kernel workqueue flags and constants, with the kernel's names and values
// (include/linux/workqueue.h, kernel/workqueue.c). Dumps print these numbers,
// so they must match the kernel bit for bit.
#pragma once

#include <cstdint>

namespace cmwq {

/// Nanoseconds: CLOCK_MONOTONIC in the runtime, virtual time in the simulator.
using Time = std::int64_t;

constexpr Time kUsec = 1'000;
constexpr Time kMsec = 1'000'000;
constexpr Time kSec = 1'000'000'000;
constexpr Time kNever = INT64_MAX;

// Workqueue flags (`workqueue %s: flags=0x%x`).
enum : unsigned {
  WQ_BH = 1u << 0,  // 6.9+: items run in the CPU's softirq-like context and must not sleep
  WQ_UNBOUND = 1u << 1,
  WQ_FREEZABLE = 1u << 2,
  WQ_MEM_RECLAIM = 1u << 3,
  WQ_HIGHPRI = 1u << 4,
  WQ_CPU_INTENSIVE = 1u << 5,
  WQ_SYSFS = 1u << 6,
  WQ_POWER_EFFICIENT = 1u << 7,
  WQ_PERCPU = 1u << 8,
  __WQ_DESTROYING = 1u << 15,
  __WQ_DRAINING = 1u << 16,
  __WQ_ORDERED = 1u << 17,
  __WQ_LEGACY = 1u << 18,
};
/// What WQ_BH may be combined with (__WQ_BH_ALLOWS).
constexpr unsigned kWqBhAllows = WQ_BH | WQ_HIGHPRI | WQ_PERCPU;
/// Flags a caller may pass to alloc_workqueue(); anything else is rejected.
constexpr unsigned kWqUserFlags = WQ_BH | WQ_UNBOUND | WQ_FREEZABLE | WQ_MEM_RECLAIM | WQ_HIGHPRI |
                                  WQ_CPU_INTENSIVE | WQ_SYSFS | WQ_POWER_EFFICIENT | WQ_PERCPU |
                                  __WQ_ORDERED | __WQ_LEGACY;

// Pool flags (`flags=0x%x` in pool identities).
enum : unsigned {
  POOL_BH = 1u << 0,
  POOL_MANAGER_ACTIVE = 1u << 1,
  POOL_DISASSOCIATED = 1u << 2,
  POOL_BH_DRAINING = 1u << 3,
};

// Worker flags.
enum : unsigned {
  WORKER_DIE = 1u << 1,
  WORKER_IDLE = 1u << 2,
  WORKER_PREP = 1u << 3,
  WORKER_CPU_INTENSIVE = 1u << 6,
  WORKER_UNBOUND = 1u << 7,
  WORKER_REBOUND = 1u << 8,
  WORKER_NOT_RUNNING = WORKER_PREP | WORKER_CPU_INTENSIVE | WORKER_UNBOUND | WORKER_REBOUND,
};

constexpr int WQ_MAX_ACTIVE = 512;
constexpr int WQ_UNBOUND_MAX_ACTIVE = WQ_MAX_ACTIVE;
constexpr int WQ_DFL_ACTIVE = WQ_MAX_ACTIVE / 2;
constexpr int WQ_DFL_MIN_ACTIVE = 8;  // 6.9+: the least max_active a node of an unbound wq gets
constexpr int WQ_NAME_LEN = 32;
constexpr int WORK_NR_COLORS = 16;
constexpr int WORK_CPU_UNBOUND = -1;
constexpr int NUMA_NO_NODE = -1;

constexpr int MAX_IDLE_WORKERS_RATIO = 4;
constexpr Time IDLE_WORKER_TIMEOUT = 300 * kSec;
constexpr Time MAYDAY_INITIAL_TIMEOUT = 10 * kMsec;
constexpr Time MAYDAY_INTERVAL = 100 * kMsec;
constexpr Time CREATE_COOLDOWN = 1 * kSec;
constexpr int HIGHPRI_NICE_LEVEL = -20;
constexpr int RESCUER_NICE_LEVEL = -20;
constexpr Time WQ_CPU_INTENSIVE_THRESH = 10'000 * kUsec;
constexpr int WQ_CPU_INTENSIVE_WARNING_THRESH = 4;
constexpr Time WQ_WATCHDOG_THRESH = 30 * kSec;

}  // namespace cmwq
