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
/// Hands one batch to the probe; call it only while probes::attached().
void batch(const void* records, std::size_t len, std::uint64_t count, std::uint64_t stream);
/// No tracer is attached any more: a lossless one that left without a word is not waited for.
void forget();

}  // namespace cmwq::handover
