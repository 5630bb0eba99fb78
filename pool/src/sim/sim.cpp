// The virtual-time driver of the core. Each virtual CPU runs the workers bound
// to it one at a time, first come first served, without preemption (the
// "simple FIFO scheduling" of the cmwq documentation); unbound workers run
// without contention. Events at one instant are handled in a fixed order:
// CPU bursts that end, then sleeps that end, then timers and scenario actions,
// then workers that pick their next item — which reproduces the documented
// timelines and makes every run deterministic.
#include <cmwq/recorder.h>
#include <cmwq/sim.h>

#include <fmt/format.h>

#include <algorithm>
#include <deque>
#include <set>
#include <unordered_map>
#include <utility>

namespace cmwq::sim {

namespace {

struct Thread {
  enum class State { Idle, Ready, Script, OnCpu, Sleeping, Blocked, Cooldown, Dead } state = State::Idle;
  Worker* worker = nullptr;          // null for a scenario task
  int task_pid = 0;
  int task_cpu = 0;
  std::vector<Op> task_ops;          // what a task does
  const ItemDef* item = nullptr;     // what a worker runs now
  std::size_t pc = 0;
  bool resume = false;               // a wait ended: continue the script
  bool told_pool = false;            // slept through the pool's blocking point
  bool announced = false;            // the timeline already described the current step
  Time burn_left = 0, cpu_since_wake = 0, item_cpu = 0;
  Time burst_start = 0;              // when the current burst got the CPU
  std::uint64_t gen = 0;             // invalidates stale burst-end and tick events
  Waiter waiter;

  const std::vector<Op>& ops() const { return worker ? item->ops : task_ops; }
};

struct SimEvent {
  Time time;
  int phase;  // 1 burst end, 2 wake-up / tick, 3 scenario action
  std::uint64_t seq;
  enum Kind { BurnEnd, WakeUp, Tick, Act } kind;
  Thread* thread;
  std::uint64_t gen;
  std::size_t action;
  bool operator<(const SimEvent& o) const {
    return std::tie(time, phase, seq) < std::tie(o.time, o.phase, o.seq);
  }
};

std::string dmesg(Time t, std::string_view text) {
  return fmt::format("[{:5}.{:06}] {}", t / kSec, (t % kSec) / kUsec, text);
}

class Simulator final : public Driver {
 public:
  Simulator(const Scenario& sc, bool record) : sc_(sc), recorder_(1, 1, sc.config.possible_cpus, sc.config.watchdog_thresh, sc.config.kernel) {
    Config cfg = sc.config;
    cfg.on_panic = [this](std::string_view) { result_.panicked = true; };  // the run stops there
    core_ = std::make_unique<Core>(cfg, *this, 0);
    if (record) {
      recorder_.restart(0);
      core_->set_tracing(true);
      core_->announce_state(0);
      recorder_.announced(0);
    }
    runq_.resize(static_cast<std::size_t>(sc.config.possible_cpus));
    for (auto& def : sc.workqueues) {
      Workqueue* wq = def.ordered ? core_->alloc_ordered_workqueue(def.name, def.flags, 0)
                                  : core_->alloc_workqueue(def.name, def.flags, def.max_active, 0, def.affinity,
                                                           def.strict);
      wqs_[def.name] = wq;
      order_.push_back(wq);
    }
    for (auto& def : sc.items) {
      auto work = std::make_unique<Work>(def.func.c_str());
      work->user = const_cast<ItemDef*>(&def);
      items_[def.name] = work.get();
      groups_[def.group].push_back(work.get());
      works_.push_back(std::move(work));
    }
    for (std::size_t i = 0; i < sc.actions.size(); ++i) push(sc.actions[i].at, 3, SimEvent::Act, nullptr, 0, i);
  }

  /// Items that queue each other at no cost would run forever at one instant: stop, and say so.
  void count_step() {
    if (now_ != instant_) {
      instant_ = now_;
      steps_ = 0;
    }
    if (++steps_ > sc_.max_steps_per_instant)
      throw Error(fmt::format("the scenario makes no progress: {} steps at {:.6f}s without time passing (do its "
                              "items queue each other without burning or sleeping?)",
                              sc_.max_steps_per_instant, static_cast<double>(now_) / kSec));
  }

