#include <cmwq/recorder.h>

#include <fmt/format.h>

#include <cstring>

namespace cmwq {

Recorder::Recorder(std::uint32_t pid, std::uint32_t system, int possible_cpus, Time watchdog_thresh, Kernel kernel)
    : pid_(pid), system_(system), cpus_(possible_cpus), thresh_(watchdog_thresh),
      traced_(dialect_of(kernel).traced_mark()) {}

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
  sent_.assign(sent_.size(), false);
  auto& hello = append<cmwq_ev_hello>(CMWQ_EV_HELLO, now, 0, -1);
  hello.version = CMWQ_EVENTS_VERSION;
  hello.possible_cpus = static_cast<std::uint32_t>(cpus_);
  hello.watchdog_thresh_ns = static_cast<std::uint64_t>(thresh_);
  hello.system = system_;
  hello.session = ++session_;
  if (!traced_.empty()) {
    std::uint32_t name = intern(traced_.c_str(), CMWQ_NAME_WORKER, now, 0);  // first: it appends
    auto& mark = append<cmwq_ev_state>(CMWQ_EV_REPORTED, now, 0, -1);
    mark.func = name;
    mark.pool = -1;
    mark.nr_active = -1;
  }
}

void Recorder::announced(Time now) {
  auto& r = append<cmwq_ev_state>(CMWQ_EV_ANNOUNCED, now, 0, -1);
  r.pool = -1;
  r.nr_active = -1;
}

std::uint32_t Recorder::intern(const char* s, std::uint32_t kind, Time now, std::uint32_t tid) {
  if (!s) return 0;
  std::uint32_t id;
  if (auto it = by_ptr_.find(s); it != by_ptr_.end()) {
    id = it->second;
  } else {
    std::string text(s, strnlen(s, CMWQ_NAME_MAX - 1));
    id = names_.try_emplace(std::move(text), static_cast<std::uint32_t>(names_.size() + 1)).first->second;
    by_ptr_[s] = id;
  }
  if (id >= sent_.size()) sent_.resize(id + 1, false);
  if (!sent_[id]) {  // once per session: a reader that joins at a HELLO learns every name it meets
    sent_[id] = true;
    std::string text(s, strnlen(s, CMWQ_NAME_MAX - 1));
    auto& rec = append<cmwq_ev_name>(CMWQ_EV_NAME, now, tid, -1);
    rec.id = id;
    rec.name_kind = kind;
    std::memcpy(rec.text, text.data(), text.size());
  }
  return id;
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
  // The item a worker runs may be queued again meanwhile, even on another workqueue's pool: its
  // own pwq is then that pool's, whose lock the emitter need not hold; the worker's is this pool's.
  const Pwq* pwq = e.worker && e.work && e.work == e.worker->current_work ? e.worker->current_pwq
                   : e.work && e.work->pwq                               ? e.work->pwq
                   : e.worker                                            ? e.worker->current_pwq
                                                                         : nullptr;
  r.nr_active = e.kind == EventKind::PoolCreate ? pool->node : pwq ? pwq->nr_active : -1;
  r.arg = e.arg;
}

std::vector<std::byte> Recorder::take(std::uint64_t* events) {
  if (events) *events = count_;
  count_ = 0;
  std::vector<std::byte> out;
  out.swap(buf_);
  return out;
}

}  // namespace cmwq
