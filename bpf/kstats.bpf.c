// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* `wqscope stats --kernel`: the kernel's own counters, read as tools/workqueue/wq_monitor.py reads
 * them: every workqueue on the kernel's `workqueues` list, the stats[] of each pool_workqueue on its
 * pwqs list summed. Not attached anywhere: the collector runs it on demand (BPF_PROG_TEST_RUN), under
 * rcu_read_lock() as every raw tracepoint program runs, which is what walking these RCU lists needs.
 *
 * `workqueues` is a static list head that only CONFIG_KALLSYMS_ALL kernels name in /proc/kallsyms.
 * The list is reached from a workqueue instead: the one a rescuer kworker serves (every WQ_MEM_RECLAIM
 * workqueue has one, mm_percpu_wq among them on every kernel), and walked round. The one node on it
 * that is no workqueue_struct is the head: workqueue_structs come from kzalloc(), below the kernel
 * image, and the head is a static inside it. */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>

#include "kstats_bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PF_WQ_WORKER 0x00000020 /* include/linux/sched.h: the task is a kworker */
#define MAX_TASKS (1 << 22)     /* steps of the search for a rescuer */
#define MAX_STEPS (1 << 22)     /* steps of the walk: one per workqueue and per pwq */

const volatile __u64 kernel_text = 0; /* _text: the kernel image starts here */

struct cmwq_kstats_run run = {};
struct cmwq_kstats_wq wqs[CMWQ_KSTATS_MAX_WQS] = {};

/* The kernel's names with a flavor of ours: a kernel before 6.5 has neither, and the program still
 * loads there (and says so through run.has_stats). */
struct pool_workqueue___stats {
  u64 stats[8];
} __attribute__((preserve_access_index));

enum pool_workqueue_stats___wqscope {
  PWQ_STAT_STARTED___wqscope = 100,
  PWQ_STAT_COMPLETED___wqscope,
  PWQ_STAT_CPU_TIME___wqscope,
  PWQ_STAT_CPU_INTENSIVE___wqscope,
  PWQ_STAT_CM_WAKEUP___wqscope,
  PWQ_STAT_REPATRIATED___wqscope,
  PWQ_STAT_MAYDAY___wqscope,
  PWQ_STAT_RESCUED___wqscope,
};

#define INDEX(column, name)                                                                                  \
  run.index[column] = bpf_core_enum_value_exists(enum pool_workqueue_stats___wqscope, name##___wqscope)   \
                          ? bpf_core_enum_value(enum pool_workqueue_stats___wqscope, name##___wqscope)    \
                          : -1

struct search {
  struct task_struct *first, *task;
  struct workqueue_struct *wq;
};

/* One task of the process list (kthreads are each their own process): a rescuer ends the search. */
static long next_task(__u64 i, struct search *s)
{
  struct task_struct *t = s->task; /* locals of ours out of BPF_CORE_READ: not relocated */
  struct kthread *k;
  struct worker *w;

  t = container_of(BPF_CORE_READ(t, tasks.next), struct task_struct, tasks);
  if (t == s->first)
    return 1;
  s->task = t;
  if (!(BPF_CORE_READ(t, flags) & PF_WQ_WORKER))
    return 0;
  k = (struct kthread *)BPF_CORE_READ(t, worker_private);
  w = (struct worker *)BPF_CORE_READ(k, data);
  s->wq = BPF_CORE_READ(w, rescue_wq);
  return s->wq != 0;
}

struct walk {
  struct list_head *start, *node; /* on the workqueues list */
  struct workqueue_struct *wq;    /* being summed, 0 between two */
  struct list_head *pwq;          /* on its pwqs list */
  __u32 done;
};

static void begin_wq(struct walk *w)
{
  struct workqueue_struct *wq = w->wq;
  struct cmwq_kstats_wq *r;
  __u32 n = run.nr_wqs;

  w->pwq = BPF_CORE_READ(wq, pwqs.next);
  if (n >= CMWQ_KSTATS_MAX_WQS)
    return;
  r = &wqs[n];
  __builtin_memset(r, 0, sizeof(*r));
  bpf_probe_read_kernel_str(r->name, sizeof(r->name), &wq->name);
  r->flags = BPF_CORE_READ(wq, flags);
}

static void add_pwq(struct pool_workqueue___stats *pwq)
{
  __u64 stats[CMWQ_KSTATS_MAX_STATS] = {};
  struct cmwq_kstats_wq *r;
  __u32 n = run.nr_wqs, size = bpf_core_field_size(pwq->stats);

  if (n >= CMWQ_KSTATS_MAX_WQS)
    return;
  r = &wqs[n];
  r->nr_pwqs++;
  if (!run.has_stats)
    return;
  if (size > sizeof(stats))
    size = sizeof(stats);
  bpf_probe_read_kernel(stats, size, __builtin_preserve_access_index(&pwq->stats));
  for (int i = 0; i < CMWQ_KSTATS_MAX_STATS; i++)
    r->stats[i] += stats[i];
}

/* One step: the next pwq of the workqueue being summed, or the next workqueue. */
static long step(__u64 i, struct walk *w)
{
  struct list_head *node;

  if (w->wq) {
    node = w->pwq;
    if (node == &w->wq->pwqs) { /* all its pwqs */
      if (run.nr_wqs < CMWQ_KSTATS_MAX_WQS)
        run.nr_wqs++;
      else
        run.truncated++;
      w->wq = 0;
      return 0;
    }
    add_pwq((struct pool_workqueue___stats *)container_of(node, struct pool_workqueue, pwqs_node));
    w->pwq = BPF_CORE_READ(node, next);
    return 0;
  }
  node = w->node;
  w->node = BPF_CORE_READ(node, next);
  if (w->node == w->start) { /* all the way round */
    w->done = 1;
    return 1;
  }
  if ((__u64)w->node >= kernel_text) { /* the head, `workqueues` */
    run.head_at = run.nr_wqs;
    return 0;
  }
  w->wq = container_of(w->node, struct workqueue_struct, list);
  begin_wq(w);
  return 0;
}

SEC("raw_tp")
int read_counters(void *ctx)
{
  struct task_struct *me = bpf_get_current_task_btf();
  struct search s = {.first = me, .task = me};
  struct walk w = {};

  __builtin_memset(&run, 0, sizeof(run));
  run.begin_ns = bpf_ktime_get_ns();
  run.has_stats = bpf_core_field_exists(struct pool_workqueue___stats, stats);
  if (run.has_stats) {
    run.nr_stats = bpf_core_field_size(struct pool_workqueue___stats, stats) / sizeof(u64);
    INDEX(0, PWQ_STAT_STARTED);
    INDEX(1, PWQ_STAT_COMPLETED);
    INDEX(2, PWQ_STAT_CPU_TIME);
    INDEX(3, PWQ_STAT_CPU_INTENSIVE);
    INDEX(4, PWQ_STAT_CM_WAKEUP);
    INDEX(5, PWQ_STAT_REPATRIATED);
    INDEX(6, PWQ_STAT_MAYDAY);
    INDEX(7, PWQ_STAT_RESCUED);
  }
  bpf_loop(MAX_TASKS, next_task, &s, 0);
  if (s.wq) {
    run.found = 1;
    w.wq = s.wq;
    w.start = w.node = &s.wq->list;
    begin_wq(&w);
    bpf_loop(MAX_STEPS, step, &w, 0);
    if (!w.done)
      run.truncated = run.truncated ? run.truncated : 1;
  }
  run.end_ns = bpf_ktime_get_ns();
  return 0;
}
