#include <cmwq/packed.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <cstring>
#include <utility>

namespace cmwq {

namespace {

/// A field of cmwq_ev_state that a packed record carries as a delta (kind, size and ts are not).
struct Field {
  std::size_t offset;
  std::size_t width;  // 4 or 8 bytes
  bool is_signed;     // a 4-byte field is sign-extended (-1 next to 0 is a delta of 1), else zero-extended
};

constexpr std::size_t kSeq = 3;  // its default is the record before's + 1, not the same value
constexpr std::array<Field, 16> kFields{{
    {offsetof(cmwq_ev_state, h.pid), 4, false},
    {offsetof(cmwq_ev_state, h.tid), 4, false},
    {offsetof(cmwq_ev_state, h.cpu), 4, true},
    {offsetof(cmwq_ev_state, h.seq), 8, false},
    {offsetof(cmwq_ev_state, work), 8, false},
    {offsetof(cmwq_ev_state, func), 4, false},
    {offsetof(cmwq_ev_state, wq), 4, false},
    {offsetof(cmwq_ev_state, pool), 4, true},
    {offsetof(cmwq_ev_state, worker), 4, true},
    {offsetof(cmwq_ev_state, flags), 4, false},
    {offsetof(cmwq_ev_state, pool_flags), 4, false},
    {offsetof(cmwq_ev_state, nr_running), 4, true},
    {offsetof(cmwq_ev_state, nr_idle), 4, true},
    {offsetof(cmwq_ev_state, nr_workers), 4, true},
    {offsetof(cmwq_ev_state, nr_active), 4, true},
    {offsetof(cmwq_ev_state, arg), 8, true},
}};
using Fields = std::make_index_sequence<kFields.size()>;

constexpr std::byte kRaw{0x80};
constexpr std::size_t kKinds = 0x80;  // a packed record's kind is its tag: below kRaw
constexpr std::size_t kMaxVarint = 10;
constexpr std::size_t kMaxPackedState = 1 + 2 + kMaxVarint * (1 + kFields.size());
constexpr std::size_t kMaxRawHead = 1 + kMaxVarint;

/// Field I's value, widened to 64 bits.
template <std::size_t I>
std::uint64_t get(const std::byte* rec) {
  constexpr Field f = kFields[I];
  if constexpr (f.width == 8) {
    std::uint64_t v;
    std::memcpy(&v, rec + f.offset, 8);
    return v;
  } else {
    std::uint32_t v;
    std::memcpy(&v, rec + f.offset, 4);
    if constexpr (f.is_signed) return static_cast<std::uint64_t>(static_cast<std::int64_t>(static_cast<std::int32_t>(v)));
    return v;
  }
}

/// Stores `v` in field I: its low bytes (the records are little-endian, as the machine is).
template <std::size_t I>
void put(std::byte* rec, std::uint64_t v) {
  std::memcpy(rec + kFields[I].offset, &v, kFields[I].width);
}

std::byte* put_varint(std::byte* p, std::uint64_t v) {
  while (v >= 0x80) {
    *p++ = static_cast<std::byte>(v | 0x80);
    v >>= 7;
  }
  *p++ = static_cast<std::byte>(v);
  return p;
}

std::uint64_t zigzag(std::uint64_t delta) { return (delta << 1) ^ (0 - (delta >> 63)); }
std::uint64_t unzigzag(std::uint64_t z) { return (z >> 1) ^ (0 - (z & 1)); }

/// A reader of untrusted bytes: every read is bounded, a bad one sets `bad` and reads zero.
struct Reader {
  const std::byte* p;
  const std::byte* end;
  bool bad = false;

  std::uint64_t varint() {
    if (p != end && static_cast<std::uint8_t>(*p) < 0x80) return static_cast<std::uint8_t>(*p++);
    std::uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (p == end) break;
      auto b = static_cast<std::uint64_t>(*p++);
      v |= (b & 0x7f) << shift;
      if (!(b & 0x80)) return v;
    }
    bad = true;  // truncated, or more than ten bytes
    return 0;
  }
  std::uint16_t u16() {
    if (end - p < 2) {
      bad = true;
      return 0;
    }
    std::uint16_t v;
    std::memcpy(&v, p, 2);
    p += 2;
    return v;
  }
};

}  // namespace

