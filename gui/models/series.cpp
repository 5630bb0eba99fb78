#include "series.h"

#include <algorithm>

namespace wqgui {

namespace {

struct Sampler {
  std::int64_t start, width;
  std::int64_t bucket = 0;  // the open bucket's index
  struct High {
    int pending = 0, running = 0;
  };
  std::map<int, High> high;  // per pool, in the open bucket
  Series out;

  /// Closes buckets up to (not including) the one holding `t`, each with the highs seen in it.
  void advance(const wqscope::Model& model, std::int64_t t) {
    std::int64_t b = std::max<std::int64_t>(0, (t - start) / width);
    for (; bucket < b; ++bucket) {
      for (auto& [id, h] : high) {
        if (h.pending || h.running || out.pools.contains(id))
          out.pools[id].push_back({start + bucket * width, h.pending, h.running});
        const wqscope::PoolInfo& p = model.pools().at(id);
        h = {p.pending, p.nr_running};
      }
    }
  }

  void after(const wqscope::Model& model, int pool) {
    auto it = model.pools().find(pool);
    if (it == model.pools().end()) return;
    High& h = high[pool];
    h.pending = std::max(h.pending, it->second.pending);
    h.running = std::max(h.running, it->second.nr_running);
  }
};

}  // namespace

Series sampleSeries(const wqscope::RecordingReader& reader, std::int64_t start_ns, std::int64_t end_ns, int buckets) {
  Sampler s{start_ns, std::max<std::int64_t>(1, (end_ns - start_ns) / buckets + 1), 0, {}, {}};
  s.out.bucket_ns = s.width;
  wqscope::Model model;
  reader.replay(
      [&](const cmwq::Record& r) {
        s.advance(model, static_cast<std::int64_t>(r.h->ts));
        model.apply(r);
        if (r.h->kind != CMWQ_EV_NAME && r.h->kind != CMWQ_EV_HELLO) s.after(model, r.state()->pool);
        return true;
      },
      end_ns);
  s.advance(model, end_ns + s.width);
  return std::move(s.out);
}

}  // namespace wqgui
