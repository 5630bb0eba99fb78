// The pool's USDT probes: the only file that includes <sys/sdt.h>.
//
// One probe, cmwq:batch(ptr, len, count, stream), fires once per batch of records
// (cmwq/events.h) rather than once per event: an attached uprobe traps at about
// 5 us here, so per-event probes could never be cheap. Its USDT semaphore
// makes the unattached cost one load and a predicted branch. Build with
// -DCMWQ_PROBES=0 to compile the probe out. `stream` is CMWQ_STREAM_ID(system, session): which
// System of the process wrote the batch, in which tracing session (a reader may have missed the HELLO).
#pragma once

#include <cstddef>
#include <cstdint>

#ifndef CMWQ_PROBES
#define CMWQ_PROBES 1
#endif

#if CMWQ_PROBES
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

extern "C" volatile unsigned short cmwq_batch_semaphore;  // raised by the kernel while a tracer is attached

namespace cmwq::probes {
inline bool attached() { return __builtin_expect(cmwq_batch_semaphore != 0, 0); }
/// How many tracers are attached (the kernel counts them in the semaphore).
inline unsigned tracers() { return cmwq_batch_semaphore; }
inline void batch(const void* records, std::size_t len, std::uint64_t count, std::uint64_t stream) {
  STAP_PROBE4(cmwq, batch, records, len, count, stream);
}
}  // namespace cmwq::probes
#else
namespace cmwq::probes {
inline bool attached() { return false; }
inline unsigned tracers() { return 0; }
inline void batch(const void*, std::size_t, std::uint64_t, std::uint64_t) {}
}  // namespace cmwq::probes
#endif
