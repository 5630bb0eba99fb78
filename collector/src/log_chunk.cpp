#include "log_chunk.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cstring>
#include <utility>

namespace wqscope {

namespace {

/// Any record, with room to change its header.
union AnyRecord {
  cmwq_event_header h;
  cmwq_ev_state state;
  cmwq_ev_name name;
  cmwq_ev_hello hello;
};

constexpr std::size_t kRecordsHead = 1 + 4, kBatchHead = 1 + 4 + 4;  // a part's tag, [stream,] size
constexpr std::size_t kRoom = 256;  // more than a record takes packed, with its part's head

void put_u32(std::vector<std::byte>& out, std::uint32_t v) {
  std::size_t at = out.size();
  out.resize(at + sizeof v);
  std::memcpy(out.data() + at, &v, sizeof v);
}

using PidOf = std::function<std::uint32_t(int stream)>;
using Fn = std::function<void(int stream, const cmwq::Record&)>;

/// `logged` with its stream: `stream`, or (-1) the one in its pid field; its pid given back.
void hand_over(const cmwq::Record& logged, int stream, const PidOf& pid_of, const Fn& fn) {
  int s = stream >= 0 ? stream : static_cast<int>(std::min<std::uint32_t>(logged.h->pid, INT_MAX));
  AnyRecord copy;
  std::memcpy(&copy, logged.h, logged.h->size);
  copy.h.pid = pid_of(s);
  fn(s, cmwq::Record{&copy.h});
}

}  // namespace

std::size_t LogChunk::size() const {
  return parts_.size() + (records_.empty() ? 0 : kRecordsHead + records_.bytes().size());
}

bool LogChunk::append(int stream, const cmwq::Record& r) {
  if (!empty() && size() + kRoom > kMaxBytes) return false;
  pack(stream, r);
  return true;
}

void LogChunk::pack(int stream, const cmwq::Record& r) {
  AnyRecord copy;
  std::memcpy(&copy, r.h, r.h->size);
  copy.h.pid = static_cast<std::uint32_t>(stream);
  records_.add({reinterpret_cast<const std::byte*>(&copy), r.h->size});  // its bound is the chunk's: it takes it
}

bool LogChunk::append_batch(int stream, std::span<const std::byte> packed, std::span<const std::byte> held) {
  if (size() + kRecordsHead + held.size() + kBatchHead + packed.size() > kMaxBytes) return false;  // held: unpacked
  close_records();
  if (!held.empty()) {
    cmwq::for_each_record(held, [&](const cmwq::Record& r) { pack(0, r); });
    close_records(kHeldPart);
  }
  parts_.push_back(kBatchPart);
  put_u32(parts_, static_cast<std::uint32_t>(stream));
  put_u32(parts_, static_cast<std::uint32_t>(packed.size()));
  parts_.insert(parts_.end(), packed.begin(), packed.end());
  return true;
}

std::span<const std::byte> LogChunk::bytes() {
  close_records();
  return parts_;
}

void LogChunk::clear() {
  parts_.resize(sizeof kLogMagic);
  records_.clear();
}

void LogChunk::close_records(std::byte tag) {
  if (records_.empty()) return;
  parts_.push_back(tag);
  put_u32(parts_, static_cast<std::uint32_t>(records_.bytes().size()));
  parts_.insert(parts_.end(), records_.bytes().begin(), records_.bytes().end());
  records_.clear();
}

void for_each_interleaved(std::span<const std::byte> records, std::span<const std::byte> held,
                          const std::function<void(bool held, const cmwq::Record&)>& fn) {
  std::vector<const cmwq_event_header*> waiting;
  cmwq::for_each_record(held, [&](const cmwq::Record& r) { waiting.push_back(r.h); });
  std::size_t next = 0;
  cmwq::for_each_record(records, [&](const cmwq::Record& r) {
    for (; next < waiting.size() && cmwq::Record{waiting[next]}.ts() <= r.ts(); ++next) fn(true, cmwq::Record{waiting[next]});
    fn(false, r);
  });
  for (; next < waiting.size(); ++next) fn(true, cmwq::Record{waiting[next]});
}

void for_each_logged(std::span<const std::uint8_t> chunk, const PidOf& pid_of, const Fn& fn) {
  std::span<const std::byte> bytes = std::as_bytes(chunk);
  bool parts = bytes.size() >= sizeof LogChunk::kLogMagic &&
               std::memcmp(bytes.data(), LogChunk::kLogMagic, sizeof LogChunk::kLogMagic) == 0;
  if ((parts || cmwq::is_packed(bytes)) && bytes.size() > LogChunk::kMaxReadBytes)
    throw cmwq::RecordError(fmt::format("a packed chunk of {} bytes, larger than any wqscope writes", bytes.size()));
  auto each = [&](std::span<const std::byte> records) {
    cmwq::for_each_record(records, [&](const cmwq::Record& r) { hand_over(r, -1, pid_of, fn); });
  };
  if (!parts) {
    if (cmwq::is_packed(bytes)) {  // format 4: one records part
      cmwq::RecordBytes unpacked;
      bool whole = cmwq::unpack(bytes, unpacked);
      each(unpacked);
      if (!whole) throw cmwq::RecordError("its packed records are cut short or damaged");
    } else {  // format 3's records as they are; for_each_record reads them in place, aligned
      each(std::vector<std::byte>(bytes.begin(), bytes.end()));
    }
    return;
  }
  std::size_t off = sizeof LogChunk::kLogMagic;
  auto u32 = [&] {
    if (bytes.size() - off < 4) throw cmwq::RecordError(fmt::format("a part's head at byte {} is cut short", off));
    std::uint32_t v;
    std::memcpy(&v, bytes.data() + off, sizeof v);
    off += sizeof v;
    return v;
  };
  cmwq::RecordBytes held, unpacked;  // a held part's records wait for the batch part after it
  try {
    while (off < bytes.size()) {
      std::byte tag = bytes[off++];
      if (tag != LogChunk::kBatchPart && tag != LogChunk::kRecordsPart && tag != LogChunk::kHeldPart)
        throw cmwq::RecordError(fmt::format("a part of unknown kind {:#x} at byte {}", static_cast<int>(tag), off - 1));
      int stream = tag == LogChunk::kBatchPart ? static_cast<int>(std::min<std::uint32_t>(u32(), INT_MAX)) : -1;
      std::uint32_t size = u32();
      if (size > bytes.size() - off) throw cmwq::RecordError(fmt::format("a part at byte {} is cut short", off));
      bool whole = cmwq::unpack(bytes.subspan(off, size), unpacked);
      off += size;
      if (tag == LogChunk::kHeldPart && whole) {
        each(std::exchange(held, {}));  // one left by a writer that never leaves one: not lost
        held = std::move(unpacked);
        unpacked = {};
        continue;
      }
      if (tag == LogChunk::kBatchPart) {
        for_each_interleaved(unpacked, std::exchange(held, {}), [&](bool was_held, const cmwq::Record& r) {
          hand_over(r, was_held ? -1 : stream, pid_of, fn);
        });
      } else {
        each(std::exchange(held, {}));
        each(unpacked);
      }
      if (!whole) throw cmwq::RecordError("its packed records are cut short or damaged");
    }
  } catch (const cmwq::RecordError&) {
    each(std::exchange(held, {}));
    throw;
  }
  each(held);
}

}  // namespace wqscope
