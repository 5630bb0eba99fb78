#include <cmwq/recorder.h>

#include <fmt/format.h>

#include <cstring>

namespace cmwq {

Recorder::Recorder(std::uint32_t pid, int possible_cpus, Time watchdog_thresh)
    : pid_(pid), cpus_(possible_cpus), thresh_(watchdog_thresh) {}

template <class T>
T& Recorder::append(std::uint16_t kind, Time ts, std::uint32_t tid, std::int32_t cpu) {
  std::size_t at = buf_.size();
  buf_.resize(at + sizeof(T));
  auto* rec = reinterpret_cast<T*>(buf_.data() + at);
  std::memset(rec, 0, sizeof(T));
  rec->h = cmwq_event_header{kind, sizeof(T), pid_, tid, cpu, static_cast<std::uint64_t>(ts), seq_++};
  ++count_;
  return *rec;
}

void Recorder::restart(Time now) {
  names_.clear();
  by_ptr_.clear();
  auto& hello = append<cmwq_ev_hello>(CMWQ_EV_HELLO, now, 0, -1);
  hello.version = CMWQ_EVENTS_VERSION;
  hello.possible_cpus = static_cast<std::uint32_t>(cpus_);
  hello.watchdog_thresh_ns = static_cast<std::uint64_t>(thresh_);
}

std::uint32_t Recorder::intern(const char* s, std::uint32_t kind, Time now, std::uint32_t tid) {
  if (!s) return 0;
  if (auto it = by_ptr_.find(s); it != by_ptr_.end()) return it->second;
  std::string text(s, strnlen(s, CMWQ_NAME_MAX - 1));
  auto [it, added] = names_.try_emplace(text, static_cast<std::uint32_t>(names_.size() + 1));
  if (added) {
    auto& rec = append<cmwq_ev_name>(CMWQ_EV_NAME, now, tid, -1);
    rec.id = it->second;
    rec.name_kind = kind;
    std::memcpy(rec.text, text.data(), text.size());
  }
  by_ptr_[s] = it->second;
  return it->second;
}

void Recorder::record(const Event& e, std::uint32_t tid) {
  std::uint32_t func = 0;
  if (e.kind == EventKind::WqCreate) func = intern(e.wq->name.c_str(), CMWQ_NAME_WQ, e.time, tid);
  else if (e.work) func = intern(e.work->barrier ? "wq_barrier_func" : e.work->func, CMWQ_NAME_FUNC, e.time, tid);
  const Pool* pool = e.pool ? e.pool : e.worker ? e.worker->pool : nullptr;
  auto& r = append<cmwq_ev_state>(static_cast<std::uint16_t>(e.kind), e.time, tid, pool ? pool->cpu : -1);
  r.work = e.work ? e.work->id : 0;
  r.func = func;
  r.wq = e.wq ? e.wq->id : 0;
  r.pool = pool ? pool->id : -1;
  r.worker = e.worker ? e.worker->id : 0;
  r.flags = e.kind == EventKind::WqCreate ? e.wq->flags : e.worker ? e.worker->flags : 0;
  if (pool) {
    r.pool_flags = pool->flags;
    r.nr_running = pool->nr_running;
    r.nr_idle = pool->nr_idle;
    r.nr_workers = pool->nr_workers;
  }
  const Pwq* pwq = e.work && e.work->pwq ? e.work->pwq : e.worker ? e.worker->current_pwq : nullptr;
  r.nr_active = pwq ? pwq->nr_active : -1;
  r.arg = e.arg;
}

std::vector<std::byte> Recorder::take(std::uint64_t* events) {
  if (events) *events = count_;
  count_ = 0;
  std::vector<std::byte> out;
  out.swap(buf_);
  return out;
}

void for_each_record(std::span<const std::byte> bytes, const std::function<void(const Record&)>& fn) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    if (bytes.size() - off < sizeof(cmwq_event_header))
      throw Error(fmt::format("event stream: record at byte {} is truncated ({} bytes left, a header needs {})", off,
                              bytes.size() - off, sizeof(cmwq_event_header)));
    cmwq_event_header h;
    std::memcpy(&h, bytes.data() + off, sizeof h);
    if (h.size < sizeof h || h.size > bytes.size() - off)
      throw Error(fmt::format("event stream: record at byte {} claims {} bytes ({} left)", off, h.size,
                              bytes.size() - off));
    if (off % alignof(cmwq_event_header) != 0)
      throw Error(fmt::format("event stream: record at byte {} is misaligned", off));
    std::size_t want = h.kind == CMWQ_EV_NAME ? sizeof(cmwq_ev_name)
                       : h.kind == CMWQ_EV_HELLO ? sizeof(cmwq_ev_hello)
                                                 : sizeof(cmwq_ev_state);
    if (h.kind == 0 || h.kind >= CMWQ_EV_KIND_END)
      throw Error(fmt::format("event stream: record at byte {} has unknown kind {} (this reader knows 1-{})", off,
                              h.kind, CMWQ_EV_KIND_END - 1));
    if (h.size != want)
      throw Error(fmt::format("event stream: record at byte {} of kind {} has {} bytes, expected {}", off, h.kind,
                              h.size, want));
    Record rec{reinterpret_cast<const cmwq_event_header*>(bytes.data() + off)};
    if (h.kind == CMWQ_EV_HELLO && rec.hello()->version > CMWQ_EVENTS_VERSION)
      throw Error(fmt::format("event stream: schema version {} is newer than this reader's {}; update wqscope",
                              rec.hello()->version, CMWQ_EVENTS_VERSION));
    fn(rec);
    off += h.size;
  }
}

}  // namespace cmwq