  Result run() {
    while (!result_.panicked) {
      count_step();
      Time t_core = core_->next_deadline();
      // Workers pick their next item only once everything else at this instant has happened.
      Time t_next = std::min(t_core, events_.empty() ? kNever : events_.begin()->time);
      bool quiet = events_.empty() && !sc_.until;  // nothing left but periodic timers
      if (!ready_.empty() && (t_next > now_ || quiet)) {
        drain_ready();
        continue;
      }
      if (quiet) break;
      bool events = !events_.empty();
      const SimEvent* ev = events ? &*events_.begin() : nullptr;
      bool core_first = t_core != kNever && (!ev || t_core < ev->time || (t_core == ev->time && ev->phase >= 3));
      Time t = core_first ? t_core : ev ? ev->time : kNever;
      if (t == kNever || (sc_.until && t > sc_.until)) break;
      now_ = t;
      if (core_first) {
        core_->advance(now_);
        continue;
      }
      SimEvent e = *events_.begin();
      events_.erase(events_.begin());
      handle(e);
    }
    result_.end = sc_.until && !result_.panicked ? std::max(now_, sc_.until) : now_;
    result_.lockups = core_->lockups_reported();
    result_.lockups_dropped = core_->lockups_dropped();
    summarize();
    return std::move(result_);
  }

  // --- Driver ---
  void wake(Worker& w) override {
    Thread& t = *static_cast<Thread*>(w.driver);
    if (t.state == Thread::State::Idle) make_ready(t);
  }
  bool spawn(Worker& w) override {
    auto t = std::make_unique<Thread>();
    t->worker = &w;
    w.driver = t.get();
    threads_.push_back(std::move(t));
    make_ready(*threads_.back());
    return true;
  }
  void complete(Waiter& waiter) override {
    Thread& t = *static_cast<Thread*>(waiter.driver);
    t.resume = true;
    make_ready(t);
  }
  void message(std::string_view line) override { result_.log.push_back(dmesg(now_, line)); }
  void emit(const Event& e) override {
    const Worker* w = e.worker;
    recorder_.record(e, w ? static_cast<std::uint32_t>(w->id) : 1);
  }

 private:
  void push(Time t, int phase, SimEvent::Kind kind, Thread* th, std::uint64_t gen = 0, std::size_t action = 0) {
    events_.insert(SimEvent{t, phase, seq_++, kind, th, gen, action});
  }
  void make_ready(Thread& t) {
    if (t.state == Thread::State::Ready) return;
    t.state = Thread::State::Ready;
    ready_.push_back(&t);
  }
  std::string name(const Thread& t) const { return t.worker ? t.item->name : fmt::format("task {}", t.task_pid); }

  // --- the timeline of the documentation's tables ---
  void say(const Thread& t, std::string singular, std::string plural = {}) {
    if (!t.worker) return;
    auto& rows = timeline_;
    if (!plural.empty() && !rows.empty() && rows.back().time == now_ && rows.back().plural == plural) {
      rows.back().names.push_back(t.item->name);
      return;
    }
    rows.push_back({now_, {t.item->name}, std::move(singular), std::move(plural)});
  }
  /// Text for what the thread does right after an event: "burns CPU", "sleeps", "finishes".
  void announce(Thread& t, const char* what) {
    const auto& ops = t.ops();
    std::string verb = what;
    if (t.pc == ops.size()) {
      say(t, verb == "wakes up" ? "wakes up and finishes" : "finishes");
      t.announced = true;
    } else if (ops[t.pc].kind == Op::Burn && verb != "burn-end") {
      say(t, verb + " and burns CPU", verb == "starts" ? "start and burn CPU" : "");
    } else if (ops[t.pc].kind == Op::Sleep) {
      say(t, verb == "burn-end" ? "sleeps" : verb + " and sleeps");
      t.announced = true;
    } else if (verb != "burn-end") {
      say(t, verb, verb == "starts" ? "start" : "");
    }
  }

  // --- scripts ---
  Caller caller(const Thread& t) const {
    if (!t.worker) return Caller{t.task_cpu, nullptr, t.task_pid};
    const Pool* pool = t.worker->pool;
    int cpu = pool && pool->cpu >= 0 ? pool->cpu : 0;
    return Caller{cpu, t.worker, t.worker->id};
  }

