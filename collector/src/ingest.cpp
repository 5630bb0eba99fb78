#include "ingest.h"

#include <cmwq/packed.h>

#include <algorithm>
#include <chrono>

namespace wqscope {

namespace {

/// A record the collector writes into the log itself (seq 0: not the pool's).
cmwq_ev_state collector_record(std::uint16_t kind, std::int64_t ts) {
  cmwq_ev_state e{};
  e.h.kind = kind;
  e.h.size = sizeof e;
  e.h.cpu = -1;
  e.h.ts = static_cast<std::uint64_t>(std::max<std::int64_t>(ts, 0));
  e.pool = -1;
  e.nr_active = -1;
  return e;
}

}  // namespace

Ingest::Ingest(Recording* rec, std::int64_t thresh_ns, Clock clock, AlertSink alerts)
    : rec_(rec), thresh_(thresh_ns), clock_(clock), alerts_(std::move(alerts)), trace_([this](int stream, Model& m) {
        auto& dog = dogs_[stream];
        dog = std::make_unique<Watchdog>(thresh_);
        m.add_observer(dog.get());  // the recording's tables come from its log (Recording::derive)
        if (on_new_) on_new_(stream, m);
      }) {
  now_ = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch())
             .count();
}

Ingest::Source& Ingest::source(std::uint32_t pid, std::uint32_t system) {
  auto [it, added] = sources_.try_emplace({pid, system});
  if (added) {
    it->second.id = static_cast<int>(sources_.size());
    if (rec_) rec_->add_stream(it->second.id, pid, system);
  }
  return it->second;
}

void Ingest::batch(std::uint32_t pid, std::uint64_t stream, std::span<const std::byte> bytes) {
  Source& src = source(pid, CMWQ_STREAM_SYSTEM(stream));
  bool whole = true;
  std::span<const std::byte> packed;
  if (cmwq::is_packed(bytes)) {  // the transport's form: records from here on
    packed = bytes;
    whole = cmwq::unpack(bytes, unpacked_);
    bytes = unpacked_;
  }
  if (std::int64_t newest; whole && !packed.empty() && rec_ && clock_ == Clock::live && in_order(src, bytes, newest)) {
    // The common case: the log takes the batch as it came, not packed again record by record, and
    // the off/on-CPU records due among its records in a part of their own.
    std::vector<cmwq_ev_state> due = take_due(newest);
    std::span<const std::byte> held = std::as_bytes(std::span(due));
    for_each_interleaved(bytes, held, [&](bool was_held, const cmwq::Record& r) {
      if (!was_held) src.next_seq = r.h->seq + 1;
      learn(was_held ? kSchedStream : src.id, r);
    });
    rec_->add_batch(src.id, packed, bytes, held);
    rec_->snapshot_if_due(trace_);
    return;
  }
  try {
    cmwq::for_each_record(bytes, [&](const cmwq::Record& r) {
      auto ts = r.ts();
      release_until(ts);
      if (r.h->kind == CMWQ_EV_GAP || r.h->kind == CMWQ_EV_CHECK) {  // only the collector writes these
        ++counts_.out_of_sequence;
        return;
      }
      if (r.h->seq == 0) {  // off/on-CPU records (task states) of our translations; a process's come from the kernel
        bool sched = r.h->kind == CMWQ_EV_OFF_CPU || r.h->kind == CMWQ_EV_ON_CPU;
        if ((clock_ != Clock::live || trust_task_states_) && sched) apply(src.id, r);
        else ++counts_.out_of_sequence;
        return;
      }
      if (clock_ == Clock::live && ts > now_ + kFutureNs) {
        ++counts_.from_the_future;
        return;
      }
      if (src.next_seq && r.h->seq < src.next_seq) {
        ++counts_.out_of_sequence;
        return;
      }
      if (src.next_seq && r.h->seq > src.next_seq) {
        std::uint64_t ring_dropped = ring_dropped_count_ ? ring_dropped_count_() : 0;
        bool ring_lost = ring_dropped > ring_dropped_;
        ring_dropped_ = std::max(ring_dropped_, ring_dropped);
        std::uint32_t cause = src.cause ? src.cause
                              : ring_lost ? std::uint32_t{CMWQ_GAP_RING_BUFFER}
                                          : std::uint32_t{CMWQ_GAP_HANDOVER};
        gap(src.id, src.next_seq, static_cast<std::int64_t>(r.h->seq - src.next_seq), cause, ts);
      }
      src.cause = 0;
      src.next_seq = r.h->seq + 1;
      apply(src.id, r);
    });
    if (!whole) throw cmwq::RecordError("a packed batch is damaged");
  } catch (const cmwq::RecordError&) {
    // The rest of the batch cannot be found: the sequence says how much of it was lost.
    ++counts_.malformed_batches;
    src.cause = CMWQ_GAP_MALFORMED;
  }
}

