/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Whether a task leaving the CPU at sched_switch goes to wait, for both BPF programs: read from
 * the task with CO-RE, so that they load on every kernel with BPF ring buffers (5.8), not only on
 * those whose tracepoint passes prev_state (5.18). Include after vmlinux.h and bpf_core_read.h. */
#ifndef WQSCOPE_SCHED_STATE_BPF_H
#define WQSCOPE_SCHED_STATE_BPF_H

/* task_struct's state before 5.14 (renamed __state then, 2f064a59a11f): CO-RE picks whichever
 * this kernel has. */
struct task_struct___pre_5_14 {
  long state;
} __attribute__((preserve_access_index));

static __always_inline __u32 task_state(struct task_struct *t)
{
  if (bpf_core_field_exists(t->__state))
    return BPF_CORE_READ(t, __state);
  return BPF_CORE_READ((struct task_struct___pre_5_14 *)t, state);
}

/* The state `prev` waits in as it leaves the CPU; 0 if it does not wait. It is the tracepoint's
 * prev_state: __schedule() reads prev's state just before (a wake-up that raced in since shows as
 * TASK_WAKING or TASK_RUNNING). A preempted task still wants the CPU, whatever its state says
 * (__schedule() dequeues only on !preempt && prev_state), and TASK_RUNNING (0) yielded. */
static __always_inline __u32 waits_in(bool preempt, struct task_struct *prev)
{
  return preempt ? 0 : task_state(prev);
}

#endif
