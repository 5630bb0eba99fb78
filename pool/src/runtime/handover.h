// Handing batches to the cmwq:batch probe, and waiting, bounded, for a lossless tracer
// (struct cmwq_handover) instead of handing it more than its buffer holds.
#pragma once

#include <cmwq/constants.h>

#include <cstddef>
#include <cstdint>

namespace cmwq::handover {

/// How long one batch waits for a lossless tracer to read; then it goes anyway (the tracer counts
/// it dropped if it has no room), and no batch waits again until the tracer has read more. A
/// second, not LTTng's 100 ms: a collector on a loaded 2-core machine was seen to stall longer.
constexpr Time kWait = 1000 * kMsec;

/// Whether a lossless tracer is attached: the pool's producers then wait rather than drop too.
bool lossless();
/// Packs one batch for the probe (cmwq/packed.h); the probe fires when the packed batch is full, at
/// a new stream, and at flush(). One thread at a time, from the first batch to its flush().
void batch(const void* records, std::size_t len, std::uint64_t stream);
/// Hands what batch() packed to the probe (nothing if no tracer is attached any more).
void flush();
/// No tracer is attached any more: a lossless one that left without a word is not waited for.
void forget();

}  // namespace cmwq::handover
