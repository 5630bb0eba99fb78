// The pool's USDT probes: the only file that includes <sys/sdt.h>.
//
// cmwq:batch(ptr, len, count, stream, pos) fires once per batch of records
// (cmwq/events.h) rather than once per event: an attached uprobe traps at about
// 5 us here, so per-event probes could never be cheap. Its USDT semaphore
// makes the unattached cost one load and a predicted branch. Build with
// -DCMWQ_PROBES=0 to compile the probes out. `stream` is CMWQ_STREAM_ID(system, session): which
// System of the process wrote the batch, in which tracing session (a reader may have missed the HELLO).
// `pos`: the hand-over position after the batch (struct cmwq_handover), which a lossless tracer
// reports back as read. cmwq:wait(ns) fires after the hand-over waited for such a tracer; its
// semaphore is the hand-over's block.
#pragma once

#include <cmwq/events.h>

#include <cstddef>
#include <cstdint>

#ifndef CMWQ_PROBES
#define CMWQ_PROBES 1
#endif

#if CMWQ_PROBES
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>

extern "C" volatile unsigned short cmwq_batch_semaphore;  // raised by the kernel while a tracer is attached
// The lossless hand-over's block, shared with a tracer that writes `room` and `read` (atomic_ref).
extern "C" struct cmwq_handover cmwq_wait_semaphore;

namespace cmwq::probes {
inline bool attached() { return __builtin_expect(cmwq_batch_semaphore != 0, 0); }
/// How many tracers are attached (the kernel counts them in the semaphore).
inline unsigned tracers() { return cmwq_batch_semaphore; }
inline void batch(const void* records, std::size_t len, std::uint64_t count, std::uint64_t stream,
                  std::uint64_t pos = 0) {
  STAP_PROBE5(cmwq, batch, records, len, count, stream, pos);
}
inline cmwq_handover* handover() { return &cmwq_wait_semaphore; }
inline void waited(std::uint64_t ns) { STAP_PROBE1(cmwq, wait, ns); }
}  // namespace cmwq::probes
#else
namespace cmwq::probes {
inline bool attached() { return false; }
inline unsigned tracers() { return 0; }
inline void batch(const void*, std::size_t, std::uint64_t, std::uint64_t, std::uint64_t = 0) {}
inline cmwq_handover* handover() { return nullptr; }
inline void waited(std::uint64_t) {}
}  // namespace cmwq::probes
#endif
