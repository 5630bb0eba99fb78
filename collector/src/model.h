// The model: the one place that turns cmwq event records into workqueues,
// pools, workers and work items. No BPF here: recordings, replays and the GUI
// use it too. Observers hear about what the records established.
#pragma once

#include <cmwq/recorder.h>

#include <cstdint>
#include <map>
#include <string>
#include <unordered_map>

namespace wqscope {

struct WorkqueueInfo {
  std::uint32_t id = 0;
  std::string name;
  std::uint32_t flags = 0;
  std::int64_t max_active = 0;
  std::int64_t created_ns = -1, destroyed_ns = -1;
  int in_flight = 0;                   // started, not yet ended
  std::int64_t last_progress_ns = -1;  // an item of it started or ended
};

struct PoolInfo {
  int id = -1, cpu = -1, nice = 0;
  std::uint32_t flags = 0;
  int nr_running = 0, nr_idle = 0, nr_workers = 0;
  int pending = 0;                  // active items waiting on the worklist (seen since the recording began)
  std::int64_t last_progress_ns = -1;  // an item left the worklist, or the worklist became busy
};

struct WorkerInfo {
  int pid = 0, pool = -1;
  std::uint32_t rescuer_of = 0;  // workqueue id of a rescuer
  std::int64_t created_ns = -1, destroyed_ns = -1;
};

/// One queueing of a work item, from queue to end or cancel.
struct WorkInstance {
  std::uint64_t work = 0;
  std::string func, wq;
  int pool = -1, worker = 0;
  std::int64_t queued_ns = -1, activated_ns = -1, started_ns = -1, ended_ns = -1, cpu_ns = -1;
  bool canceled = false;
};

class ModelObserver {
 public:
  virtual ~ModelObserver() = default;
  virtual void on_name(std::uint32_t, std::uint32_t /*cmwq_name_kind*/, const std::string&) {}
  virtual void on_workqueue(const WorkqueueInfo&) {}
  virtual void on_pool(const PoolInfo&) {}
  virtual void on_worker(const WorkerInfo&) {}
  virtual void on_work_done(const WorkInstance&) {}  // ended or canceled
};

class Model {
 public:
  explicit Model(ModelObserver* observer = nullptr) : obs_(observer) {}
  void apply(const cmwq::Record&);
  /// Instances still queued or running (a recording that ends while the pool is stuck).
  std::vector<WorkInstance> open_instances() const;
  /// Per workqueue: items held back by max_active (queued, not activated) and the oldest one's time.
  struct Waiting {
    int count = 0;
    std::int64_t oldest_ns = -1;
  };
  std::map<std::string, Waiting> held_back() const;

  std::uint64_t records() const { return records_; }
  std::uint64_t lost() const { return lost_; }          // from gaps in seq
  std::uint64_t anomalies() const { return anomalies_; } // records that contradict the state
  const std::map<int, PoolInfo>& pools() const { return pools_; }
  /// The pool as the kernel prints it: " cpus=0 node=0 flags=0x4 nice=0".
  std::string pool_identity(const PoolInfo&) const;
  const std::map<std::uint32_t, WorkqueueInfo>& workqueues() const { return wqs_; }

 private:
  std::string name(std::uint32_t id) const;
  void pool_state(const cmwq_ev_state&);

  ModelObserver* obs_;
  std::uint64_t records_ = 0, lost_ = 0, anomalies_ = 0, last_seq_ = 0;
  int possible_cpus_ = 1;
  std::unordered_map<std::uint32_t, std::string> names_;
  std::map<std::uint32_t, WorkqueueInfo> wqs_;
  std::map<int, PoolInfo> pools_;
  std::map<int, WorkerInfo> workers_;
  std::unordered_map<std::uint64_t, WorkInstance> pending_;  // queued, not started: by work id
  std::unordered_map<int, WorkInstance> running_;            // by worker pid
};

}  // namespace wqscope