  void block(Thread& t, bool tell_pool) {
    t.state = Thread::State::Blocked;
    if (tell_pool && t.worker) {
      core_->worker_sleeping(*t.worker, now_);
      t.told_pool = true;
    }
  }

  void continue_script(Thread& t) {
    t.state = Thread::State::Script;
    const auto& ops = t.ops();
    for (;;) {
      bool announced = std::exchange(t.announced, false);
      if (t.pc == ops.size()) {
        if (t.worker) {
          if (!announced) say(t, "finishes");
          result_.finished[t.item->name] = now_;
          auto& s = finished_[t.item->wq];
          ++s.first;
          s.second = now_;
          make_ready(t);  // asks the core for its next step
        } else {
          result_.log.push_back(dmesg(now_, fmt::format("cmwq-sim: task {} done", t.task_pid)));
          t.state = Thread::State::Dead;
        }
        return;
      }
      const Op& op = ops[t.pc++];
      switch (op.kind) {
        case Op::Burn:
          start_burn(t, op.duration);
          return;
        case Op::Sleep:
        case Op::Block:
          if (is_bh(t)) core_->worker_sleeping(*t.worker, now_);  // throws: a BH item must not block
          if (!announced) say(t, op.kind == Op::Sleep ? "sleeps" : "blocks");
          if (op.kind == Op::Sleep && t.worker) {
            core_->worker_sleeping(*t.worker, now_);
            t.told_pool = true;
          }
          t.state = Thread::State::Sleeping;
          push(now_ + op.duration, 2, SimEvent::WakeUp, &t);
          return;
        case Op::Queue:
          for (Work* w : targets(op.target)) core_->queue_work_on(op.cpu, wq_of(*w), *w, caller(t), now_);
          break;
        case Op::Cancel:
          for (Work* w : targets(op.target)) core_->cancel_work(*w, now_);
          break;
        case Op::Flush:
        case Op::CancelSync: {
          Work& w = *targets(op.target).front();
          if (op.kind == Op::CancelSync) core_->cancel_work(w, now_);
          t.waiter.driver = &t;
          if (core_->start_flush_work(w, t.waiter, caller(t), now_)) return block(t, true);
          break;
        }
        case Op::FlushWq:
          t.waiter.driver = &t;
          if (core_->start_flush_workqueue(*wqs_.at(op.target), t.waiter, now_)) return block(t, true);
          break;
        case Op::Wait:
          if (signaled_.count(op.target)) break;
          waiting_[op.target].push_back(&t);
          return block(t, true);
        case Op::Signal:
          signaled_.insert(op.target);
          for (Thread* w : std::exchange(waiting_[op.target], {})) {
            w->resume = true;
            make_ready(*w);
          }
          break;
      }
    }
  }

  static bool is_bh(const Thread& t) { return t.worker && t.worker->pool && (t.worker->pool->flags & POOL_BH); }

  void start_burn(Thread& t, Time d) {
    t.burn_left = d;
    t.state = Thread::State::OnCpu;
    const Worker& w = *t.worker;
    // A BH pool's worker is UNBOUND (its pool is always DISASSOCIATED), yet it is its CPU's softirq.
    bool bound = w.pool && w.pool->cpu >= 0 && (is_bh(t) || !(w.flags & WORKER_UNBOUND));
    if (!bound) return begin_burst(t);
    auto& q = runq_[static_cast<std::size_t>(w.pool->cpu)];
    if (is_bh(t) && !q.empty()) return run_softirq(q, t);
    q.push_back(&t);
    if (q.size() == 1) begin_burst(t);
  }

  /// A BH item runs in the CPU's softirq-like context: it interrupts the thread on the CPU (which
  /// resumes its burst afterwards) and runs before every thread waiting for the CPU.
  void run_softirq(std::deque<Thread*>& q, Thread& t) {
    if (is_bh(*q.front())) {
      auto pos = std::find_if(q.begin(), q.end(), [](Thread* o) { return !is_bh(*o); });
      q.insert(pos, &t);
      return;
    }
    Thread& cur = *q.front();
    Time ran = now_ - cur.burst_start;
    cur.burn_left -= ran;
    cur.cpu_since_wake += ran;
    cur.item_cpu += ran;
    ++cur.gen;  // its burst end and tick are void; begin_burst() schedules them again
    q.push_front(&t);
    begin_burst(t);
  }

