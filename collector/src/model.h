// The model: the one place that turns cmwq event records into workqueues,
// pwqs, pools, workers, worklists and work items — the pool's state rebuilt,
// list order included, so the collector can print the kernel's busy dump.
// No BPF here: recordings, replays and the GUI use it too. Observers hear
// about what the records established.
#pragma once

#include "dense_index.h"
#include "name.h"

#include <cmwq/records.h>
#include <cmwq/report.h>

#include <cstdint>
#include <functional>
#include <list>
#include <map>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

namespace wqscope {

/// An entry of a worklist, an inactive list or a worker's scheduled list.
struct Entry {
  std::uint64_t work = 0;  // 0 for a barrier
  int barrier_pid = 0;     // a flush barrier: BAR(pid)
  std::uint32_t wq = 0;    // with pool: the pwq it belongs to
  int pool = -1;
  bool linked = false;     // the next entry is chained to this one
};
using EntryList = std::list<Entry>;

/// One queueing of a work item, from queue to end or cancel.
struct WorkInstance {
  std::uint64_t work = 0;
  Name func, wq;
  std::uint32_t wq_id = 0;
  int pool = -1, worker = 0;
  std::int64_t queued_ns = -1, activated_ns = -1, started_ns = -1, ended_ns = -1, cpu_ns = -1;
  std::int64_t off_cpu_ns = 0;  // waiting off the CPU while it ran (from sched_switch)
  bool canceled = false;
  int queued_by = 0;            // the thread that queued it (0: not seen queued)
};

struct WorkqueueInfo {
  std::uint32_t id = 0;
  Name name;
  std::uint32_t flags = 0;
  std::int64_t max_active = 0;
  std::int64_t created_ns = -1, destroyed_ns = -1;
  int in_flight = 0;                   // started, not yet ended
  std::int64_t last_progress_ns = -1;  // an item of it started or ended
  cmwq::report::Monitor counters;      // wq_monitor's columns, as far as events tell them
};

struct PwqInfo {
  std::uint32_t wq = 0;
  int pool = -1;
  int nr_active = 0, nr_in_flight = 0;
  bool mayday = false;  // on its workqueue's mayday list
  EntryList inactive;   // held back by max_active
  int refcnt = -1, max_active = 0;  // as a kernel report printed them (CMWQ_EV_REPORTED); -1, 0: not printed
  int printed = 0;                  // the report's N-th pwq line of its workqueue; 0: none
};

/// Calls for rescue of one pool: from its first mayday until its manager stops (workers are back).
struct MaydayEpisode {
  int pool = -1;
  std::int64_t started_ns = -1, ended_ns = -1;
  std::uint64_t maydays = 0, rescued = 0;
  std::vector<std::string> workqueues;
};

struct PoolInfo {
  int id = -1, cpu = -1, nice = 0;
  int node = kNodeNotSaid;             // POOL_CREATE's; NUMA_NO_NODE (-1) for none
  static constexpr int kNodeNotSaid = -2;  // older streams: a CPU's pool is on node 0, an unbound one on none
  std::uint32_t flags = 0;
  int nr_running = 0, nr_idle = 0, nr_workers = 0;
  int pending = 0;                     // worklist length (barriers included, as the kernel counts)
  std::int64_t last_progress_ns = -1;  // an item left the worklist, or the worklist became busy
  int manager = 0;
  EntryList worklist;
  std::list<int> idle;                 // idle workers, most recently idle first
  MaydayEpisode episode;               // the open one, if started_ns >= 0
  std::string identity;                // as a kernel report printed it (POOL_CREATE's func); "": derived
  int printed = 0;                     // the report's N-th pool line (CMWQ_EV_REPORTED's flags); 0: none

