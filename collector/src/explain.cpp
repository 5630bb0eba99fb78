#include "explain.h"

#include <cmwq/constants.h>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

namespace wqscope {

namespace {

using Link = Explanation::Link;
using Chain = Explanation::Chain;
using Cause = Explanation::Cause;

constexpr std::size_t kMaxChains = 32, kMaxDepth = 32;

/// What a barrier waits for: the item before it, running on a worker or on a list.
struct Wait {
  Link item;  // kind Item: func, pool, state, running_on
};

class Explainer {
 public:
  Explainer(const Model& m, std::int64_t now) : m_(m), now_(now) {
    // A kernel report says when an item started only with 7.0's " for Ns"; a recording always does.
    starts_known_ = !m.from_report() || cmwq::report::Dialect::parse(m.dialect()).for_s;
    for (const WorkInstance& w : m.open_instances()) func_[w.work] = w.func;
    for (auto& [pid, w] : m.workers()) {
      if (!alive(w)) continue;
      // Barriers at the head of a worker's list wait for its current item (insert_wq_barrier).
      for (const Entry& e : w.scheduled) {
        if (!e.barrier_pid) break;
        waits_[e.barrier_pid].push_back({item_link(w.current.func, w.pool, "running", pid, e.barrier_pid)});
      }
    }
    // Then those on lists: a flusher's wait for a running item comes first, it is the direct one.
    for (auto& [id, p] : m.pools()) scan(p.worklist, "pending");
    for (auto& [key, q] : m.pwqs()) scan(q.inactive, "inactive");
  }

  Explanation run(std::int64_t thresh) {
    Explanation out;
    out.at_ns = now_;
    chains();
    for (auto& [id, p] : m_.pools()) {
      if (p.worklist.empty() || p.last_progress_ns < 0 || now_ - p.last_progress_ns < thresh) continue;
      Explanation::Stuck s;
      s.pool = id;
      s.identity = m_.pool_identity(p);
      s.stuck_s = (now_ - p.last_progress_ns) / 1'000'000'000;
      s.pending = static_cast<int>(std::count_if(p.worklist.begin(), p.worklist.end(), [](const Entry& e) { return e.work; }));
      s.causes = causes(p);
      for (const Chain& c : chains_)
        if (std::any_of(c.links.begin(), c.links.end(), [pool = id](const Link& l) { return l.pool == pool; }) &&
            s.chains.size() < kMaxChains)
          s.chains.push_back(c);
      out.pools.push_back(std::move(s));
    }
    for (const Chain& c : chains_)
      if (c.deadlock) out.deadlocks.push_back(c);
    top(out);
    return out;
  }

 private:
  static bool alive(const WorkerInfo& w) { return w.pid != 0 && w.destroyed_ns < 0; }

  Link item_link(const std::string& func, int pool, const char* state, int running_on, int waiter) const {
    Link l;
    l.kind = Link::Item;
    l.func = func;
    l.pool = pool;
    l.state = state;
    l.running_on = running_on;
    l.pid = waiter;
    return l;
  }

  /// A flush barrier on a list waits for the item it is chained to: the one before it.
  void scan(const EntryList& list, const char* state) {
    const Entry* before = nullptr;
    for (const Entry& e : list) {
      if (e.barrier_pid && before && before->work) {
        auto f = func_.find(before->work);
        waits_[e.barrier_pid].push_back({item_link(f == func_.end() ? "?" : f->second, e.pool, state, 0, e.barrier_pid)});
      }
      if (e.work) before = &e;
    }
  }

  std::string state_of(const WorkerInfo& w) const {
    if (w.state == WorkerState::Idle) return "idle";
    // The task state of its last wait (a kernel report's backtrace gives it with the sleep).
    if (w.off_cpu_since >= 0 || w.state == WorkerState::Sleeping)
      return w.off_cpu_state & 2 ? "D" : w.off_cpu_state & 1 ? "S" : "sleeping";
    return "R";
  }

  Link worker_link(int pid) const {
    Link l;
    l.pid = pid;
    if (auto it = m_.workers().find(pid); it != m_.workers().end()) {
      l.pool = it->second.pool;
      l.func = it->second.current.func;
      l.wq = it->second.current.wq;
      l.state = state_of(it->second);
    }
    return l;
  }

  /// The busy workers of a pool that keep it from starting others: running ones first.
  std::vector<int> blockers(int pool) const {
    std::vector<int> running, other;
    for (auto& [pid, w] : m_.workers())
      if (alive(w) && w.pool == pool && w.current.work) (state_of(w) == "R" ? running : other).push_back(pid);
    running.insert(running.end(), other.begin(), other.end());
    return running;
  }

