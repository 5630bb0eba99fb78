/* The one event schema of cmwq, shared by the pool, the BPF programs and the
 * collector. Plain C, fixed-width fields, little-endian as the machine is.
 *
 * A batch is a sequence of records; each starts with cmwq_event_header and its
 * `size` covers header and body. Kinds are append-only with explicit numbers;
 * a reader rejects a batch whose CMWQ_EV_HELLO carries a newer version. Names
 * (functions, workqueues) are interned: CMWQ_EV_NAME binds an id to a string
 * once, later records carry the id. Between the pool and a reader (the cmwq:batch probe) batches
 * travel packed (cmwq/packed.h); readers unpack them into these records. */
#ifndef CMWQ_EVENTS_H
#define CMWQ_EVENTS_H

#if defined(__bpf__)
typedef __u8 cmwq_u8;
typedef __u16 cmwq_u16;
typedef __u32 cmwq_u32;
typedef __s32 cmwq_s32;
typedef __u64 cmwq_u64;
typedef __s64 cmwq_s64;
#else
#include <stddef.h>
#include <stdint.h>
typedef uint8_t cmwq_u8;
typedef uint16_t cmwq_u16;
typedef uint32_t cmwq_u32;
typedef int32_t cmwq_s32;
typedef uint64_t cmwq_u64;
typedef int64_t cmwq_s64;
#endif

#define CMWQ_EVENTS_VERSION 2 /* 2: HELLO names its System and session; GAP; ANNOUNCED */
#define CMWQ_NAME_MAX 64          /* bytes of a name, NUL included; longer names are cut */
#define CMWQ_BATCH_MAX (16 * 1024) /* one probe hit carries fewer bytes than this (a BPF per-CPU scratch holds one) */

enum cmwq_event_kind {
  CMWQ_EV_WQ_CREATE = 1,     /* wq, flags, arg = max_active, func = name id of the wq */
  CMWQ_EV_WQ_DESTROY = 2,
  CMWQ_EV_POOL_CREATE = 3,   /* pool, cpu, arg = nice, pool_flags, nr_active = its NUMA node (-1: none, or
                              * not said: a CPU's pool is then on node 0) */
  CMWQ_EV_WORKER_CREATE = 4, /* worker events: pool, worker, flags = worker flags */
  CMWQ_EV_WORKER_DESTROY = 5,
  CMWQ_EV_WORKER_IDLE = 6,
  CMWQ_EV_WORKER_BUSY = 7,
  CMWQ_EV_WORKER_SLEEP = 8,
  CMWQ_EV_WORKER_WAKE = 9,
  CMWQ_EV_WORK_QUEUE = 10,   /* work events: work, func, wq, pool; arg = requested cpu */
  CMWQ_EV_WORK_ACTIVATE = 11,
  CMWQ_EV_WORK_START = 12,   /* worker = the one that runs it */
  CMWQ_EV_WORK_END = 13,     /* arg = CPU ns */
  CMWQ_EV_WORK_CANCEL = 14,
  CMWQ_EV_FLUSH = 15,        /* wq */
  CMWQ_EV_BARRIER = 16,      /* inserted: work = flushed item, arg = pid of the flusher */
  CMWQ_EV_MANAGER_START = 17,
  CMWQ_EV_MANAGER_END = 18,
  CMWQ_EV_CREATE_FAIL = 19,
  CMWQ_EV_MAYDAY = 20,       /* pool, wq, work that triggered it; work 0: the rescuer (worker) put the pwq back */
  CMWQ_EV_RESCUER_WAKE = 21, /* worker = rescuer, pool it attaches to, wq */
  CMWQ_EV_RESCUE = 22,
  CMWQ_EV_CPU_OFFLINE = 23,  /* arg = cpu */
  CMWQ_EV_CPU_ONLINE = 24,
  CMWQ_EV_FREEZE = 25,
  CMWQ_EV_THAW = 26,
  CMWQ_EV_WATCHDOG_TOUCH = 27, /* arg = cpu, -1 for all */
  CMWQ_EV_LOCKUP = 28,       /* pool, arg = ns since its last progress */
  CMWQ_EV_MAX_ACTIVE = 29,   /* wq, arg = max_active */
  CMWQ_EV_CPU_INTENSIVE = 30, /* work, worker, arg = CPU ns when marked */
  CMWQ_EV_NAME = 31,         /* body: cmwq_ev_name */
  CMWQ_EV_HELLO = 32,        /* body: cmwq_ev_hello; first in every stream */
  CMWQ_EV_BARRIER_DONE = 33, /* a barrier ran: worker, work = the barrier, arg = pid of the flusher */
  CMWQ_EV_WORK_ASSIGN = 34,  /* work (and its linked barriers) left the worklist for worker's scheduled list
                                without starting at once: a rescuer's, or a collision with the worker running it */
  /* From the kernel (bpf/cmwq.bpf.c, sched_switch), not the pool: seq 0, pid/tid of the thread, worker = tid. */
  CMWQ_EV_OFF_CPU = 35,      /* the thread left the CPU to wait: flags = its state (TASK_INTERRUPTIBLE 1, ...) */
  CMWQ_EV_ON_CPU = 36,       /* back on a CPU after waiting: arg = ns off the CPU */
  /* Written by the collector into its log, never by the pool: seq 0. */
  CMWQ_EV_GAP = 37,          /* records are missing here: work = first missing seq (0: unknown),
                                arg = how many (-1: unknown), flags = enum cmwq_gap_cause */
  CMWQ_EV_ANNOUNCED = 38,    /* the state announced after a HELLO is complete (pool) */
  CMWQ_EV_CHECK = 39,        /* the live collector's watchdog looked at the state at ts: a replay looks
                                there too, so it raises the alerts live raised (collector, seq 0) */
  /* From kernel reports (wqscope import of console logs): what a report printed that no transition says.
   * wq != 0: its pwq line on `pool`: nr_active, arg = refcnt (-1: not printed), flags = max_active (0: not printed),
 *   worker = its place among its workqueue's pwq lines (from 1; 0: none), then a MAYDAY with work 0 if it said MAYDAY;
   * wq 0, pool >= 0: that pool's progress stamp, arg = ts (its hung= and "stuck for" count from it), flags = the
 *   report's N-th pool line is this pool's (0: it printed none);
   * wq 0, pool -1: the report itself, at its instant: func = name id of its dialect (cmwq::report::Dialect), arg = its number. */
  CMWQ_EV_REPORTED = 40,
  CMWQ_EV_KIND_END           /* one past the last kind this version knows */
};

