#include "series.h"

#include "sqlite_rows.h"

#include <algorithm>

namespace wqgui {

// Not in the anonymous namespace: LiveSeries::Follower (declared in the header) holds one.
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

  /// One record of the log, applied to `trace` (whose first stream the views show).
  void record(wqscope::Trace& trace, int stream, const cmwq::Record& r) {
    if (r.h->kind == CMWQ_EV_CHECK) return;
    if (r.h->kind != CMWQ_EV_NAME) advance(trace.primary(), static_cast<std::int64_t>(r.h->ts));
    trace.apply(stream, r);
    if (stream == trace.models().begin()->first && r.h->kind != CMWQ_EV_NAME && r.h->kind != CMWQ_EV_HELLO)
      after(trace.primary(), r.state()->pool);
  }

  /// Buckets twice as wide: neighbours merged, the higher values kept.
  void halve() {
    width *= 2;
    bucket /= 2;
    out.bucket_ns = width;
    for (auto& [id, points] : out.pools) {
      std::vector<Series::Point> merged;
      for (const Series::Point& p : points) {
        std::int64_t t = start + (p.t - start) / width * width;
        if (!merged.empty() && merged.back().t == t) {
          merged.back().pending = std::max(merged.back().pending, p.pending);
          merged.back().running = std::max(merged.back().running, p.running);
        } else {
          merged.push_back({t, p.pending, p.running});
        }
      }
      // The last one may now be in the open bucket.
      if (!merged.empty() && merged.back().t == start + bucket * width) {
        High& h = high[id];
        h = {std::max(h.pending, merged.back().pending), std::max(h.running, merged.back().running)};
        merged.pop_back();
      }
      points = std::move(merged);
    }
  }

  /// The closed buckets, and the open one as it stands.
  Series now() const {
    Series s = out;
    for (auto& [id, h] : high)
      if (h.pending || h.running || s.pools.contains(id)) s.pools[id].push_back({start + bucket * width, h.pending, h.running});
    return s;
  }
};

namespace {

/// The state at each snapshot between `start_ns` and `end_ns`, and at `end_ns`: a seek each.
Series atSnapshots(const wqscope::RecordingReader& reader, std::int64_t start_ns, std::int64_t end_ns) {
  std::vector<std::int64_t> at;
  wqscope::Cursor c(reader.connection(), reader.path(), "SELECT DISTINCT ts FROM snapshots WHERE ts > ? AND ts < ? ORDER BY event",
                    {start_ns, end_ns});
  while (c.next()) at.push_back(c.i(0));
  at.push_back(end_ns);
  Series out;
  out.bucket_ns = std::max<std::int64_t>(1, (end_ns - start_ns) / static_cast<std::int64_t>(at.size()));
  for (std::int64_t t : at) {
    wqscope::Trace trace;
    reader.state_at(trace, t);
    for (const auto& [id, p] : trace.primary().pools())
      if (p.pending || p.nr_running || out.pools.contains(id)) out.pools[id].push_back({t, p.pending, p.nr_running});
  }
  return out;
}

}  // namespace

Series sampleSeries(const wqscope::RecordingReader& reader, std::int64_t start_ns, std::int64_t end_ns, int buckets,
                    std::int64_t replay_limit) {
  wqscope::Cursor events(reader.connection(), reader.path(), "SELECT max(last) FROM log");  // log_last: no scan
  if (events.next() && events.i(0, 0) > replay_limit) return atSnapshots(reader, start_ns, end_ns);
  Sampler s{start_ns, std::max<std::int64_t>(1, (end_ns - start_ns) / buckets + 1), 0, {}, {}};
  s.out.bucket_ns = s.width;
  wqscope::Trace trace;
  reader.replay(
      [&](int stream, const cmwq::Record& r) {
        s.record(trace, stream, r);
        return true;
      },
      end_ns);
  s.advance(trace.primary(), end_ns + s.width);
  return std::move(s.out);
}

struct LiveSeries::Follower {
  Follower(std::int64_t start_ns, std::int64_t bucket_ns) : sampler{start_ns, bucket_ns, 0, {}, {}} {
    sampler.out.bucket_ns = bucket_ns;
  }
  Sampler sampler;
  wqscope::Trace trace;
  wqscope::RecordingReader::Position pos;
};

LiveSeries::LiveSeries(std::int64_t start_ns, std::int64_t bucket_ns, int buckets)
    : follower_(std::make_unique<Follower>(start_ns, std::max<std::int64_t>(bucket_ns, 1))), buckets_(buckets) {}

LiveSeries::~LiveSeries() = default;

Series LiveSeries::extend(const wqscope::RecordingReader& reader, std::int64_t end_ns) {
  Follower& f = *follower_;
  f.pos = reader.follow(
      [&](int stream, const cmwq::Record& r) {
        f.sampler.record(f.trace, stream, r);
        return true;
      },
      f.pos, end_ns);
  f.sampler.advance(f.trace.primary(), end_ns);
  while (f.sampler.bucket >= buckets_) f.sampler.halve();
  return f.sampler.now();
}

}  // namespace wqgui
