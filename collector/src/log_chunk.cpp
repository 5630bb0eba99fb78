#include "log_chunk.h"

#include <fmt/format.h>

#include <algorithm>
#include <climits>
#include <cstring>

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

/// Each record of `records` with its stream: `stream`, or (-1) the one in its pid field; its pid given back.
void hand_over(std::span<const std::byte> records, int stream, const PidOf& pid_of, const Fn& fn) {
  cmwq::for_each_record(records, [&](const cmwq::Record& logged) {
    int s = stream >= 0 ? stream : static_cast<int>(std::min<std::uint32_t>(logged.h->pid, INT_MAX));
    AnyRecord copy;
    std::memcpy(&copy, logged.h, logged.h->size);
    copy.h.pid = pid_of(s);
    fn(s, cmwq::Record{&copy.h});
  });
}

void hand_over_packed(std::span<const std::byte> packed, int stream, const PidOf& pid_of, const Fn& fn) {
  std::vector<std::byte> unpacked;
  bool whole = cmwq::unpack(packed, unpacked);
  hand_over(unpacked, stream, pid_of, fn);
  if (!whole) throw cmwq::RecordError("its packed records are cut short or damaged");
}

}  // namespace

std::size_t LogChunk::size() const {
  return parts_.size() + (records_.empty() ? 0 : kRecordsHead + records_.bytes().size());
}

bool LogChunk::append(int stream, const cmwq::Record& r) {
  if (!empty() && size() + kRoom > kMaxBytes) return false;
  AnyRecord copy;
  std::memcpy(&copy, r.h, r.h->size);
  copy.h.pid = static_cast<std::uint32_t>(stream);
  records_.add({reinterpret_cast<const std::byte*>(&copy), r.h->size});  // its bound is the chunk's: it takes it
  return true;
}

bool LogChunk::append_batch(int stream, std::span<const std::byte> packed) {
  if (size() + kBatchHead + packed.size() > kMaxBytes) return false;
  close_records();
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

void LogChunk::close_records() {
  if (records_.empty()) return;
  parts_.push_back(kRecordsPart);
  put_u32(parts_, static_cast<std::uint32_t>(records_.bytes().size()));
  parts_.insert(parts_.end(), records_.bytes().begin(), records_.bytes().end());
  records_.clear();
}

void for_each_logged(std::span<const std::uint8_t> chunk, const PidOf& pid_of, const Fn& fn) {
  std::span<const std::byte> bytes = std::as_bytes(chunk);
  bool parts = bytes.size() >= sizeof LogChunk::kLogMagic &&
               std::memcmp(bytes.data(), LogChunk::kLogMagic, sizeof LogChunk::kLogMagic) == 0;
  if ((parts || cmwq::is_packed(bytes)) && bytes.size() > LogChunk::kMaxReadBytes)
    throw cmwq::RecordError(fmt::format("a packed chunk of {} bytes, larger than any wqscope writes", bytes.size()));
  if (parts) {  // format 5
    std::size_t off = sizeof LogChunk::kLogMagic;
    auto u32 = [&] {
      if (bytes.size() - off < 4) throw cmwq::RecordError(fmt::format("a part's head at byte {} is cut short", off));
      std::uint32_t v;
      std::memcpy(&v, bytes.data() + off, sizeof v);
      off += sizeof v;
      return v;
    };
    while (off < bytes.size()) {
      std::byte tag = bytes[off++];
      if (tag != LogChunk::kBatchPart && tag != LogChunk::kRecordsPart)
        throw cmwq::RecordError(fmt::format("a part of unknown kind {:#x} at byte {}", static_cast<int>(tag), off - 1));
      int stream = tag == LogChunk::kBatchPart ? static_cast<int>(std::min<std::uint32_t>(u32(), INT_MAX)) : -1;
      std::uint32_t size = u32();
      if (size > bytes.size() - off) throw cmwq::RecordError(fmt::format("a part at byte {} is cut short", off));
      hand_over_packed(bytes.subspan(off, size), stream, pid_of, fn);
      off += size;
    }
  } else if (cmwq::is_packed(bytes)) {  // format 4: one records part
    hand_over_packed(bytes, -1, pid_of, fn);
  } else {  // format 3's records as they are; for_each_record reads them in place, aligned
    hand_over(std::vector<std::byte>(bytes.begin(), bytes.end()), -1, pid_of, fn);
  }
}

}  // namespace wqscope
