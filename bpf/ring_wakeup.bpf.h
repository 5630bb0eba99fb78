/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* When a record wakes the collector. By default the kernel wakes a ring's consumer for every record
 * that finds the ring empty, so a collector that keeps up sleeps and is woken again for nearly every
 * record: an epoll_wait and a context switch each, a third of its CPU at full speed. Here a record
 * wakes it once 128 KiB (a sixteenth of a small ring) wait: a few milliseconds of a full-speed target,
 * read in one go. Fewer wait longer: the collector reads them when its poll times out (Tracer::poll,
 * at most 50 ms later). */
#pragma once

static __always_inline __u64 ring_wakeup(void *ring, __u64 adding)
{
  __u64 pending = bpf_ringbuf_query(ring, BPF_RB_AVAIL_DATA) + adding;
  __u64 enough = bpf_ringbuf_query(ring, BPF_RB_RING_SIZE) / 16;

  if (enough > (128 << 10))
    enough = 128 << 10;
  return pending >= enough ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP;
}
