// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The pool's USDT probe cmwq:batch -> BPF ring buffer, filtered by process; and the
 * kernel's sched_switch for the process's threads: when they wait off the CPU. */
#include "vmlinux.h"

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "cmwq_bpf.h"
#include "ring_wakeup.bpf.h"
#include "sched_state.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 target_tgid = 0; /* 0: every process */

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 32 << 20);
} batches SEC(".maps");

/* Off/on-CPU records (struct cmwq_ev_state, kinds CMWQ_EV_OFF_CPU and CMWQ_EV_ON_CPU). */
struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 4 << 20);
} sched SEC(".maps");

/* Thread id -> when it left the CPU to wait. An entry goes when its thread is back on a CPU or
 * exits (on_exit): idle workers retire all the time, and a thread that exits while waiting would
 * otherwise keep its entry until the map is full and no more waits are seen. */
struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 65536);
  __type(key, __u32);
  __type(value, __u64);
} off_since SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cmwq_bpf_stats);
} stats SEC(".maps");

/* A batch is assembled here and then copied into the ring buffer at the size it has: reserving a whole
 * struct cmwq_bpf_batch per probe hit, whatever it carries, filled a 32 MiB ring with 512
 * batches of a few KiB each. */
struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cmwq_bpf_batch);
} scratch SEC(".maps");

SEC("usdt")
int BPF_USDT(on_batch, void *records, __u64 len, __u64 count, __u64 stream, __u64 pos)
{
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  __u32 zero = 0;
  struct cmwq_bpf_stats *st;
  struct cmwq_bpf_batch *b;
  __u64 size;

  if (target_tgid && tgid != target_tgid)
    return 0;
  st = bpf_map_lookup_elem(&stats, &zero);
  b = bpf_map_lookup_elem(&scratch, &zero);
  if (!st || !b)
    return 0;
  st->batches++;
  if (len >= CMWQ_BATCH_MAX) {
    st->oversized++;
    st->dropped_events += count;
    return 0;
  }
  b->tgid = tgid;
  b->len = len;
  b->count = count;
  b->stream = stream;
  b->pos = pos;
  len &= CMWQ_BATCH_MAX - 1; /* what the verifier can see is bounded */
  if (bpf_probe_read_user(b->data, len, records)) {
    st->read_errors++;
    st->dropped_events += count;
    return 0;
  }
  size = offsetof(struct cmwq_bpf_batch, data) + len;
  if (size > sizeof(*b) || bpf_ringbuf_output(&batches, b, size, ring_wakeup(&batches, size))) {
    st->dropped_batches++;
    st->dropped_events += count;
  }
  return 0;
}

static __always_inline void sched_record(__u16 kind, struct task_struct *t, __u64 now, __u32 state, __s64 arg)
{
  __u32 zero = 0;
  struct cmwq_bpf_stats *st;
  struct cmwq_ev_state *e = bpf_ringbuf_reserve(&sched, sizeof(*e), 0);

  if (!e) {
    st = bpf_map_lookup_elem(&stats, &zero);
    if (st)
      st->sched_dropped++;
    return;
  }
  __builtin_memset(e, 0, sizeof(*e));
  e->h.kind = kind;
  e->h.size = sizeof(*e);
  e->h.pid = t->tgid;
  e->h.tid = t->pid;
  e->h.cpu = bpf_get_smp_processor_id();
  e->h.ts = now;
  e->h.seq = 0; /* outside the pool's sequence */
  e->pool = -1;
  e->worker = t->pid;
  e->flags = state;
  e->nr_active = -1;
  e->arg = arg;
  bpf_ringbuf_submit(e, ring_wakeup(&sched, 0));
}

/* Without the tracepoint's prev_state (5.18): sched_state.bpf.h reads it from prev. */
SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
  __u64 now = bpf_ktime_get_ns();
  __u64 *since;
  __u32 tid, state;

  if (!target_tgid)
    return 0;
  if (prev->tgid == target_tgid && (state = waits_in(preempt, prev))) {
    tid = prev->pid;
    bpf_map_update_elem(&off_since, &tid, &now, BPF_ANY);
    sched_record(CMWQ_EV_OFF_CPU, prev, now, state, 0);
  }
  if (next->tgid == target_tgid) {
    tid = next->pid;
    since = bpf_map_lookup_elem(&off_since, &tid);
    if (since) {
      sched_record(CMWQ_EV_ON_CPU, next, now, 0, now - *since);
      bpf_map_delete_elem(&off_since, &tid);
    }
  }
  return 0;
}

/* A thread of the target exits: its wait, if any, ends with it (no ON_CPU record: the model
 * hears of the worker's end from the pool). */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *t)
{
  __u32 tid;

  if (!target_tgid || t->tgid != target_tgid)
    return 0;
  tid = t->pid;
  bpf_map_delete_elem(&off_since, &tid);
  return 0;
}
