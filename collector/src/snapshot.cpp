// The model as a snapshot (JSON): recordings store one every so often, so that
// the state at any instant is the nearest snapshot plus the records after it.
#include "model.h"
#include "untrusted.h"

#include <nlohmann/json.hpp>

namespace cmwq::report {
// With defaults: snapshots made before internals_known still restore.
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(Monitor, name, flags, started, completed, cpu_time_ns, cpu_intensive,
                                                cm_wakeup, repatriated, mayday, rescued, cm_known, internals_known)
}  // namespace cmwq::report

namespace wqscope {

NLOHMANN_JSON_SERIALIZE_ENUM(WorkerState, {{WorkerState::Starting, "starting"},
                                           {WorkerState::Idle, "idle"},
                                           {WorkerState::Busy, "busy"},
                                           {WorkerState::Sleeping, "sleeping"}})
void to_json(nlohmann::json& j, const Name& n) { j = n.str(); }
void from_json(const nlohmann::json& j, Name& n) { n = Name(j.get<std::string>()); }
// Entries and items can number in the tens of thousands on a stuck pool: arrays, not objects with
// their field names repeated in each.
void to_json(nlohmann::json& j, const Entry& e) { j = {e.work, e.barrier_pid, e.wq, e.pool, e.linked}; }
void from_json(const nlohmann::json& j, Entry& e) {
  j.at(0).get_to(e.work);
  j.at(1).get_to(e.barrier_pid);
  j.at(2).get_to(e.wq);
  j.at(3).get_to(e.pool);
  j.at(4).get_to(e.linked);
}
void to_json(nlohmann::json& j, const WorkInstance& w) {
  j = {w.work,       w.func,        w.wq,       w.wq_id,  w.pool,       w.worker,    w.queued_ns,
       w.activated_ns, w.started_ns, w.ended_ns, w.cpu_ns, w.off_cpu_ns, w.canceled, w.queued_by};
}
void from_json(const nlohmann::json& j, WorkInstance& w) {
  int i = 0;
  for (auto* f : {&w.queued_ns, &w.activated_ns, &w.started_ns, &w.ended_ns, &w.cpu_ns, &w.off_cpu_ns})
    j.at(6 + i++).get_to(*f);
  j.at(0).get_to(w.work);
  j.at(1).get_to(w.func);
  j.at(2).get_to(w.wq);
  j.at(3).get_to(w.wq_id);
  j.at(4).get_to(w.pool);
  j.at(5).get_to(w.worker);
  j.at(12).get_to(w.canceled);
  if (j.size() > 13) j.at(13).get_to(w.queued_by);  // snapshots made before it was kept have none
}
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(WorkqueueInfo, id, name, flags, max_active, created_ns, destroyed_ns, in_flight,
                                   last_progress_ns, counters)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PwqInfo, wq, pool, nr_active, nr_in_flight, mayday, inactive, refcnt,
                                                max_active, printed)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(MaydayEpisode, pool, started_ns, ended_ns, maydays, rescued, workqueues)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE_WITH_DEFAULT(PoolInfo, id, cpu, nice, node, flags, nr_running, nr_idle, nr_workers,
                                                pending, last_progress_ns, manager, worklist, idle, episode, identity, printed)
NLOHMANN_DEFINE_TYPE_NON_INTRUSIVE(WorkerInfo, pid, pool, rescuer_of, created_ns, destroyed_ns, state,
                                   state_since_ns, current, scheduled, off_cpu_since, off_cpu_state, hidden_block)

std::vector<std::uint8_t> Model::snapshot() const {
  std::unordered_map<std::uint64_t, WorkInstance> queued;  // queued, not started: by work id
  for (auto& [work, i] : items_.map)
    if (i.is_queued) queued.emplace(work, i.queued);
  nlohmann::json j = {{"records", records_}, {"lost", lost_},        {"anomalies", anomalies_},
                      {"last_seq", last_seq_}, {"last_ts", last_ts_}, {"possible_cpus", possible_cpus_},
                      {"names", names_},     {"wqs", wqs_},          {"pwqs", pwqs_},
                      {"pools", pools_},     {"workers", workers_},  {"queued", queued},
                      {"hogs", hogs_},       {"following", following_}, {"restating", restating_},
                      {"restated", restated_}, {"dialect", dialect_}};
  return nlohmann::json::to_cbor(j);
}

void Model::restore(std::span<const std::uint8_t> bytes) {
  nlohmann::json j = nlohmann::json::from_cbor(bytes);
  make_printable(j);  // its names may predate untrusted.h, or the file may be damaged
  j.at("records").get_to(records_);
  j.at("lost").get_to(lost_);
  j.at("anomalies").get_to(anomalies_);
  j.at("last_seq").get_to(last_seq_);
  j.at("last_ts").get_to(last_ts_);
  j.at("possible_cpus").get_to(possible_cpus_);
  j.at("names").get_to(names_);
  pool_at_.clear();  // before the maps are replaced: a throw on the way leaves no stale pointer
  wq_at_.clear();
  pwq_at_.clear();
  items_ = ItemIndex();
  j.at("wqs").get_to(wqs_);
  j.at("pwqs").get_to(pwqs_);
  j.at("pools").get_to(pools_);
  j.at("workers").get_to(workers_);
  std::unordered_map<std::uint64_t, WorkInstance> queued;
  j.at("queued").get_to(queued);
  j.at("hogs").get_to(hogs_);
  j.at("following").get_to(following_);
  j.at("restating").get_to(restating_);
  j.at("restated").get_to(restated_);
  dialect_ = j.value("dialect", std::string());
  for (auto& [work, w] : queued) {
    Item& i = items_.map[work];
    i.is_queued = true;
    i.queued = std::move(w);
  }
  reindex();
}

}  // namespace wqscope