struct Packer::History {
  std::uint64_t ts = 0, seq = 0;
  /// Each kind's last record as it is laid out: a field that repeats is found equal without widening it.
  using Last = std::array<std::byte, sizeof(cmwq_ev_state)>;
  std::array<Last, kKinds> last{};

  void saw_header(const cmwq_event_header& h) {
    ts = h.ts;
    seq = h.seq;
  }
};

namespace {

/// One state record's fields against its kind's last ones: the mask, and the deltas written at `p`.
template <std::size_t... I>
std::uint16_t pack_fields(const std::byte* rec, const Packer::History::Last& last, std::uint64_t seq, std::byte*& p,
                          std::index_sequence<I...>) {
  std::uint16_t mask = 0;
  auto one = [&]<std::size_t J>(std::integral_constant<std::size_t, J>) {
    std::uint64_t v = get<J>(rec);
    std::uint64_t base = J == kSeq ? seq + 1 : get<J>(last.data());
    if (v == base) return;
    mask |= static_cast<std::uint16_t>(1u << J);
    p = put_varint(p, zigzag(v - base));
  };
  (one(std::integral_constant<std::size_t, I>{}), ...);
  return mask;
}

/// One state record's fields into `rec`, which holds its kind's last record: the fields of the mask
/// from their deltas, in field order; the others repeat, but seq, the record before's + 1.
template <std::size_t... I>
void unpack_fields(std::byte* rec, std::uint64_t seq, std::uint16_t mask, Reader& in, std::index_sequence<I...>) {
  put<kSeq>(rec, seq + 1);
  auto one = [&]<std::size_t J>(std::integral_constant<std::size_t, J>) {
    if (mask & (1u << J)) put<J>(rec, get<J>(rec) + unzigzag(in.varint()));
  };
  (one(std::integral_constant<std::size_t, I>{}), ...);
}

}  // namespace

bool is_packed(std::span<const std::byte> bytes) {
  return bytes.size() >= sizeof kPackedMagic && std::memcmp(bytes.data(), kPackedMagic, sizeof kPackedMagic) == 0;
}

Packer::Packer(std::size_t max) : max_(max), hist_(std::make_unique<History>()) { clear(); }
Packer::~Packer() = default;

void Packer::clear() {
  if (out_.size() < sizeof kPackedMagic) out_.resize(sizeof kPackedMagic);
  std::memcpy(out_.data(), kPackedMagic, sizeof kPackedMagic);
  used_ = sizeof kPackedMagic;
  count_ = 0;
  *hist_ = History{};
}

std::size_t Packer::add(std::span<const std::byte> records) {
  History& hist = *hist_;
  std::size_t off = 0, used = used_;
  // Written in place, with room for the largest state record beyond what fits (then not taken).
  constexpr std::size_t kSlack = kMaxPackedState + kMaxRawHead;
  // Grown by doubling: a chunk that takes one record at a time must not zero-fill its tail each time.
  auto reserve = [&](std::size_t want) {
    if (out_.size() < want) out_.resize(std::max(want, out_.size() * 2));
  };
  reserve(std::min(max_, used + records.size() * 2) + kSlack);
  while (off < records.size()) {
    cmwq_event_header h{};
    std::size_t left = records.size() - off, size = left;
    if (left >= sizeof h) {
      std::memcpy(&h, records.data() + off, sizeof h);
      if (h.size >= sizeof h && h.size <= left) size = h.size;
    }
    const std::byte* rec = records.data() + off;
    // As it is: any other record, and what cannot be read (all of it, whatever size it happens to be).
    if (size != sizeof(cmwq_ev_state) || h.size != size || h.kind >= kKinds) {
      std::byte head[kMaxRawHead] = {kRaw};
      std::size_t n = static_cast<std::size_t>(put_varint(head + 1, size) - head);
      if (count_ && used + n + size > max_) break;
      reserve(used + n + size + kSlack);
      std::memcpy(out_.data() + used, head, n);
      std::memcpy(out_.data() + used + n, rec, size);
      used += n + size;
    } else {
      std::byte* p = out_.data() + used;
      std::byte* q = put_varint(p + 3, zigzag(h.ts - hist.ts));
      std::uint16_t mask = pack_fields(rec, hist.last[h.kind], hist.seq, q, Fields{});
      auto n = static_cast<std::size_t>(q - p);
      if (count_ && used + n > max_) break;
      p[0] = static_cast<std::byte>(h.kind);
      std::memcpy(p + 1, &mask, 2);
      std::memcpy(hist.last[h.kind].data(), rec, size);  // kept only now that it fits
      used += n;
      reserve(used + kSlack);
    }
    if (size >= sizeof h) hist.saw_header(h);
    ++count_;
    off += size;
  }
  used_ = used;
  return off;
}