  /// Follows what `chain`'s last worker waits for, appending the chains that end somewhere.
  void walk(Chain chain, int depth) {
    const Link& last = chain.links.back();
    auto waits = waits_.find(last.pid);
    bool flushing = last.kind == Link::Worker && waits != waits_.end();
    if (!flushing || depth > static_cast<int>(kMaxDepth)) return done(std::move(chain));
    for (const Wait& w : waits->second) {
      Chain next = chain;
      next.links.push_back(w.item);
      int on = w.item.running_on;
      if (!on) {  // on a list: the pool's (or the pwq's) running workers keep it there
        auto b = blockers(w.item.pool);
        if (b.empty()) {
          done(std::move(next));
          continue;
        }
        on = b.front();
      }
      bool seen = std::any_of(chain.links.begin(), chain.links.end(),
                              [&](const Link& l) { return l.kind == Link::Worker && l.pid == on; });
      next.links.push_back(worker_link(on));
      if (seen) {
        next.deadlock = true;
        done(std::move(next));
      } else {
        walk(std::move(next), depth + 1);
      }
    }
  }

  void done(Chain c) {
    if (chains_.size() < kMaxChains * 4) chains_.push_back(std::move(c));
  }

  /// Chains start at the flushers nobody waits for (or, in a pure cycle, at its smallest pid).
  void chains() {
    std::set<int> waited_on;
    for (auto& [pid, ws] : waits_)
      for (const Wait& w : ws) {
        if (w.item.running_on) waited_on.insert(w.item.running_on);
        else
          for (int b : blockers(w.item.pool)) waited_on.insert(b);
      }
    for (auto& [pid, ws] : waits_)
      if (!waited_on.count(pid)) walk(Chain{{worker_link(pid)}, false}, 0);
    if (chains_.empty() && !waits_.empty()) walk(Chain{{worker_link(waits_.begin()->first)}, false}, 0);
  }

