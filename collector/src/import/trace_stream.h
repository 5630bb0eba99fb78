// A kernel trace's events as kernel mode's (cmwq_kernel_event), translated by kernel mode's own
// KernelStream: what BPF reads from the kernel's structures on the spot, a trace does not carry, so it
// is inferred here from the whole trace, the way the kernel works:
// - pools: a bound workqueue's item goes to the per-CPU pool of the cpu= it was queued for (highpri if
//   kworkers/N:MH ran its items), an unbound one's to the unbound pool whose kworker/uN:M ran its
//   items (N is the pool's id); per-CPU pool ids as the kernel numbers them without BH pools (cpu*2,
//   +1 highpri);
// - workers: a kworker belongs to the pool of the first item it runs; it goes idle when it ends an
//   item and its pool has no activated item waiting (worker_thread()'s loop), sleeps in an item when
//   sched_switch shows it leave the CPU to wait, and runs again when sched_switch puts it back;
// - a pwq's nr_active counts its items from activation to end; max_active is the default (256);
// - an item's CPU time is its time on the CPU between start and end when sched_switch is in the
//   trace, its wall time otherwise;
// - BH workqueues' items (run in softirq, not by a kworker) are left out and counted, as kernel mode does;
// - a trace without workqueue_activate_work activates each item when it is queued.
#pragma once

#include "import/trace_events.h"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <span>
#include <vector>

namespace wqscope::trace {

/// What the translation left out, and why.
struct Skipped {
  std::uint64_t bh = 0;      // events of BH workqueues' items
  std::uint64_t before = 0;  // activations, starts and ends of items queued or started before the trace began
};

/// Kernel mode's records of `in`, handed to `batch` in pieces (each a whole number of records); the
/// stream's HELLO says `watchdog_thresh_ns`.
Skipped translate(const Input& in, const std::function<void(std::span<const std::byte>)>& batch,
                  std::int64_t watchdog_thresh_ns);

/// The CPUs a trace says it had, or the most its events name.
int possible_cpus(const Input& in);

}  // namespace wqscope::trace
