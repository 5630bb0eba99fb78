/* What bpf/kstats.bpf.c leaves in its .bss for `wqscope stats --kernel`: every workqueue of the
 * kernel's `workqueues` list, its pool_workqueues' stats[] summed, as tools/workqueue/wq_monitor.py
 * sums them. The collector reads it after each run (collector/src/kernel_counters.*). */
#ifndef CMWQ_KSTATS_BPF_H
#define CMWQ_KSTATS_BPF_H

#include "cmwq/events.h"

#define CMWQ_KSTATS_MAX_WQS 4096 /* a power of two; more are counted in `truncated` */
#define CMWQ_KSTATS_MAX_STATS 16 /* room for PWQ_NR_STATS (8 in 6.18) to grow */
#define CMWQ_KSTATS_COLUMNS 8    /* wq_monitor's counters, in the order of enum kstats_column */

/* One workqueue: its name, flags and the sum of stats[] over the pwqs on its pwqs list. */
struct cmwq_kstats_wq {
  char name[32];                        /* WQ_NAME_LEN */
  cmwq_u32 flags;                       /* WQ_* */
  cmwq_u32 nr_pwqs;
  cmwq_u64 stats[CMWQ_KSTATS_MAX_STATS]; /* indexed by the kernel's enum pool_workqueue_stats */
};

/* One run's outcome. */
struct cmwq_kstats_run {
  cmwq_u64 begin_ns, end_ns; /* CLOCK_MONOTONIC around the walk */
  cmwq_u32 has_stats;        /* struct pool_workqueue has stats[] (Linux 6.5 on) */
  cmwq_u32 nr_stats;         /* its length, at most CMWQ_KSTATS_MAX_STATS */
  /* The kernel's index of each of wq_monitor's counters (PWQ_STAT_STARTED, COMPLETED, CPU_TIME,
   * CPU_INTENSIVE, CM_WAKEUP, REPATRIATED, MAYDAY, RESCUED), -1 where this kernel has none. */
  cmwq_s32 index[CMWQ_KSTATS_COLUMNS];
  cmwq_u32 found;            /* a rescuer led to the list (0: no rescuer kworker was found) */
  cmwq_u32 nr_wqs;           /* records filled, in list order from the workqueue the rescuer serves */
  cmwq_u32 head_at;          /* the record that follows the list head: the kernel's first workqueue */
  cmwq_u32 truncated;        /* workqueues past CMWQ_KSTATS_MAX_WQS, or 1 if the walk ran out of steps */
};

#endif