  std::vector<Cause> causes(const PoolInfo& p) const {
    std::vector<Cause> out;
    int pending = static_cast<int>(std::count_if(p.worklist.begin(), p.worklist.end(), [](const Entry& e) { return e.work; }));
    bool per_cpu = p.cpu >= 0;
    int workers = 0, idle = static_cast<int>(p.idle.size());
    for (auto& [pid, w] : m_.workers()) workers += alive(w) && w.pool == p.id;
    // A BH pool is always DISASSOCIATED (its worker is the CPU's softirq): that says nothing of the CPU.
    if (p.flags & cmwq::POOL_DISASSOCIATED && per_cpu && !(p.flags & cmwq::POOL_BH))
      out.push_back({"disassociated", 0, "", "", "", 0, pending,
                     fmt::format("pool {} is DISASSOCIATED (flags 0x{:x}): CPU {} is offline, so its per-CPU work waits "
                                 "until the CPU comes back (queue_work_on() an offline CPU puts work here)",
                                 p.id, p.flags, p.cpu)});
    if (!p.nr_workers && !workers)
      out.push_back({"no_worker", 0, "", "", "", 0, pending,
                     fmt::format("pool {} has no worker: {} item(s) wait and nothing runs them", p.id, pending)});
    if (p.manager && !idle) {
      std::string rescue;
      std::set<std::uint32_t> wqs;
      for (const Entry& e : p.worklist) wqs.insert(e.wq);
      for (std::uint32_t id : wqs) {
        auto wq = m_.workqueues().find(id);
        if (wq == m_.workqueues().end()) continue;
        bool reclaim = wq->second.flags & cmwq::WQ_MEM_RECLAIM;
        auto r = std::find_if(m_.workers().begin(), m_.workers().end(),
                              [&](const auto& w) { return alive(w.second) && w.second.rescuer_of == id; });
        rescue += r != m_.workers().end()    ? fmt::format("; the rescuer {} of {} can run its items", r->first, wq->second.name)
                  : reclaim                  ? fmt::format("; {} has WQ_MEM_RECLAIM: its rescuer should run its items", wq->second.name)
                                             : fmt::format("; {} has no rescuer (no WQ_MEM_RECLAIM)", wq->second.name);
      }
      out.push_back({"manager_no_idle", p.manager, "", "", "", 0, pending,
                     fmt::format("worker {} holds the manager role and no worker is idle: worker creation is not "
                                 "succeeding (memory pressure?){}",
                                 p.manager, rescue)});
    }
    for (int pid : blockers(p.id)) {
      const WorkerInfo& w = m_.workers().at(pid);
      std::string state = state_of(w), func = w.current.func;
      auto hog = m_.hogs().find(func);
      std::uint64_t hogs = hog == m_.hogs().end() ? 0 : hog->second;
      std::string for_s = starts_known_ && w.current.started_ns >= 0
                              ? fmt::format(" for {}s", (now_ - w.current.started_ns) / 1'000'000'000)
                              : "";
      std::string hogged = hogs ? fmt::format("; {} was marked CPU-intensive (the kernel's hog warning)", func) : "";
      if (auto waits = waits_.find(pid); waits != waits_.end()) {
        for (const Wait& x : waits->second)
          out.push_back({"flushing", pid, func, w.current.wq, state, hogs, 1,
                         fmt::format("worker {} runs {} and waits in a flush for {} [BAR({})] {} on pool {}", pid, func,
                                     x.item.func, pid, x.item.state, x.item.pool)});
      } else if (state == "R") {
        out.push_back({"running", pid, func, w.current.wq, state, hogs, pending,
                       per_cpu ? fmt::format("worker {} runs {}{} and does not sleep (task state R: the pool counts "
                                             "it as running){}: concurrency management starts no other worker while "
                                             "it runs, and {} item(s) wait",
                                             pid, func, for_s, hogged, pending)
                               : fmt::format("worker {} runs {}{} (task state R){}", pid, func, for_s, hogged)});
      } else {
        out.push_back({"sleeping", pid, func, w.current.wq, state, hogs, 1,
                       fmt::format("worker {} sleeps inside {} (task state {}){}", pid, func, state, for_s)});
      }
    }
    for (auto& [key, q] : m_.pwqs()) {
      if (q.pool != p.id || q.inactive.empty()) continue;
      auto wq = m_.workqueues().find(q.wq);
      std::string name = wq == m_.workqueues().end() ? "?" : wq->second.name.str();
      int max = q.max_active ? q.max_active : wq == m_.workqueues().end() ? 0 : static_cast<int>(wq->second.max_active);
      int held = static_cast<int>(q.inactive.size());
      out.push_back({"max_active", 0, "", name, "", 0, held,
                     fmt::format("{} item(s) of {} are held back by max_active{} behind its {} active one(s)", held, name,
                                 max ? fmt::format(" {}", max) : "", q.nr_active)});
    }
    // Idle workers, nothing running here: another pool's worker that never sleeps may hold the CPU.
    if (per_cpu && idle && blockers(p.id).empty())
      for (auto& [pid, w] : m_.workers()) {
        auto other = m_.pools().find(w.pool);
        if (!alive(w) || !w.current.work || w.pool == p.id || other == m_.pools().end() || other->second.cpu != p.cpu ||
            state_of(w) != "R")
          continue;
        out.push_back({"cpu_busy", pid, w.current.func, w.current.wq, "R", 0, pending,
                       fmt::format("pool {} has {} idle worker(s), but CPU {} runs worker {} ({}, pool {}), which does "
                                   "not sleep: no other task gets the CPU",
                                   p.id, idle, p.cpu, pid, w.current.func, w.pool)});
      }
    if (out.empty())
      out.push_back({"unknown", 0, "", "", "", 0, pending,
                     fmt::format("{} item(s) wait; the state shows no worker of pool {} that keeps them", pending, p.id)});
    return out;
  }

  void top(Explanation& out) const {
    std::map<std::string, int> pending, running;
    for (auto& [id, p] : m_.pools())
      for (const Entry& e : p.worklist)
        if (auto f = func_.find(e.work); e.work && f != func_.end()) ++pending[f->second];
    for (auto& [key, q] : m_.pwqs())
      for (const Entry& e : q.inactive)
        if (auto f = func_.find(e.work); e.work && f != func_.end()) ++pending[f->second];
    for (auto& [pid, w] : m_.workers())
      if (alive(w) && w.current.work) ++running[w.current.func];
    auto sorted = [](const std::map<std::string, int>& counts) {
      std::vector<std::pair<std::string, int>> v(counts.begin(), counts.end());
      std::stable_sort(v.begin(), v.end(), [](auto& a, auto& b) { return a.second > b.second; });
      if (v.size() > 10) v.resize(10);
      return v;
    };
    out.top_pending = sorted(pending);
    out.top_in_flight = sorted(running);
  }

  const Model& m_;
  std::int64_t now_;
  std::unordered_map<std::uint64_t, std::string> func_;
  std::map<int, std::vector<Wait>> waits_;  // by flusher pid
  std::vector<Chain> chains_;
  bool starts_known_ = true;
};

std::string link_text(const Link& l) {
  if (l.kind == Link::Item)
    return l.running_on ? fmt::format("{} [BAR({})] running on worker {}", l.func, l.pid, l.running_on)
                        : fmt::format("{} [BAR({})] {} on pool {}", l.func, l.pid, l.state, l.pool);
  return l.func.empty() ? fmt::format("worker {} (pool {}, {})", l.pid, l.pool, l.state)
                        : fmt::format("worker {} ({}, pool {}, state {})", l.pid, l.func, l.pool, l.state);
}

}  // namespace

std::string chain_text(const Chain& c) {
  std::string out;
  for (const Link& l : c.links) out += (out.empty() ? "" : " -> ") + link_text(l);
  return out + (c.deadlock ? ": a cycle, DEADLOCK" : "");
}

namespace {

nlohmann::json link_json(const Link& l) {
  nlohmann::json j;
  if (l.kind == Link::Item) {
    j = {{"item", l.func}, {"barrier", l.pid}, {"pool", l.pool}, {"state", l.state}};
    if (l.running_on) j["running_on"] = l.running_on;
  } else {
    j = {{"worker", l.pid}, {"pool", l.pool}, {"func", l.func}, {"state", l.state}};
  }
  return j;
}

nlohmann::json chain_json(const Chain& c) {
  nlohmann::json links = nlohmann::json::array();
  for (const Link& l : c.links) links.push_back(link_json(l));
  return {{"deadlock", c.deadlock}, {"links", links}, {"text", chain_text(c)}};
}

}  // namespace

std::int64_t default_thresh_ns(const Model& model) {
  return model.from_report() ? 1'000'000'000 : 30'000'000'000;
}

Explanation explain(const Model& model, std::int64_t now, std::int64_t thresh_ns) {
  return Explainer(model, now).run(thresh_ns);
}

std::vector<std::string> explain_text(const Explanation& e) {
  std::vector<std::string> out;
  if (e.pools.empty()) out.push_back("No pool is stuck at this instant.");
  for (const auto& s : e.pools) {
    out.push_back(fmt::format("pool {}:{} stuck for {}s, {} item(s) pending", s.pool, s.identity, s.stuck_s, s.pending));
    for (const Cause& c : s.causes) out.push_back("  why: " + c.text);
    for (const Chain& c : s.chains) out.push_back("  wait-for: " + chain_text(c));
  }
  for (const Chain& c : e.deadlocks) out.push_back("DEADLOCK: " + chain_text(c));
  auto list = [](const std::vector<std::pair<std::string, int>>& v) {
    std::string s;
    for (auto& [f, n] : v) s += fmt::format("{}{} ({})", s.empty() ? "" : ", ", f, n);
    return s;
  };
  if (!e.top_pending.empty()) out.push_back("most pending: " + list(e.top_pending));
  if (!e.top_in_flight.empty()) out.push_back("most in flight: " + list(e.top_in_flight));
  return out;
}

std::string explain_json(const Explanation& e) {
  nlohmann::json pools = nlohmann::json::array(), deadlocks = nlohmann::json::array();
  for (const auto& s : e.pools) {
    nlohmann::json causes = nlohmann::json::array(), chains = nlohmann::json::array();
    for (const Cause& c : s.causes) {
      nlohmann::json j = {{"kind", c.kind}, {"text", c.text}, {"count", c.count}};
      if (c.worker) j["worker"] = c.worker;
      if (!c.func.empty()) j["func"] = c.func;
      if (!c.wq.empty()) j["wq"] = c.wq;
      if (!c.state.empty()) j["state"] = c.state;
      if (c.hogs) j["hogs"] = c.hogs;
      causes.push_back(j);
    }
    for (const Chain& c : s.chains) chains.push_back(chain_json(c));
    pools.push_back({{"pool", s.pool}, {"identity", s.identity}, {"stuck_s", s.stuck_s}, {"pending", s.pending},
                     {"causes", causes}, {"chains", chains}});
  }
  for (const Chain& c : e.deadlocks) deadlocks.push_back(chain_json(c));
  auto top = [](const std::vector<std::pair<std::string, int>>& v) {
    nlohmann::json j = nlohmann::json::array();
    for (auto& [f, n] : v) j.push_back({{"func", f}, {"count", n}});
    return j;
  };
  nlohmann::json j = {{"at_ns", e.at_ns}, {"pools", pools}, {"deadlocks", deadlocks},
                      {"top_pending", top(e.top_pending)}, {"top_in_flight", top(e.top_in_flight)}};
  // Names come from logs and targets: bytes that are not UTF-8 are replaced, not thrown at the caller.
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace wqscope
