// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Kernel mode: the kernel's own workqueues. The four workqueue tracepoints, items taken back off
 * their lists (try_to_grab_pending), and the scheduler's view of kworkers, each as one struct cmwq_kernel_event with the pool's, pwq's and workqueue's fields read
 * at that moment through BTF (CO-RE): what the tracepoints themselves do not carry. */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

#include "kernel_bpf.h"
#include "ring_wakeup.bpf.h"
#include "sched_state.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define PF_WQ_WORKER 0x00000020 /* include/linux/sched.h: the task is a kworker */

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 16 << 20);
} events SEC(".maps");

/* Items queued and not yet started -> their pwq: workqueue_activate_work comes before the work_struct
 * points at its pwq when __queue_work() activates an item at once, and an item taken back off its list
 * (try_to_grab_pending) no longer points at it. */
struct {
  __uint(type, BPF_MAP_TYPE_LRU_HASH);
  __uint(max_entries, 65536);
  __type(key, __u64);
  __type(value, __u64);
} queued SEC(".maps");

/* kworkers waiting off the CPU inside an item: their return is worth a record. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 16384);
  __type(key, __u32);
  __type(value, __u8);
} waiting SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cmwq_kernel_stats);
} stats SEC(".maps");

static __always_inline struct cmwq_kernel_stats *stat(void)
{
  __u32 zero = 0;
  return bpf_map_lookup_elem(&stats, &zero);
}

static __always_inline struct cmwq_kernel_event *reserve(__u16 kind, struct task_struct *t)
{
  struct cmwq_kernel_stats *st = stat();
  struct cmwq_kernel_event *e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);

  if (!e) {
    if (st)
      st->dropped++;
    return 0;
  }
  if (st)
    st->events++;
  __builtin_memset(e, 0, sizeof(*e));
  e->kind = kind;
  e->tid = BPF_CORE_READ(t, pid);
  e->ts = bpf_ktime_get_ns();
  e->runtime_ns = BPF_CORE_READ(t, se.sum_exec_runtime);
  e->pool.id = -1;
  e->nr_active = -1;
  return e;
}

static __always_inline void submit(struct cmwq_kernel_event *e)
{
  bpf_ringbuf_submit(e, ring_wakeup(&events, 0));
}

/* An unbound pool's CPUs, as pr_cont_pool_info() prints them. cpumask_var_t is a pointer with
 * CONFIG_CPUMASK_OFFSTACK, an array of one otherwise: as the kernel this is built against has it. */
static __always_inline void read_cpumask(struct cmwq_kernel_event *e, struct workqueue_attrs *attrs)
{
  const void *bits = __builtin_preserve_access_index(&attrs->cpumask);
  __u32 size = sizeof(struct cpumask);

  if (!attrs)
    return;
  if (__builtin_types_compatible_p(typeof(attrs->cpumask), struct cpumask *))
    bpf_probe_read_kernel(&bits, sizeof(bits), bits);
  if (size > sizeof(e->pool.cpumask))
    size = sizeof(e->pool.cpumask);
  bpf_probe_read_kernel(e->pool.cpumask, size, bits);
}

static __always_inline void read_pool(struct cmwq_kernel_event *e, struct worker_pool *pool)
{
  if (!pool)
    return;
  e->pool.id = BPF_CORE_READ(pool, id);
  e->pool.cpu = BPF_CORE_READ(pool, cpu);
  e->pool.node = BPF_CORE_READ(pool, node);
  e->pool.nice = BPF_CORE_READ(pool, attrs, nice);
  e->pool.flags = BPF_CORE_READ(pool, flags);
  e->pool.nr_running = BPF_CORE_READ(pool, nr_running);
  e->pool.nr_idle = BPF_CORE_READ(pool, nr_idle);
  e->pool.nr_workers = BPF_CORE_READ(pool, nr_workers);
  e->pool.worklist_empty = BPF_CORE_READ(pool, worklist.next) == &pool->worklist;
  if (e->pool.cpu < 0)
    read_cpumask(e, BPF_CORE_READ(pool, attrs));
}

static __always_inline void read_pwq(struct cmwq_kernel_event *e, struct pool_workqueue *pwq)
{
  struct workqueue_struct *wq;

  if (!pwq)
    return;
  read_pool(e, BPF_CORE_READ(pwq, pool));
  e->nr_active = BPF_CORE_READ(pwq, nr_active);
  wq = BPF_CORE_READ(pwq, wq);
  e->wq = (__u64)wq;
  if (!wq)
    return;
  e->wq_flags = BPF_CORE_READ(wq, flags);
  e->max_active = BPF_CORE_READ(wq, max_active);
  BPF_CORE_READ_STR_INTO(&e->wq_name, wq, name);
}