struct cmwq_event_header {
  cmwq_u16 kind;   /* enum cmwq_event_kind */
  cmwq_u16 size;   /* header + body, bytes */
  cmwq_u32 pid;    /* process; 0: the kernel (wqscope's kernel mode) */
  cmwq_u32 tid;    /* thread that caused the transition */
  cmwq_s32 cpu;    /* virtual CPU of the pool involved, -1 if none or unbound */
  cmwq_u64 ts;     /* CLOCK_MONOTONIC ns (virtual ns in the simulator) */
  cmwq_u64 seq;    /* per System, from 1, without gaps: a gap means lost records; 0: not the pool's */
};

/* Every state transition: the object it concerns and the state after it. */
struct cmwq_ev_state {
  struct cmwq_event_header h;
  cmwq_u64 work;        /* work item id, 0 if none */
  cmwq_u32 func;        /* name id of the work's function, 0 if none */
  cmwq_u32 wq;          /* workqueue id, 0 if none */
  cmwq_s32 pool;        /* pool id, -1 if none */
  cmwq_s32 worker;      /* worker pid, 0 if none */
  cmwq_u32 flags;       /* worker flags, or workqueue flags for WQ_CREATE */
  cmwq_u32 pool_flags;  /* POOL_* after the transition */
  cmwq_s32 nr_running;  /* of the pool, after the transition */
  cmwq_s32 nr_idle;
  cmwq_s32 nr_workers;
  cmwq_s32 nr_active;   /* of the work's pwq, -1 if none; WORK_END/CANCEL: before the item gives back its slot */
  cmwq_s64 arg;         /* kind-specific, see enum cmwq_event_kind */
};

/* Why records are missing (CMWQ_EV_GAP). After a gap a reader cannot know what left the lists
 * meanwhile: worklists, inactive and scheduled lists start over, on every reader alike. */
