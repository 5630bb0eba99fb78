// The kernel eras libcmwq follows where the kernel changed after the seeds, and how each prints the busy
// dump: shared by the pool (Options::kernel) and by the collector (the running kernel's release).
#pragma once

#include <cmwq/report.h>

#include <string_view>

namespace cmwq {

/// The kernel release whose design and formats the pools follow where the kernel changed after the
/// seeds (2009-2014, plus the 2025 rescuer). Each era includes the changes of the ones before it.
enum class Kernel {
  Seeds,  // one unbound pool per nice level ("all possible CPUs"), no BH pools, `active=N/M`
  V6_5,   // affinity scopes: an unbound workqueue gets a pwq per CPU on the pool of that CPU's pod
  V6_9,   // BH pools (CPU N: 4N bh, 4N+1 bh-hi, 4N+2, 4N+3), per-node max_active, `active=N refcnt=M`
  V7_0,   // the watchdog: last_progress_ts re-checked before a report, ` for Ns`, busy workers, panic
};

/// The era of a kernel release as `uname -r` prints it ("6.18.44-fc"): the newest one at or before it.
Kernel kernel_of_release(std::string_view release);
/// How that era prints the busy dump (show_workqueue_state()): the seeds' form, 6.9's, 7.0's.
report::Dialect dialect_of(Kernel);

}  // namespace cmwq