bool Ingest::in_order(const Source& src, std::span<const std::byte> records, std::int64_t& newest) const {
  std::uint64_t next = src.next_seq;
  newest = INT64_MIN;
  bool ok = !src.cause;
  try {
    cmwq::for_each_record(records, [&](const cmwq::Record& r) {
      auto ts = r.ts();
      newest = std::max(newest, ts);
      ok = ok && r.h->seq && (!next || r.h->seq == next) && r.h->kind != CMWQ_EV_GAP && r.h->kind != CMWQ_EV_CHECK &&
           ts <= now_ + kFutureNs;
      next = r.h->seq + 1;
    });
  } catch (const cmwq::RecordError&) {
    return false;
  }
  return ok && newest != INT64_MIN;
}

void Ingest::sched(const cmwq_ev_state& e) {
  if (e.h.kind != CMWQ_EV_OFF_CPU && e.h.kind != CMWQ_EV_ON_CPU) return;
  held_.emplace(cmwq::Record{&e.h}.ts(), e);
}

void Ingest::sched_lost(std::uint64_t n) {
  if (n) gap(kSchedStream, 0, static_cast<std::int64_t>(n), CMWQ_GAP_SCHED, trace_.last_ts());
}

std::vector<cmwq_ev_state> Ingest::take_due(std::int64_t ts) {
  std::vector<cmwq_ev_state> due;
  if (!any_due(ts)) return due;
  auto end = held_.upper_bound(ts);
  for (auto it = held_.begin(); it != end; ++it) due.push_back(it->second);
  held_.erase(held_.begin(), end);
  return due;
}

void Ingest::release_until(std::int64_t ts) {
  if (!any_due(ts)) return;  // as most pool records find it: no vector made
  for (const cmwq_ev_state& e : take_due(ts)) apply(kSchedStream, cmwq::Record{&e.h});
}

void Ingest::gap(int stream, std::uint64_t from, std::int64_t count, std::uint32_t cause, std::int64_t ts) {
  cmwq_ev_state e = collector_record(CMWQ_EV_GAP, ts);
  e.work = from;
  e.arg = count;
  e.flags = cause;
  ++counts_.gaps;
  apply(stream, cmwq::Record{&e.h});
}

void Ingest::apply(int stream, const cmwq::Record& r) {
  auto ts = r.ts();
  if (clock_ == Clock::deadlines)  // what was due before this record, as a live watch would have seen it
    trace_.route(stream, [&](int id, Model& m) { dogs_.at(id)->catch_up(m, ts - 1, [&](auto& a) { raise(id, a); }); });
  if (rec_) rec_->add(stream, r);
  if (r.h->kind == CMWQ_EV_CHECK) {
    check(ts);
    return;
  }
  learn(stream, r);
  if (rec_) rec_->snapshot_if_due(trace_);
}

void Ingest::learn(int stream, const cmwq::Record& r) {
  trace_.apply(stream, r);
  // The kernel's workqueues, traced (session 1 on): an imported kernel log's reports (session 0) list
  // the items of a dump at its instant, which is no queueing rate.
  if (r.h->kind == CMWQ_EV_HELLO && stream != kSchedStream && r.hello()->system == 0 && r.hello()->session) {
    dogs_.at(stream)->watch_queue_storms(storm_);
    dogs_.at(stream)->hog_thresh(hog_thresh_);
  }
}

void Ingest::replayed(int stream, const cmwq::Record& r) { apply(stream, r); }

void Ingest::check(std::int64_t now) {
  for (auto& [id, m] : trace_.models()) raise(id, dogs_.at(id)->check(m, now));
}

void Ingest::raise(int stream, const std::vector<Alert>& alerts) {
  if (alerts.empty()) return;
  const Model& m = trace_.models().at(stream);
  if (rec_)
    for (const Alert& a : alerts) rec_->on_alert(stream, a);
  if (alerts_) alerts_(stream, alerts, m);
}

void Ingest::tick(std::int64_t now, bool behind) {
  now_ = std::max(now_, now);
  std::int64_t at = behind ? std::min(now, trace_.last_ts()) : now;
  if (at <= checked_) return;  // nothing new was read
  checked_ = at;
  release_until(at - kPoolLatencyNs);
  cmwq_ev_state e = collector_record(CMWQ_EV_CHECK, at);
  apply(kSchedStream, cmwq::Record{&e.h});  // logged, so that a replay looks here too
}

void Ingest::finish(std::int64_t end) {
  release_until(INT64_MAX);
  if (clock_ == Clock::deadlines)  // a pool stuck when the log ended was stuck until then
    for (auto& [stream, m] : trace_.models()) {
      int id = stream;  // a copy: lambdas cannot capture structured bindings before C++20's clang 16
      dogs_.at(id)->catch_up(m, end, [&](auto& a) { raise(id, a); });
    }
  for (auto& [id, m] : trace_.models()) m.finish();
}

std::int64_t Ingest::next_deadline() const {
  std::int64_t next = INT64_MAX;
  for (auto& [id, m] : trace_.models()) next = std::min(next, dogs_.at(id)->next_deadline(m));
  return next;
}

}  // namespace wqscope