enum cmwq_gap_cause {
  CMWQ_GAP_RING_BUFFER = 1, /* the BPF ring buffer was full: the collector fell behind */
  CMWQ_GAP_HANDOVER = 2,    /* seq jumped with no ring-buffer drop: the pool's hand-over queue was full */
  CMWQ_GAP_MALFORMED = 3,   /* a batch could not be decoded: the rest of it was skipped */
  CMWQ_GAP_SCHED = 4,       /* the kernel's off/on-CPU records were dropped (their ring buffer was full) */
};

enum cmwq_name_kind { CMWQ_NAME_FUNC = 1, CMWQ_NAME_WQ = 2, CMWQ_NAME_WORKER = 3 };

struct cmwq_ev_name {
  struct cmwq_event_header h;
  cmwq_u32 id;
  cmwq_u32 name_kind;   /* enum cmwq_name_kind */
  char text[CMWQ_NAME_MAX];
};

/* A stream is one tracing session of one System: (pid, system, session). Name ids and seq are the
 * System's (never reused, never restarted), so a new session continues its System's state. */
struct cmwq_ev_hello {
  struct cmwq_event_header h;
  cmwq_u32 version;     /* CMWQ_EVENTS_VERSION of the writer */
  cmwq_u32 possible_cpus;
  cmwq_u64 watchdog_thresh_ns;
  cmwq_u32 system;      /* which System of the process, from 1 (0: the kernel's workqueues) */
  cmwq_u32 session;     /* which tracing session of it, from 1: a new tracer starts the next */
};

/* The cmwq:batch probe's 4th argument, and every batch's identity in the collector. */
#define CMWQ_STREAM_ID(system, session) (((cmwq_u64)(system) << 32) | (cmwq_u32)(session))
#define CMWQ_STREAM_SYSTEM(id) ((cmwq_u32)((id) >> 32))

/* The lossless hand-over (wqscope --lossless): a tracer that must not lose batches says how far it
 * has read, and the pool waits (bounded) rather than hand over more than the tracer's buffer holds.
 * Positions count each batch's bytes plus CMWQ_HANDOVER_HEAD, more than any tracer adds per batch,
 * so a tracer's `room` in its own bytes is never exceeded. The block is the semaphore of the
 * cmwq:wait probe: a tracer finds it as it finds any USDT semaphore (the note's address), and one
 * that attaches to cmwq:wait raises `semaphore` alone. */
#define CMWQ_HANDOVER_HEAD 64
struct cmwq_handover {
  cmwq_u16 semaphore;  /* the kernel's: tracers attached to cmwq:wait */
  cmwq_u16 reserved[3];
  cmwq_u64 handed;     /* the pool's: the position after the latest batch handed to the probe */
  cmwq_u64 room;       /* the tracer's: how far beyond `read` the pool may hand over; 0: never wait */
  cmwq_u64 read;       /* the tracer's: the position after the latest batch it has read */
};

#ifdef __cplusplus
static_assert(sizeof(struct cmwq_event_header) == 32, "header layout is part of the schema");
static_assert(offsetof(struct cmwq_event_header, ts) == 16, "header layout");
static_assert(sizeof(struct cmwq_ev_state) == 88, "state layout is part of the schema");
static_assert(offsetof(struct cmwq_ev_state, arg) == 80, "state layout");
static_assert(sizeof(struct cmwq_ev_name) == 104, "name layout is part of the schema");
static_assert(sizeof(struct cmwq_ev_hello) == 56, "hello layout is part of the schema");
static_assert(sizeof(struct cmwq_handover) == 32 && offsetof(struct cmwq_handover, read) == 24, "hand-over layout");
#elif !defined(__bpf__)
_Static_assert(sizeof(struct cmwq_event_header) == 32, "header layout is part of the schema");
_Static_assert(sizeof(struct cmwq_ev_state) == 88, "state layout is part of the schema");
_Static_assert(sizeof(struct cmwq_ev_name) == 104, "name layout is part of the schema");
_Static_assert(sizeof(struct cmwq_ev_hello) == 56, "hello layout is part of the schema");
#endif

#endif /* CMWQ_EVENTS_H */
