// The kernel's concurrency-management predicates (kernel/workqueue.c), free of
// side effects. Each reads only its pool; all callers hold its lock (or the exclusive one).
#pragma once

#include <cmwq/core.h>

namespace cmwq {

/// The 2010 gcwq: a highpri item at the head of the worklist starts regardless of nr_running.
inline bool highpri_pending(const Pool& pool) {
  const Work* w = pool.worklist.front();
  return pool.shared_highpri && w && w->pwq && (w->pwq->wq->flags & WQ_HIGHPRI);
}

/// Work is pending and no worker of the pool is running (or a 2010 highpri item waits).
inline bool need_more_worker(const Pool& pool) {
  return !pool.worklist.empty() && (pool.nr_running == 0 || highpri_pending(pool));
}

/// An idle worker exists, so a worker may take work without first creating one.
inline bool may_start_working(const Pool& pool) { return pool.nr_idle > 0; }

/// A worker that finished an item keeps going while it is the only one running.
inline bool keep_working(const Pool& pool) {
  return !pool.worklist.empty() && (pool.nr_running <= 1 || highpri_pending(pool));
}

/// More work than workers: the manager must create one.
inline bool need_to_create_worker(const Pool& pool) {
  bool at_limit = pool.max_workers && pool.nr_workers >= pool.max_workers;
  return need_more_worker(pool) && !may_start_working(pool) && !at_limit;
}

/// Keep 2 idle workers, then one more per MAX_IDLE_WORKERS_RATIO busy ones.
inline bool too_many_workers(const Pool& pool) {
  bool managing = pool.flags & POOL_MANAGER_ACTIVE;
  int nr_idle = pool.nr_idle + managing;  // the manager counts as idle
  int nr_busy = pool.nr_workers - nr_idle;
  return nr_idle > 2 && (nr_idle - 2) * MAX_IDLE_WORKERS_RATIO >= nr_busy;
}

}  // namespace cmwq