  void begin_burst(Thread& t) {
    t.burst_start = now_;
    ++t.gen;
    push(now_ + t.burn_left, 1, SimEvent::BurnEnd, &t, t.gen);
    Time thresh = sc_.config.cpu_intensive_thresh;
    if (t.cpu_since_wake < thresh && t.cpu_since_wake + t.burn_left >= thresh)
      push(now_ + thresh - t.cpu_since_wake, 2, SimEvent::Tick, &t, t.gen);
  }

  void wake_up(Thread& t) {
    if (t.told_pool) {
      core_->worker_running(*t.worker, now_);
      t.told_pool = false;
      t.cpu_since_wake = 0;
    }
  }

  void handle(const SimEvent& e) {
    Thread* t = e.thread;
    switch (e.kind) {
      case SimEvent::BurnEnd: {
        if (e.gen != t->gen) break;  // a softirq interrupted this burst
        t->cpu_since_wake += t->burn_left;
        t->item_cpu += t->burn_left;
        ++t->gen;
        const Worker& w = *t->worker;
        if (w.pool && w.pool->cpu >= 0) {
          auto& q = runq_[static_cast<std::size_t>(w.pool->cpu)];
          if (!q.empty() && q.front() == t) {
            q.pop_front();
            if (!q.empty()) begin_burst(*q.front());
          }
        }
        announce(*t, "burn-end");
        continue_script(*t);
        break;
      }
      case SimEvent::WakeUp:
        if (t->state == Thread::State::Cooldown) {
          make_ready(*t);
          break;
        }
        wake_up(*t);
        announce(*t, "wakes up");
        continue_script(*t);
        break;
      case SimEvent::Tick:
        if (t->gen == e.gen && t->state == Thread::State::OnCpu)
          core_->worker_tick(*t->worker, sc_.config.cpu_intensive_thresh, now_);
        break;
      case SimEvent::Act:
        act(sc_.actions[e.action]);
        break;
    }
  }

  void drain_ready() {
    while (!ready_.empty()) {
      count_step();
      // Softirqs run before the scheduler picks a thread: BH workers go first.
      auto bh = std::find_if(ready_.begin(), ready_.end(), [](Thread* r) { return is_bh(*r); });
      auto pick = bh != ready_.end() ? bh : ready_.begin();
      Thread& t = **pick;
      ready_.erase(pick);
      if (t.state != Thread::State::Ready) continue;
      if (t.resume) {
        t.resume = false;
        wake_up(t);
        announce(t, "wakes up");
        continue_script(t);
        continue;
      }
      Step step = core_->worker_next(*t.worker, now_, std::exchange(t.item_cpu, 0));
      switch (step.kind) {
        case Step::Run:
          t.item = static_cast<const ItemDef*>(step.work->user);
          t.pc = 0;
          t.cpu_since_wake = 0;
          announce(t, "starts");
          continue_script(t);
          break;
        case Step::Idle: t.state = Thread::State::Idle; break;
        case Step::Cooldown:
          t.state = Thread::State::Cooldown;
          push(step.until, 2, SimEvent::WakeUp, &t);
          break;
        case Step::Die: t.state = Thread::State::Dead; break;
      }
    }
  }

