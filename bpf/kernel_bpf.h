/* What bpf/kernel.bpf.c hands to user space in kernel mode: one record per workqueue tracepoint hit
 * or kworker scheduling change, with the kernel structures' fields it needs read on the spot (CO-RE).
 * The collector turns them into the schema of cmwq/events.h (collector/src/kernel_stream.*). */
#ifndef CMWQ_KERNEL_BPF_H
#define CMWQ_KERNEL_BPF_H

#include "cmwq/events.h"

#define CMWQ_KERNEL_WQ_NAME 32 /* WQ_NAME_LEN */
#define CMWQ_KERNEL_CPUMASK_WORDS 4 /* an unbound pool's CPUs: the first 256 */
/* A BH pool's one worker runs its items in softirq and has no task: the tid its records carry,
 * above any pid (PID_MAX_LIMIT is 2^22), one per pool. */
#define CMWQ_KERNEL_BH_TID(pool_id) (0x40000000u + (cmwq_u32)(pool_id))

/* struct worker_pool's fields, read when the record was made; id -1 when there is no pool. */
struct cmwq_kernel_pool {
  cmwq_s32 id, cpu, node, nice;
  cmwq_u32 flags;
  cmwq_s32 nr_running, nr_idle, nr_workers;
  cmwq_u32 worklist_empty; /* exact only where the pool's lock is held: WORK_QUEUE, WORK_ACTIVATE */
  cmwq_u32 pad;
  cmwq_u64 cpumask[CMWQ_KERNEL_CPUMASK_WORDS]; /* an unbound pool's (cpu -1) attrs->cpumask; 0 otherwise */
};

/* kind is an enum cmwq_event_kind: WORK_QUEUE, WORK_ACTIVATE, WORK_START, WORK_END (tracepoints);
 * WORK_CANCEL (a queued item taken back: try_to_grab_pending; nr_active after it gave back its slot);
 * OFF_CPU (a kworker leaves the CPU to wait: in an item, or idle), ON_CPU (back after waiting in an
 * item), WORKER_DESTROY (a kworker exits). */
struct cmwq_kernel_event {
  cmwq_u16 kind;
  cmwq_u16 pad;
  cmwq_u32 tid;           /* the thread: the kworker (CMWQ_KERNEL_BH_TID for a BH pool's), or who queued */
  cmwq_u64 ts;            /* CLOCK_MONOTONIC ns */
  cmwq_u64 work, func;    /* work_struct and its function: kernel addresses */
  cmwq_u64 wq;            /* workqueue_struct, 0 if unknown */
  cmwq_u64 rescue_wq;     /* the kworker is this workqueue's rescuer */
  cmwq_u64 runtime_ns;    /* the thread's CPU time so far (sum_exec_runtime); for a BH pool's
                           * worker, which cannot sleep, ts */
  struct cmwq_kernel_pool pool;
  cmwq_s32 req_cpu;       /* WORK_QUEUE: the CPU asked for, WORK_CPU_UNBOUND (NR_CPUS) if none */
  cmwq_s32 nr_active;     /* of the pwq */
  cmwq_u32 wq_flags;
  cmwq_s32 max_active;
  cmwq_u32 worker_flags;  /* struct worker's WORKER_* */
  cmwq_u32 task_state;    /* OFF_CPU: prev_state */
  char wq_name[CMWQ_KERNEL_WQ_NAME];
};

/* Per-CPU counters: what could not be delivered or was left out, never silent. */
struct cmwq_kernel_stats {
  cmwq_u64 events;
  cmwq_u64 dropped;       /* ring buffer full */
  cmwq_u64 bh_skipped;    /* BH items run in softirq whose pool is unknown (queued before tracing began) */
};

#endif
