#include <cmwq/packed.h>

#include <array>
#include <cstdint>
#include <cstring>

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

constexpr std::byte kRaw{0x80};
constexpr std::size_t kKinds = 0x80;  // a packed record's kind is its tag: below kRaw

/// Both sides' memory of the batch so far: the record before, and each kind's last fields.
struct History {
  std::uint64_t ts = 0, seq = 0;
  std::array<std::array<std::uint64_t, kFields.size()>, kKinds> last{};

  void saw_header(const cmwq_event_header& h) {
    ts = h.ts;
    seq = h.seq;
  }
};

std::uint64_t get(const std::byte* rec, const Field& f) {
  if (f.width == 8) {
    std::uint64_t v;
    std::memcpy(&v, rec + f.offset, 8);
    return v;
  }
  std::uint32_t v;
  std::memcpy(&v, rec + f.offset, 4);
  return f.is_signed ? static_cast<std::uint64_t>(static_cast<std::int64_t>(static_cast<std::int32_t>(v))) : v;
}

/// Stores `v` in the field and gives back what the field now holds, extended as get() would read it.
std::uint64_t put(std::byte* rec, const Field& f, std::uint64_t v) {
  if (f.width == 8) {
    std::memcpy(rec + f.offset, &v, 8);
    return v;
  }
  auto low = static_cast<std::uint32_t>(v);
  std::memcpy(rec + f.offset, &low, 4);
  return get(rec, f);
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

bool is_packed(std::span<const std::byte> bytes) {
  return bytes.size() >= sizeof kPackedMagic && std::memcmp(bytes.data(), kPackedMagic, sizeof kPackedMagic) == 0;
}

void pack(std::span<const std::byte> records, std::vector<std::byte>& out) {
  out.assign(std::begin(kPackedMagic), std::end(kPackedMagic));
  out.reserve(records.size() / 4);
  History hist;
  std::size_t off = 0;
  while (off < records.size()) {
    cmwq_event_header h{};
    std::size_t left = records.size() - off, size = left;
    if (left >= sizeof h) {
      std::memcpy(&h, records.data() + off, sizeof h);
      if (h.size >= sizeof h && h.size <= left) size = h.size;
    }
    const std::byte* rec = records.data() + off;
    off += size;
    if (size != sizeof(cmwq_ev_state) || h.kind >= kKinds) {  // as it is; what cannot be read, all of it
      std::byte head[11] = {kRaw};
      out.insert(out.end(), head, put_varint(head + 1, size));
      out.insert(out.end(), rec, rec + size);
      if (size >= sizeof h) hist.saw_header(h);
      continue;
    }
    std::byte buf[1 + 2 + 10 * (1 + kFields.size())];
    std::byte* p = buf + 3;
    p = put_varint(p, zigzag(h.ts - hist.ts));
    std::uint16_t mask = 0;
    auto& last = hist.last[h.kind];
    for (std::size_t i = 0; i < kFields.size(); ++i) {
      std::uint64_t v = get(rec, kFields[i]);
      std::uint64_t base = i == kSeq ? hist.seq + 1 : last[i];
      last[i] = v;
      if (v == base) continue;
      mask |= static_cast<std::uint16_t>(1u << i);
      p = put_varint(p, zigzag(v - base));
    }
    buf[0] = static_cast<std::byte>(h.kind);
    std::memcpy(buf + 1, &mask, 2);
    out.insert(out.end(), buf, p);
    hist.saw_header(h);
  }
}

bool unpack(std::span<const std::byte> packed, std::vector<std::byte>& out) {
  out.clear();
  if (!is_packed(packed)) return false;
  Reader in{packed.data() + sizeof kPackedMagic, packed.data() + packed.size()};
  History hist;
  while (in.p < in.end) {
    auto tag = *in.p++;
    if (tag == kRaw) {
      std::uint64_t size = in.varint();
      if (in.bad || size < sizeof(cmwq_event_header) || size % alignof(cmwq_event_header) != 0 ||
          size > static_cast<std::uint64_t>(in.end - in.p))
        return false;
      cmwq_event_header h;
      std::memcpy(&h, in.p, sizeof h);
      out.insert(out.end(), in.p, in.p + size);
      in.p += size;
      hist.saw_header(h);
      continue;
    }
    if ((tag & kRaw) != std::byte{0}) return false;
    auto kind = static_cast<std::size_t>(tag);
    std::uint16_t mask = in.u16();
    std::uint64_t ts = hist.ts + unzigzag(in.varint());
    cmwq_ev_state e{};
    auto* rec = reinterpret_cast<std::byte*>(&e);
    auto& last = hist.last[kind];
    for (std::size_t i = 0; i < kFields.size(); ++i) {
      std::uint64_t base = i == kSeq ? hist.seq + 1 : last[i];
      std::uint64_t v = mask & (1u << i) ? base + unzigzag(in.varint()) : base;
      last[i] = put(rec, kFields[i], v);
    }
    if (in.bad) return false;
    e.h.kind = static_cast<std::uint16_t>(kind);
    e.h.size = sizeof e;
    e.h.ts = ts;
    out.insert(out.end(), rec, rec + sizeof e);
    hist.saw_header(e.h);
  }
  return true;
}

}  // namespace cmwq
