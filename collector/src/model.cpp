#include "model.h"

#include <algorithm>
#include <cstring>

namespace wqscope {

std::string Model::name(std::uint32_t id) const {
  auto it = names_.find(id);
  return it == names_.end() ? std::string() : it->second;
}

void Model::pool_state(const cmwq_ev_state& e) {
  if (e.pool < 0) return;
  PoolInfo& p = pools_[e.pool];
  p.id = e.pool;
  p.cpu = e.h.cpu;
  p.flags = e.pool_flags;
  p.nr_running = e.nr_running;
  p.nr_idle = e.nr_idle;
  p.nr_workers = e.nr_workers;
}

void Model::apply(const cmwq::Record& r) {
  ++records_;
  const cmwq_event_header& h = *r.h;
  if (h.kind == CMWQ_EV_HELLO) {
    // A new stream: its ids start over.
    names_.clear();
    possible_cpus_ = static_cast<int>(r.hello()->possible_cpus);
    last_seq_ = h.seq;
    return;
  }
  if (last_seq_ && h.seq > last_seq_ + 1) lost_ += h.seq - last_seq_ - 1;
  last_seq_ = h.seq;
  if (h.kind == CMWQ_EV_NAME) {
    const cmwq_ev_name& n = *r.name();
    std::string text(n.text, strnlen(n.text, sizeof n.text));
    names_[n.id] = text;
    if (obs_) obs_->on_name(n.id, n.name_kind, text);
    return;
  }
  const cmwq_ev_state& e = *r.state();
  pool_state(e);
  auto wq_name = [&] {
    auto it = wqs_.find(e.wq);
    return it == wqs_.end() ? std::string() : it->second.name;
  };
  switch (h.kind) {
    case CMWQ_EV_WQ_CREATE: {
      WorkqueueInfo& wq = wqs_[e.wq];
      wq = WorkqueueInfo{e.wq, name(e.func), e.flags, e.arg, static_cast<std::int64_t>(h.ts), -1};
      if (obs_) obs_->on_workqueue(wq);
      break;
    }
    case CMWQ_EV_WQ_DESTROY:
      if (auto it = wqs_.find(e.wq); it != wqs_.end()) {
        it->second.destroyed_ns = static_cast<std::int64_t>(h.ts);
        if (obs_) obs_->on_workqueue(it->second);
      }
      break;
    case CMWQ_EV_POOL_CREATE: {
      PoolInfo& p = pools_[e.pool];
      p.nice = static_cast<int>(e.arg);
      if (obs_) obs_->on_pool(p);
      break;
    }
    case CMWQ_EV_WORKER_CREATE: {
      WorkerInfo& w = workers_[e.worker];
      w = WorkerInfo{e.worker, e.pool, e.wq, static_cast<std::int64_t>(h.ts), -1};
      if (obs_) obs_->on_worker(w);
      break;
    }
    case CMWQ_EV_WORKER_DESTROY:
      if (auto it = workers_.find(e.worker); it != workers_.end()) {
        it->second.destroyed_ns = static_cast<std::int64_t>(h.ts);
        if (obs_) obs_->on_worker(it->second);
      }
      break;
    case CMWQ_EV_WORK_QUEUE: {
      WorkInstance& w = pending_[e.work];
      if (w.queued_ns >= 0) ++anomalies_;  // queued twice without starting
      w = WorkInstance{e.work, name(e.func), wq_name(), e.pool, 0, static_cast<std::int64_t>(h.ts)};
      break;
    }
    case CMWQ_EV_WORK_ACTIVATE:
      if (e.pool >= 0) {
        PoolInfo& p = pools_[e.pool];
        if (p.pending++ == 0) p.last_progress_ns = static_cast<std::int64_t>(h.ts);
      }
      if (auto it = pending_.find(e.work); it != pending_.end()) {
        it->second.activated_ns = static_cast<std::int64_t>(h.ts);
        it->second.pool = e.pool;
      }
      break;
    case CMWQ_EV_WORK_START: {
      WorkInstance w;
      if (auto it = pending_.find(e.work); it != pending_.end()) {
        w = std::move(it->second);
        pending_.erase(it);
      } else {
        w = WorkInstance{e.work, name(e.func), wq_name(), e.pool};  // queued before the recording began
      }
      if (e.pool >= 0) {
        PoolInfo& p = pools_[e.pool];
        p.pending = std::max(0, p.pending - 1);
        p.last_progress_ns = static_cast<std::int64_t>(h.ts);
      }
      if (auto q = wqs_.find(e.wq); q != wqs_.end()) {
        ++q->second.in_flight;
        q->second.last_progress_ns = static_cast<std::int64_t>(h.ts);
      }
      w.started_ns = static_cast<std::int64_t>(h.ts);
      w.worker = e.worker;
      w.pool = e.pool;
      running_[e.worker] = std::move(w);
      break;
    }
    case CMWQ_EV_WORK_END:
      if (auto q = wqs_.find(e.wq); q != wqs_.end()) {
        q->second.in_flight = std::max(0, q->second.in_flight - 1);
        q->second.last_progress_ns = static_cast<std::int64_t>(h.ts);
      }
      if (auto it = running_.find(e.worker); it != running_.end() && it->second.work == e.work) {
        it->second.ended_ns = static_cast<std::int64_t>(h.ts);
        it->second.cpu_ns = e.arg;
        if (obs_) obs_->on_work_done(it->second);
        running_.erase(it);
      } else {
        ++anomalies_;
      }
      break;
    case CMWQ_EV_WORK_CANCEL:
      if (auto it = pending_.find(e.work); it != pending_.end()) {
        if (it->second.activated_ns >= 0 && it->second.pool >= 0) {
          PoolInfo& p = pools_[it->second.pool];
          p.pending = std::max(0, p.pending - 1);
        }
        it->second.canceled = true;
        if (obs_) obs_->on_work_done(it->second);
        pending_.erase(it);
      }
      break;
    default:
      break;
  }
}

std::string Model::pool_identity(const PoolInfo& p) const {
  std::vector<int> cpus;
  if (p.cpu >= 0) cpus.push_back(p.cpu);
  else
    for (int c = 0; c < possible_cpus_; ++c) cpus.push_back(c);
  return cmwq::pool_identity(cpus, p.cpu >= 0 ? 0 : cmwq::NUMA_NO_NODE, p.flags, p.nice);
}

std::map<std::string, Model::Waiting> Model::held_back() const {
  std::map<std::string, Waiting> out;
  for (auto& [id, w] : pending_) {
    if (w.activated_ns >= 0) continue;
    Waiting& h = out[w.wq];
    ++h.count;
    if (h.oldest_ns < 0 || w.queued_ns < h.oldest_ns) h.oldest_ns = w.queued_ns;
  }
  return out;
}

std::vector<WorkInstance> Model::open_instances() const {
  std::vector<WorkInstance> out;
  for (auto& [id, w] : pending_) out.push_back(w);
  for (auto& [pid, w] : running_) out.push_back(w);
  return out;
}

}  // namespace wqscope
