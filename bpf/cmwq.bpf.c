// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* The pool's USDT probe cmwq:batch -> BPF ring buffer, filtered by process. */
#include "vmlinux.h"

#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/usdt.bpf.h>

#include "cmwq_bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

const volatile __u32 target_tgid = 0; /* 0: every process */

struct {
  __uint(type, BPF_MAP_TYPE_RINGBUF);
  __uint(max_entries, 32 << 20);
} batches SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, struct cmwq_bpf_stats);
} stats SEC(".maps");

SEC("usdt")
int BPF_USDT(on_batch, void *records, __u64 len, __u64 count)
{
  __u32 tgid = bpf_get_current_pid_tgid() >> 32;
  __u32 zero = 0;
  struct cmwq_bpf_stats *st;
  struct cmwq_bpf_batch *b;

  if (target_tgid && tgid != target_tgid)
    return 0;
  st = bpf_map_lookup_elem(&stats, &zero);
  if (!st)
    return 0;
  st->batches++;
  if (len >= CMWQ_BATCH_MAX) {
    st->oversized++;
    st->dropped_events += count;
    return 0;
  }
  b = bpf_ringbuf_reserve(&batches, sizeof(*b), 0);
  if (!b) {
    st->dropped_batches++;
    st->dropped_events += count;
    return 0;
  }
  b->tgid = tgid;
  b->len = len;
  b->count = count;
  if (bpf_probe_read_user(b->data, len & (CMWQ_BATCH_MAX - 1), records)) {
    st->read_errors++;
    st->dropped_events += count;
    bpf_ringbuf_discard(b, 0);
    return 0;
  }
  bpf_ringbuf_submit(b, 0);
  return 0;
}