  /// "Hung", the one test for the watchdog, metrics, `show` and the GUI: work waits on the worklist
  /// and none has left it since last_progress_ns (the kernel's wq_watchdog_timer_fn and the hung=
  /// of show_one_worker_pool: a non-empty worklist and watchdog_ts). Since when, or -1 if not.
  std::int64_t hung_since() const { return worklist.empty() ? -1 : last_progress_ns; }
  /// How long it has been hung at `now`; 0 if it is not.
  std::int64_t hung_ns(std::int64_t now) const {
    std::int64_t since = hung_since();
    return since < 0 || now <= since ? 0 : now - since;
  }
};

enum class WorkerState { Starting, Idle, Busy, Sleeping };

struct WorkerInfo {
  int pid = 0, pool = -1;
  std::uint32_t rescuer_of = 0;  // workqueue id of a rescuer
  std::int64_t created_ns = -1, destroyed_ns = -1;
  WorkerState state = WorkerState::Starting;
  std::int64_t state_since_ns = -1;
  WorkInstance current;          // work == 0: none
  EntryList scheduled;
  // From sched_switch: off the CPU since (-1: on it), in which task state, and whether it blocked while
  // running an item without the pool's blocking point, so that the pool still counts it as running.
  std::int64_t off_cpu_since = -1;
  std::uint32_t off_cpu_state = 0;
  bool hidden_block = false;
};

class ModelObserver {
 public:
  virtual ~ModelObserver() = default;
  virtual void on_name(std::uint32_t, std::uint32_t /*cmwq_name_kind*/, const std::string&) {}
  virtual void on_workqueue(const WorkqueueInfo&) {}
  virtual void on_pool(const PoolInfo&) {}
  virtual void on_worker(const WorkerInfo&) {}
  virtual void on_queue(const WorkInstance&) {}      // queued (queued_ns is now)
  virtual void on_work_done(const WorkInstance&) {}  // ended or canceled
  /// An item was marked CPU-intensive; `count` such marks of its function so far.
  virtual void on_cpu_hog(const WorkInstance&, std::uint64_t /*count*/, std::int64_t /*ts*/) {}
  virtual void on_mayday(const PoolInfo&, std::int64_t /*ts*/) {}    // the pool's open episode counted it
  virtual void on_mayday_episode(const MaydayEpisode&) {}             // ended, or open at the end
  /// A worker is back on a CPU after waiting since its off_cpu_since (still set during the call).
  virtual void on_off_cpu(const WorkerInfo&, std::int64_t /*back_ns*/) {}
};

class Model {
 public:
  explicit Model(ModelObserver* observer = nullptr) {
    if (observer) observers_.push_back(observer);
  }
  void add_observer(ModelObserver* o) { observers_.push_back(o); }
  void apply(const cmwq::Record&);
  /// Reports what is still open when a recording ends: items queued or running, mayday episodes.
  void finish();
  /// The whole state, to continue from later (observers are not part of it); restore() throws
  /// nlohmann::json::exception on bytes that are not a snapshot of this version.
  std::vector<std::uint8_t> snapshot() const;
  void restore(std::span<const std::uint8_t>);

  /// Instances still queued or running (a recording that ends while the pool is stuck).
  std::vector<WorkInstance> open_instances() const;
  /// Per workqueue: items held back by max_active (queued, not activated) and the oldest one's time.
  struct Waiting {
    int count = 0;
    std::int64_t oldest_ns = -1;
  };
  std::map<std::string, Waiting> held_back() const;
  /// The state as the kernel's "Showing busy workqueues and worker pools:" dump describes it.
  cmwq::report::Busy busy(std::int64_t now) const;
  std::vector<cmwq::report::Monitor> monitor() const;

  std::uint64_t records() const { return records_; }
  std::uint64_t lost() const { return lost_; }          // the pool's records missing, as GAP records said
  std::uint64_t restated() const { return restated_; }  // records of a new session's announcement it knew
  std::uint64_t anomalies() const { return anomalies_; } // records that contradict the state
  std::int64_t last_ts() const { return last_ts_; }
  std::uint64_t last_seq() const { return last_seq_; }  // of the pool's records applied
  const std::map<int, PoolInfo>& pools() const { return pools_; }
  /// The pool as the kernel prints it: " cpus=0 node=0 flags=0x4 nice=0".
  std::string pool_identity(const PoolInfo&) const;
  const std::map<std::uint32_t, WorkqueueInfo>& workqueues() const { return wqs_; }
  const std::map<std::pair<std::uint32_t, int>, PwqInfo>& pwqs() const { return pwqs_; }
  const std::map<int, WorkerInfo>& workers() const { return workers_; }
  /// An interned workqueue, function or worker name; "" if not (yet) known.
  std::string name(std::uint32_t id) const;
  /// CPU-intensive marks per function (the kernel's hog warnings).
  const std::map<std::string, std::uint64_t>& hogs() const { return hogs_; }
  /// How the traced kernel prints its dump: "kernel DIALECT" after a kernel report was applied, "traced
  /// DIALECT" in kernel mode (cmwq::report::Dialect::text(); Dialect::parse reads past the first word);
  /// "" for libcmwq's form.
  const std::string& dialect() const { return dialect_; }
  /// The state is a kernel report's (what it printed), not one traced event by event.
  bool from_report() const { return dialect_.starts_with("kernel"); }

