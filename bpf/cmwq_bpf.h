/* What bpf/cmwq.bpf.c hands to user space: shared by the BPF program and its loaders. */
#ifndef CMWQ_BPF_H
#define CMWQ_BPF_H

#include "cmwq/events.h"

/* One cmwq:batch probe hit: the records of cmwq/events.h, copied from the target. */
struct cmwq_bpf_batch {
  cmwq_u32 tgid;
  cmwq_u32 len;    /* bytes of records in data */
  cmwq_u64 count;  /* records, as the pool counted them */
  cmwq_u64 stream; /* CMWQ_STREAM_ID(system, session) of the System that wrote them */
  cmwq_u64 pos;    /* the hand-over position after this batch (struct cmwq_handover), as the target said */
  cmwq_u8 data[CMWQ_BATCH_MAX];
};

/* Per-CPU counters of what could not be delivered: drops are counted, never silent. */
struct cmwq_bpf_stats {
  cmwq_u64 batches;
  cmwq_u64 dropped_batches;  /* ring buffer full */
  cmwq_u64 dropped_events;
  cmwq_u64 read_errors;      /* bpf_probe_read_user failed */
  cmwq_u64 oversized;        /* a batch larger than CMWQ_BATCH_MAX (a pool bug) */
  cmwq_u64 sched_dropped;    /* off/on-CPU records the sched ring buffer could not take */
};

#endif
