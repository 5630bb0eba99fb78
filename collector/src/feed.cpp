#include "feed.h"

namespace wqscope {

void Feed::release_until(std::int64_t ts) {
  auto end = held_.upper_bound(ts);
  for (auto it = held_.begin(); it != end; ++it) sink_(cmwq::Record{&it->second.h});
  held_.erase(held_.begin(), end);
}

void Feed::pool(std::span<const std::byte> records) {
  cmwq::for_each_record(records, [&](const cmwq::Record& r) {
    release_until(static_cast<std::int64_t>(r.h->ts));
    sink_(r);
  });
}

void Feed::kernel(const cmwq_ev_state& e) { held_.emplace(static_cast<std::int64_t>(e.h.ts), e); }

void Feed::tick(std::int64_t now) { release_until(now - kPoolLatencyNs); }

void Feed::flush() { release_until(INT64_MAX); }

}  // namespace wqscope
