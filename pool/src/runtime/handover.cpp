#include "handover.h"

#include <cmwq/packed.h>
#include <cmwq/probes.h>

#include <atomic>
#include <chrono>
#include <span>
#include <thread>

namespace cmwq::handover {

#if CMWQ_PROBES
namespace {

template <class T>
std::atomic_ref<T> shared(T& field) {
  return std::atomic_ref<T>(field);
}

Time now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

// The tracer's `read` when a wait last timed out: a tracer that has not read since is not waited for
// again (a stopped or dead collector costs the target one kWait, not one per batch).
std::atomic<std::uint64_t> gave_up_at{~std::uint64_t{0}};

// Waits until the batch ending at `pos` fits the tracer's room, it stops asking, or kWait passes.
void wait_for_room(cmwq_handover& h, std::uint64_t pos) {
  Time start = 0;
  for (int round = 0;; ++round) {
    std::uint64_t room = shared(h.room).load(std::memory_order_acquire);
    std::uint64_t read = shared(h.read).load(std::memory_order_acquire);
    if (room == 0 || !probes::attached() || read == gave_up_at.load(std::memory_order_relaxed) ||
        static_cast<std::int64_t>(pos - read) <= static_cast<std::int64_t>(room))
      break;
    Time now = now_ns();
    if (round == 0) start = now;
    if (now - start >= kWait) {
      gave_up_at.store(read, std::memory_order_relaxed);
      break;
    }
    // The collector reads a batch in microseconds: yield first, then sleep a little.
    if (round < 32) std::this_thread::yield();
    else std::this_thread::sleep_for(std::chrono::microseconds(20));
  }
  if (start) probes::waited(static_cast<std::uint64_t>(now_ns() - start));
}

// The batches of one delivery, packed together (cmwq/packed.h): one probe hit (one uprobe trap, one
// ring-buffer record) carries several of the pool's batches, a sixth to a ninth of their bytes. Per
// thread: whoever delivers holds the runtime's deliver lock from its first batch to flush(). The BPF
// program takes fewer than CMWQ_BATCH_MAX bytes (it bounds the length with CMWQ_BATCH_MAX - 1).
thread_local Packer t_packer(CMWQ_BATCH_MAX - 1);
thread_local std::uint64_t t_stream = 0;

void hit(std::span<const std::byte> bytes, std::uint64_t count, std::uint64_t stream) {
  cmwq_handover& h = *probes::handover();
  std::uint64_t cost = bytes.size() + CMWQ_HANDOVER_HEAD;
  std::uint64_t pos = shared(h.handed).fetch_add(cost, std::memory_order_relaxed) + cost;
  if (__builtin_expect(shared(h.room).load(std::memory_order_relaxed) != 0, 0)) wait_for_room(h, pos);
  probes::batch(bytes.data(), bytes.size(), count, stream, pos);
}

}  // namespace

bool lossless() {
  return probes::attached() && shared(probes::handover()->room).load(std::memory_order_relaxed) != 0;
}

void batch(const void* records, std::size_t len, std::uint64_t stream) {
  if (!t_packer.empty() && stream != t_stream) flush();
  t_stream = stream;
  std::span rest(static_cast<const std::byte*>(records), len);
  while (!rest.empty()) {
    rest = rest.subspan(t_packer.add(rest));
    if (!rest.empty()) flush();  // full
  }
}

void flush() {
  if (t_packer.empty()) return;
  if (probes::attached()) hit(t_packer.bytes(), t_packer.count(), t_stream);
  t_packer.clear();
}

void forget() {
  auto room = shared(probes::handover()->room);
  if (room.load(std::memory_order_relaxed) != 0) room.store(0, std::memory_order_relaxed);
}
#else
bool lossless() { return false; }
void batch(const void*, std::size_t, std::uint64_t) {}
void flush() {}
void forget() {}
#endif

}  // namespace cmwq::handover