static __always_inline void read_worker(struct cmwq_kernel_event *e, struct worker *w)
{
  read_pool(e, BPF_CORE_READ(w, pool));
  e->worker_flags = BPF_CORE_READ(w, flags);
  e->rescue_wq = (__u64)BPF_CORE_READ(w, rescue_wq);
}

/* A kworker's struct worker: kthread_data(), the data of the struct kthread its worker_private is. */
static __always_inline struct worker *worker_of(struct task_struct *t)
{
  return (struct worker *)BPF_CORE_READ((struct kthread *)t->worker_private, data);
}

/* In softirq, the BH item's worker on this CPU: set at execute_start, read at execute_end (softirqs
 * do not nest on a CPU, so one slot per CPU). */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} bh_current SEC(".maps");

/* A BH pool's one worker (bh_worker() runs the first of pool->workers). */
static __always_inline struct worker *bh_worker_of(struct worker_pool *pool)
{
  struct list_head *first = BPF_CORE_READ(pool, workers.next);

  return (struct worker *)((void *)first - bpf_core_field_offset(struct worker, node));
}

/* The pwq a queued work_struct points at (work->data with WORK_STRUCT_PWQ set), or 0: for items
 * queued before tracing began. */
static __always_inline struct pool_workqueue *queued_pwq(struct work_struct *work)
{
  unsigned long data = BPF_CORE_READ(work, data.counter);
  int shift = 8;

  if (bpf_core_enum_value_exists(enum work_bits, WORK_STRUCT_PWQ_SHIFT))
    shift = bpf_core_enum_value(enum work_bits, WORK_STRUCT_PWQ_SHIFT);
  if (!(data & (1UL << 2 /* WORK_STRUCT_PWQ_BIT */)))
    return 0;
  return (struct pool_workqueue *)(data & ~((1UL << shift) - 1));
}

SEC("tp_btf/workqueue_queue_work")
int BPF_PROG(on_queue, int req_cpu, struct pool_workqueue *pwq, struct work_struct *work)
{
  struct cmwq_kernel_event *e;
  __u64 key, value;

  e = reserve(CMWQ_EV_WORK_QUEUE, bpf_get_current_task_btf());
  if (!e)
    return 0;
  e->work = (__u64)work;
  e->func = (__u64)BPF_CORE_READ(work, func);
  e->req_cpu = req_cpu;
  read_pwq(e, pwq);
  submit(e);
  key = (__u64)work;
  value = (__u64)pwq;
  bpf_map_update_elem(&queued, &key, &value, BPF_ANY);
  return 0;
}

SEC("tp_btf/workqueue_activate_work")
int BPF_PROG(on_activate, struct work_struct *work)
{
  __u64 key = (__u64)work, *seen = bpf_map_lookup_elem(&queued, &key);
  struct pool_workqueue *pwq = seen ? (struct pool_workqueue *)*seen : queued_pwq(work);
  struct cmwq_kernel_event *e;

  e = reserve(CMWQ_EV_WORK_ACTIVATE, bpf_get_current_task_btf());
  if (!e)
    return 0;
  e->work = (__u64)work;
  e->func = (__u64)BPF_CORE_READ(work, func);
  read_pwq(e, pwq);
  submit(e);
  return 0;
}

/* A BH item runs in softirq on its CPU (bh_worker()), inside whatever task was interrupted: its pool
 * is the one it was queued on, its worker that pool's one worker. 0 when the pool is unknown. */
static __always_inline struct worker *bh_worker_running(__u16 kind, struct work_struct *work)
{
  __u64 key = (__u64)work, *slot, *seen;
  struct cmwq_kernel_stats *st;
  struct worker *w = 0;
  __u32 zero = 0;

  slot = bpf_map_lookup_elem(&bh_current, &zero);
  if (!slot)
    return 0;
  if (kind == CMWQ_EV_WORK_START) {
    seen = bpf_map_lookup_elem(&queued, &key);
    if (seen)
      w = bh_worker_of(BPF_CORE_READ((struct pool_workqueue *)*seen, pool));
    *slot = (__u64)w;
  } else {
    w = (struct worker *)*slot;
    *slot = 0;
  }
  if (!w && (st = stat()))
    st->bh_skipped++;
  return w;
}