void pack(std::span<const std::byte> records, std::vector<std::byte>& out) {
  Packer packer(SIZE_MAX);
  packer.add(records);
  out.assign(packer.bytes().begin(), packer.bytes().end());
}

bool unpack(std::span<const std::byte> packed, RecordBytes& out) {
  out.clear();
  if (!is_packed(packed)) return false;
  Reader in{packed.data() + sizeof kPackedMagic, packed.data() + packed.size()};
  std::uint64_t ts = 0, seq = 0;  // the last record's (Packer::History::saw_header)
  // Where each kind's last state record starts in `out`, + 1 (0: none yet): a record is decoded in
  // place from a copy of it, so the history is the output itself.
  std::array<std::uint32_t, kKinds> last{};
  std::size_t used = 0;
  // Grown by doubling; `out`'s size is what was written once the batch is done.
  auto room = [&](std::size_t n) -> std::byte* {
    if (out.size() < used + n) out.resize(std::max(used + n, std::max<std::size_t>(out.size() * 2, packed.size() * 8)));
    return out.data() + used;
  };
  auto fail = [&] {
    out.resize(used);  // the records before the damage
    return false;
  };
  while (in.p < in.end) {
    auto tag = *in.p++;
    if (tag == kRaw) {
      std::uint64_t size = in.varint();
      if (in.bad || size < sizeof(cmwq_event_header) || size % alignof(cmwq_event_header) != 0 ||
          size > static_cast<std::uint64_t>(in.end - in.p))
        return fail();
      cmwq_event_header h;
      std::memcpy(&h, in.p, sizeof h);
      std::memcpy(room(size), in.p, size);
      used += size;
      in.p += size;
      ts = h.ts;
      seq = h.seq;
      continue;
    }
    if ((tag & kRaw) != std::byte{0}) return fail();
    auto kind = static_cast<std::size_t>(tag);
    std::uint16_t mask = in.u16();
    ts += unzigzag(in.varint());
    std::byte* rec = room(sizeof(cmwq_ev_state));
    if (last[kind]) std::memcpy(rec, out.data() + last[kind] - 1, sizeof(cmwq_ev_state));
    else std::memset(rec, 0, sizeof(cmwq_ev_state));
    unpack_fields(rec, seq, mask, in, Fields{});
    if (in.bad) return fail();
    // Field by field: reading the header whole just after its fields were written, each in its own
    // width, stalled on store forwarding (a third of unpack's time).
    auto k = static_cast<std::uint16_t>(kind);
    std::uint16_t size = sizeof(cmwq_ev_state);
    std::memcpy(rec + offsetof(cmwq_event_header, kind), &k, sizeof k);
    std::memcpy(rec + offsetof(cmwq_event_header, size), &size, sizeof size);
    std::memcpy(rec + offsetof(cmwq_event_header, ts), &ts, sizeof ts);
    std::memcpy(&seq, rec + offsetof(cmwq_event_header, seq), sizeof seq);
    if (used >= UINT32_MAX) return fail();  // a batch is at most CMWQ_BATCH_MAX; damage is not read on
    last[kind] = static_cast<std::uint32_t>(used + 1);
    used += sizeof(cmwq_ev_state);
  }
  out.resize(used);
  return true;
}

}  // namespace cmwq