  void act(const Action& a) {
    auto note = [&](std::string s) { result_.log.push_back(dmesg(now_, "cmwq-sim: " + s)); };
    switch (a.kind) {
      case Action::Queue:
        for (auto& name : a.targets)
          for (Work* w : targets(name)) core_->queue_work_on(a.cpu, wq_of(*w), *w, Caller{a.from, nullptr, 1}, now_);
        break;
      case Action::Flush: {
        auto t = std::make_unique<Thread>();
        t->task_pid = next_task_pid_++;
        t->task_cpu = a.from;
        for (auto& name : a.targets) t->task_ops.push_back(Op{Op::Flush, 0, name, WORK_CPU_UNBOUND});
        threads_.push_back(std::move(t));
        note(fmt::format("task {} flushes {}", threads_.back()->task_pid, fmt::join(a.targets, " ")));
        continue_script(*threads_.back());
        break;
      }
      case Action::FlushWq: {
        auto t = std::make_unique<Thread>();
        t->task_pid = next_task_pid_++;
        t->task_ops.push_back(Op{Op::FlushWq, 0, a.targets[0], WORK_CPU_UNBOUND});
        threads_.push_back(std::move(t));
        note(fmt::format("task {} flushes workqueue {}", threads_.back()->task_pid, a.targets[0]));
        continue_script(*threads_.back());
        break;
      }
      case Action::Cancel:
        for (auto& name : a.targets)
          for (Work* w : targets(name)) core_->cancel_work(*w, now_);
        break;
      case Action::Offline: note(fmt::format("CPU {} goes offline", a.cpu)); core_->cpu_offline(a.cpu, now_); break;
      case Action::Online: note(fmt::format("CPU {} comes online", a.cpu)); core_->cpu_online(a.cpu, now_); break;
      case Action::FailCreate:
        note(fmt::format("worker creation fails for {}ms", a.duration / kMsec));
        core_->fail_worker_creation(now_, now_ + a.duration);
        break;
      case Action::Freeze: note("freeze"); core_->freeze(now_); break;
      case Action::Thaw: note("thaw"); core_->thaw(now_); break;
      case Action::Touch: core_->touch_watchdog(a.cpu, now_); break;
      case Action::Dump:
        for (auto& line : core_->show_all_workqueues(now_)) message(line);
        break;
      case Action::SetMaxActive: core_->set_max_active(*wqs_.at(a.targets[0]), a.value, now_); break;
    }
  }

  std::vector<Work*> targets(const std::string& name) {
    if (auto it = items_.find(name); it != items_.end()) return {it->second};
    return groups_.at(name);
  }
  Workqueue& wq_of(const Work& w) { return *wqs_.at(static_cast<const ItemDef*>(w.user)->wq); }

  void summarize() {
    for (const auto& row : timeline_) {
      std::string who = row.names[0];
      for (std::size_t i = 1; i < row.names.size(); ++i)
        who += (i + 1 == row.names.size() ? " and " : ", ") + row.names[i];
      result_.timeline.push_back(
          fmt::format("{:<15} {} {}", row.time / kMsec, who, row.names.size() > 1 ? row.plural : row.singular));
    }
    for (Workqueue* wq : order_) {
      WqSummary s{wq->name, Core::stats(*wq), 0, -1};
      if (auto it = finished_.find(wq->name); it != finished_.end()) {
        s.finished = it->second.first;
        s.last_finish = it->second.second;
      }
      result_.workqueues.push_back(s);
    }
    result_.wq_monitor = core_->wq_monitor_table();
    result_.events = recorder_.take();
  }

  struct Row {
    Time time;
    std::vector<std::string> names;
    std::string singular, plural;
  };

  const Scenario& sc_;
  Time now_ = 0;
  Time instant_ = -1;        // count_step(): the instant the steps are counted at
  std::uint64_t steps_ = 0;
  std::uint64_t seq_ = 0;
  int next_task_pid_ = 1000;
  std::set<SimEvent> events_;
  std::deque<Thread*> ready_;
  std::vector<std::deque<Thread*>> runq_;
  std::vector<std::unique_ptr<Thread>> threads_;
  std::vector<std::unique_ptr<Work>> works_;
  std::unordered_map<std::string, Workqueue*> wqs_;
  std::vector<Workqueue*> order_;
  std::unordered_map<std::string, Work*> items_;
  std::unordered_map<std::string, std::vector<Work*>> groups_;
  std::unordered_map<std::string, std::pair<std::uint64_t, Time>> finished_;
  std::set<std::string> signaled_;
  std::unordered_map<std::string, std::vector<Thread*>> waiting_;
  std::vector<Row> timeline_;
  Result result_;
  Recorder recorder_;
  std::unique_ptr<Core> core_;  // last: its constructor already calls back into this driver
};

}  // namespace

Result run(const Scenario& sc, bool record_events) { return Simulator(sc, record_events).run(); }

std::string format_timeline(const Result& r) {
  std::string out = fmt::format("{:<15} {}\n", "TIME IN MSECS", "EVENT");
  for (auto& row : r.timeline) out += row + "\n";
  return out;
}

}  // namespace cmwq::sim