/* execute_start/end run in the worker that processes the item: a kworker's struct worker says which. */
static __always_inline int on_execute(__u16 kind, struct work_struct *work)
{
  struct task_struct *t = bpf_get_current_task_btf();
  int bh = !(t->flags & PF_WQ_WORKER);
  struct cmwq_kernel_event *e;
  struct worker *w;
  __u64 key;

  w = bh ? bh_worker_running(kind, work) : worker_of(t);
  if (!w)
    return 0;
  if (kind == CMWQ_EV_WORK_START) {
    key = (__u64)work;
    bpf_map_delete_elem(&queued, &key);
  }
  e = reserve(kind, t);
  if (!e)
    return 0;
  e->work = (__u64)work;
  e->func = (__u64)BPF_CORE_READ(w, current_func);
  read_pwq(e, BPF_CORE_READ(w, current_pwq));
  read_worker(e, w);
  if (bh) {
    e->tid = CMWQ_KERNEL_BH_TID(e->pool.id);
    e->runtime_ns = e->ts; /* it cannot sleep: its time is CPU time (the interrupted task's is not its) */
  }
  submit(e);
  return 0;
}

SEC("tp_btf/workqueue_execute_start")
int BPF_PROG(on_start, struct work_struct *work)
{
  return on_execute(CMWQ_EV_WORK_START, work);
}

/* Its second argument, the function, is worker->current_func (and the verifier refuses function
 * pointer arguments to tp_btf programs). */
SEC("tp_btf/workqueue_execute_end")
int BPF_PROG(on_end, struct work_struct *work)
{
  return on_execute(CMWQ_EV_WORK_END, work);
}

/* cancel_work(), mod_delayed_work() and their kind take a queued item back off its list without a
 * tracepoint: 1 is "it was pending and is ours now". nr_active is after it gave back its slot. */
SEC("fexit/try_to_grab_pending")
int BPF_PROG(on_grab, struct work_struct *work, __u32 cflags, unsigned long *irq_flags, int ret)
{
  __u64 key = (__u64)work, *seen;
  struct cmwq_kernel_event *e;

  if (ret != 1)
    return 0;
  seen = bpf_map_lookup_elem(&queued, &key);
  if (!seen) /* pending on its timer, not on a list */
    return 0;
  e = reserve(CMWQ_EV_WORK_CANCEL, bpf_get_current_task_btf());
  if (e) {
    e->work = key;
    e->func = (__u64)BPF_CORE_READ(work, func);
    read_pwq(e, (struct pool_workqueue *)*seen);
    submit(e);
  }
  bpf_map_delete_elem(&queued, &key);
  return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
  struct cmwq_kernel_event *e;
  struct worker *w;
  __u64 work;
  __u32 tid, prev_state;
  __u8 one = 1;

  /* Only waits count: preempted kworkers still want the CPU (sched_state.bpf.h). */
  if ((prev->flags & PF_WQ_WORKER) && (prev_state = waits_in(preempt, prev))) {
    w = worker_of(prev);
    /* In an item (it blocks: the pool's nr_running went down, wq_worker_sleeping), or going idle. */
    work = (__u64)BPF_CORE_READ(w, current_work);
    if (work || (BPF_CORE_READ(w, flags) & 4 /* WORKER_IDLE */)) {
      e = reserve(CMWQ_EV_OFF_CPU, prev);
      if (e) {
        e->work = work;
        e->task_state = prev_state;
        read_worker(e, w);
        submit(e);
        if (work) {
          tid = prev->pid;
          bpf_map_update_elem(&waiting, &tid, &one, BPF_ANY);
        }
      }
    }
  }
  if (next->flags & PF_WQ_WORKER) {
    tid = next->pid;
    if (bpf_map_lookup_elem(&waiting, &tid)) {
      bpf_map_delete_elem(&waiting, &tid);
      w = worker_of(next);
      e = reserve(CMWQ_EV_ON_CPU, next);
      if (e) {
        e->work = (__u64)BPF_CORE_READ(w, current_work);
        read_worker(e, w);
        /* wq_worker_running() gives back its nr_running once it runs: just after this switch. */
        e->pool.nr_running += BPF_CORE_READ(w, sleeping);
        submit(e);
      }
    }
  }
  return 0;
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *t)
{
  struct cmwq_kernel_event *e;
  __u32 tid;

  if (!(t->flags & PF_WQ_WORKER))
    return 0;
  tid = t->pid;
  bpf_map_delete_elem(&waiting, &tid);
  e = reserve(CMWQ_EV_WORKER_DESTROY, t);
  if (e)
    submit(e);
  return 0;
}