 private:
  template <class F>
  void notify(F&& f) {
    for (ModelObserver* o : observers_) f(*o);
  }
  /// The record's pool, its counters updated (null: the record has none).
  PoolInfo* pool_state(const cmwq_ev_state&);
  void apply_work(const cmwq_ev_state&, PoolInfo*);
  void apply_worker(const cmwq_ev_state&);
  void apply_rescue(const cmwq_ev_state&);
  void apply_barrier(const cmwq_ev_state&);
  void apply_sched(const cmwq_ev_state&);
  void apply_reported(const cmwq_ev_state&);
  /// The name of `id`, shared (name() copies it out); empty if not (yet) known.
  const Name& interned(std::uint32_t id) const;
  /// Fills a fresh instance's item, function, workqueue and pool from the record.
  void describe(WorkInstance&, const cmwq_ev_state&, const WorkqueueInfo*) const;
  PwqInfo& pwq(const cmwq_ev_state& e) {
    PwqInfo& q = pwq_at_(pwqs_, {e.wq, e.pool});
    q.wq = e.wq;
    q.pool = e.pool;
    return q;
  }
  void end_episode(PoolInfo&, std::int64_t ts);
  /// A GAP record: what is lost is counted and, for the pool's records, the lists start over.
  void apply_gap(const cmwq_ev_state&);
  /// After a gap: worklists, inactive and scheduled lists and queued items start over.
  void forget_lists();

  // Work items by id: where an item's entry is and, from queueing to start, its instance. One
  // lookup finds both: a stuck pool's lists, or a lossy stream's (items whose start was lost stay
  // queued), grow long, and a search per record made the model quadratic. Barriers (work 0) are not
  // held here: they are few and found by their flusher's pid.
  struct Item {
    Item() {}  // user-provided: try_emplace's value-initialization then does not zero it all first
    EntryList* list = nullptr;  // the list its entry is on; null: on none
    EntryList::iterator it;     // its entry, if list
    bool is_queued = false;     // queued, not yet started or canceled: `queued` is its instance
    WorkInstance queued;
    bool idle() const { return !list && !is_queued; }  // nothing to hold: erased
  };
  using Items = std::unordered_map<std::uint64_t, Item>;
  /// The item of `work`, and whether it was made now (empty).
  std::pair<Items::iterator, bool> item(std::uint64_t work);
  /// The item of `work`, or end().
  Items::iterator find_item(std::uint64_t work);
  /// Takes the item's entry off its list (it is on one); the entry after it there.
  EntryList::iterator unlist(Item&);
  /// Erases it if it holds nothing any more.
  void release(Items::iterator);
  EntryList::iterator find_work(EntryList& list, std::uint64_t work);  // list.end() if not on it
  /// Puts `e` on `list` before `pos`: an item's entry moves there (from another list, if on one).
  EntryList::iterator insert_work(EntryList& list, EntryList::iterator pos, const Entry& e);
  EntryList::iterator erase_work(EntryList& list, EntryList::iterator it);
  /// Moves the entry at `it` and the entries chained to it (move_linked_works) before `to_pos` of `to`.
  /// `first`: the item whose entry is at `it`, when the caller has found it already.
  void move_linked(EntryList& from, EntryList::iterator it, EntryList& to, EntryList::iterator to_pos,
                   Item* first = nullptr);
  void clear_list(EntryList& list);
  /// Finds every item's entry on the lists again (a copy's point into the original's lists).
  void reindex();
  /// items_ with its places valid. A copy of the model copies the instances but not the places
  /// (they are in the original's lists): they are found again on first use.
  struct ItemIndex {
    Items map;
    bool placed = true;
    ItemIndex() = default;
    ItemIndex(const ItemIndex& o) : map(o.map), placed(false) {}
    ItemIndex& operator=(const ItemIndex& o) {
      map = o.map;
      placed = false;
      return *this;
    }
  };

  std::vector<ModelObserver*> observers_;
  std::uint64_t records_ = 0, lost_ = 0, anomalies_ = 0, last_seq_ = 0, restated_ = 0;
  std::int64_t last_ts_ = 0;
  int possible_cpus_ = 1;
  bool following_ = false;  // a HELLO was applied, and no GAP since
  bool restating_ = false;  // between a HELLO that following_ makes redundant and its ANNOUNCED
  std::unordered_map<std::uint32_t, Name> names_;
  std::map<std::uint32_t, WorkqueueInfo> wqs_;
  std::map<std::pair<std::uint32_t, int>, PwqInfo> pwqs_;
  std::map<int, PoolInfo> pools_;
  std::map<int, WorkerInfo> workers_;
  DenseIndex<int, PoolInfo> pool_at_;             // pools_ by id (neither is ever erased from)
  DenseIndex<std::uint32_t, WorkqueueInfo> wq_at_;  // wqs_ by id
  DenseIndex<std::pair<std::uint32_t, int>, PwqInfo> pwq_at_;  // pwqs_ by (workqueue, pool)
  ItemIndex items_;
  std::map<std::string, std::uint64_t> hogs_;               // CPU-intensive marks per function
  std::string dialect_;
};

}  // namespace wqscope
