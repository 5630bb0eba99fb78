#include "recording.h"

#include "schema_sql.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <unistd.h>

namespace wqscope {

namespace {

const char* kind_name(int k) {
  static const char* names[] = {
      nullptr, "WQ_CREATE", "WQ_DESTROY", "POOL_CREATE", "WORKER_CREATE", "WORKER_DESTROY", "WORKER_IDLE",
      "WORKER_BUSY", "WORKER_SLEEP", "WORKER_WAKE", "WORK_QUEUE", "WORK_ACTIVATE", "WORK_START", "WORK_END",
      "WORK_CANCEL", "FLUSH", "BARRIER", "MANAGER_START", "MANAGER_END", "CREATE_FAIL", "MAYDAY", "RESCUER_WAKE",
      "RESCUE", "CPU_OFFLINE", "CPU_ONLINE", "FREEZE", "THAW", "WATCHDOG_TOUCH", "LOCKUP", "MAX_ACTIVE",
      "CPU_INTENSIVE", "NAME", "HELLO", "BARRIER_DONE"};
  static_assert(sizeof(names) / sizeof(names[0]) == CMWQ_EV_KIND_END, "a name for every kind");
  return names[k];
}

void bind_opt(sqlite3_stmt* s, int i, std::int64_t v) {
  if (v < 0) sqlite3_bind_null(s, i);
  else sqlite3_bind_int64(s, i, v);
}

}  // namespace

std::unique_ptr<Recording> Recording::create(const std::string& path, const Meta& meta) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      throw RecordingError(fmt::format("{}: already exists; wqscope never overwrites a recording, choose another "
                                       "-o or remove it",
                                       path));
    throw RecordingError(fmt::format("{}: cannot create the recording: {}", path, std::strerror(errno)));
  }
  ::close(fd);
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    throw RecordingError(fmt::format("{}: cannot open the recording: {}", path, msg));
  }
  std::unique_ptr<Recording> rec(new Recording(path, db));
  rec->exec(kSchemaSql);
  rec->exec("PRAGMA synchronous = NORMAL");  // with WAL: a commit survives a crash of the collector
  rec->exec(fmt::format("PRAGMA user_version = {}", kRecordingSchemaVersion).c_str());
  rec->begin();
  sqlite3_stmt* k = rec->prepare("INSERT INTO kinds VALUES (?, ?)");
  for (int i = 1; i < CMWQ_EV_KIND_END; ++i) {
    sqlite3_bind_int(k, 1, i);
    sqlite3_bind_text(k, 2, kind_name(i), -1, SQLITE_STATIC);
    rec->step(k);
  }
  sqlite3_finalize(k);
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::string kernel;
  if (FILE* f = std::fopen("/proc/sys/kernel/osrelease", "r")) {
    char buf[128] = {};
    if (std::fgets(buf, sizeof buf, f)) kernel = std::string(buf, strcspn(buf, "\n"));
    std::fclose(f);
  }
  sqlite3_stmt* run = rec->prepare(
      "INSERT INTO run (id, command, pid, host, kernel, started_ns, started_unix, schema_version) "
      "VALUES (1, ?, ?, ?, ?, ?, (julianday('now') - 2440587.5) * 86400.0, ?)");
  sqlite3_bind_text(run, 1, meta.command.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(run, 2, meta.pid);
  sqlite3_bind_text(run, 3, host, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(run, 4, kernel.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(run, 5, meta.started_ns);
  sqlite3_bind_int(run, 6, CMWQ_EVENTS_VERSION);
  rec->step(run);
  sqlite3_finalize(run);
  rec->commit();
  return rec;
}

Recording::Recording(std::string path, sqlite3* db) : path_(std::move(path)), db_(db) {}

Recording::~Recording() {
  for (auto* s : {ins_event_, ins_name_, ins_wq_, ins_pool_, ins_worker_, ins_item_}) sqlite3_finalize(s);
  if (in_tx_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db_);
}

void Recording::fail(const char* what) {
  int code = sqlite3_extended_errcode(db_);
  std::string hint = (code & 0xff) == SQLITE_FULL ? " (the disk is full: free space or record elsewhere)" : "";
  throw RecordingError(fmt::format("{}: {}: {}{}", path_, what, sqlite3_errmsg(db_), hint));
}

void Recording::exec(const char* sql) {
  if (sqlite3_exec(db_, sql, nullptr, nullptr, nullptr) != SQLITE_OK) fail("cannot write the recording");
}

sqlite3_stmt* Recording::prepare(const char* sql) {
  sqlite3_stmt* s = nullptr;
  if (sqlite3_prepare_v3(db_, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, nullptr) != SQLITE_OK)
    fail("cannot prepare a statement");
  return s;
}

void Recording::step(sqlite3_stmt* s) {
  int rc = sqlite3_step(s);
  sqlite3_reset(s);
  sqlite3_clear_bindings(s);
  if (rc != SQLITE_DONE) fail("cannot write the recording");
}

void Recording::begin() {
  if (in_tx_) return;
  exec("BEGIN");
  in_tx_ = true;
}

void Recording::commit() {
  if (!in_tx_) return;
  exec("COMMIT");
  in_tx_ = false;
}

void Recording::add(const cmwq::Record& r) {
  if (r.h->kind == CMWQ_EV_NAME || r.h->kind == CMWQ_EV_HELLO) return;  // names: on_name; hello: the run row
  begin();
  if (!ins_event_)
    ins_event_ = prepare("INSERT OR REPLACE INTO events VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)");
  const cmwq_ev_state& e = *r.state();
  sqlite3_stmt* s = ins_event_;
  sqlite3_bind_int64(s, 1, static_cast<std::int64_t>(e.h.seq));
  sqlite3_bind_int64(s, 2, static_cast<std::int64_t>(e.h.ts));
  sqlite3_bind_int(s, 3, e.h.kind);
  sqlite3_bind_int64(s, 4, e.h.tid);
  sqlite3_bind_int(s, 5, e.h.cpu);
  sqlite3_bind_int64(s, 6, static_cast<std::int64_t>(e.work));
  sqlite3_bind_int64(s, 7, e.func);
  sqlite3_bind_int64(s, 8, e.wq);
  sqlite3_bind_int(s, 9, e.pool);
  sqlite3_bind_int(s, 10, e.worker);
  sqlite3_bind_int64(s, 11, e.flags);
  sqlite3_bind_int64(s, 12, e.pool_flags);
  sqlite3_bind_int(s, 13, e.nr_running);
  sqlite3_bind_int(s, 14, e.nr_idle);
  sqlite3_bind_int(s, 15, e.nr_workers);
  sqlite3_bind_int(s, 16, e.nr_active);
  sqlite3_bind_int64(s, 17, e.arg);
  step(s);
  ++events_;
}

void Recording::on_name(std::uint32_t id, std::uint32_t kind, const std::string& text) {
  begin();
  if (!ins_name_) ins_name_ = prepare("INSERT OR REPLACE INTO names VALUES (?, ?, ?)");
  sqlite3_bind_int64(ins_name_, 1, id);
  sqlite3_bind_text(ins_name_, 2, kind == CMWQ_NAME_WQ ? "workqueue" : kind == CMWQ_NAME_FUNC ? "function" : "other",
                    -1, SQLITE_STATIC);
  sqlite3_bind_text(ins_name_, 3, text.c_str(), -1, SQLITE_TRANSIENT);
  step(ins_name_);
}

void Recording::on_workqueue(const WorkqueueInfo& wq) {
  begin();
  if (!ins_wq_) ins_wq_ = prepare("INSERT OR REPLACE INTO workqueues VALUES (?, ?, ?, ?, ?, ?)");
  sqlite3_bind_int64(ins_wq_, 1, wq.id);
  sqlite3_bind_text(ins_wq_, 2, wq.name.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(ins_wq_, 3, wq.flags);
  sqlite3_bind_int64(ins_wq_, 4, wq.max_active);
  bind_opt(ins_wq_, 5, wq.created_ns);
  bind_opt(ins_wq_, 6, wq.destroyed_ns);
  step(ins_wq_);
}

void Recording::on_pool(const PoolInfo& p) {
  begin();
  if (!ins_pool_) ins_pool_ = prepare("INSERT OR REPLACE INTO pools VALUES (?, ?, ?, ?)");
  sqlite3_bind_int(ins_pool_, 1, p.id);
  sqlite3_bind_int(ins_pool_, 2, p.cpu);
  sqlite3_bind_int(ins_pool_, 3, p.nice);
  sqlite3_bind_int64(ins_pool_, 4, p.flags);
  step(ins_pool_);
}

void Recording::on_worker(const WorkerInfo& w) {
  begin();
  if (!ins_worker_) ins_worker_ = prepare("INSERT OR REPLACE INTO workers VALUES (?, ?, ?, ?, ?)");
  sqlite3_bind_int(ins_worker_, 1, w.pid);
  sqlite3_bind_int(ins_worker_, 2, w.pool);
  if (w.rescuer_of) sqlite3_bind_int64(ins_worker_, 3, w.rescuer_of);
  else sqlite3_bind_null(ins_worker_, 3);
  bind_opt(ins_worker_, 4, w.created_ns);
  bind_opt(ins_worker_, 5, w.destroyed_ns);
  step(ins_worker_);
}

void Recording::on_work_done(const WorkInstance& w) {
  begin();
  if (!ins_item_)
    ins_item_ = prepare(
        "INSERT INTO work_items (work, func, wq, pool, worker, queued_ns, activated_ns, started_ns, ended_ns, "
        "cpu_ns, canceled) VALUES (?,?,?,?,?,?,?,?,?,?,?)");
  sqlite3_stmt* s = ins_item_;
  sqlite3_bind_int64(s, 1, static_cast<std::int64_t>(w.work));
  sqlite3_bind_text(s, 2, w.func.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(s, 3, w.wq.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(s, 4, w.pool);
  if (w.worker) sqlite3_bind_int(s, 5, w.worker);
  else sqlite3_bind_null(s, 5);
  bind_opt(s, 6, w.queued_ns);
  bind_opt(s, 7, w.activated_ns);
  bind_opt(s, 8, w.started_ns);
  bind_opt(s, 9, w.ended_ns);
  bind_opt(s, 10, w.cpu_ns);
  sqlite3_bind_int(s, 11, w.canceled);
  step(s);
}

void Recording::finish(const std::string& reason, std::int64_t ended_ns, std::uint64_t dropped, const Model& model) {
  for (auto& w : model.open_instances()) on_work_done(w);
  begin();
  sqlite3_stmt* s = prepare(
      "UPDATE run SET ended_ns = ?, end_reason = ?, events = ?, dropped_events = ?, lost_events = ? WHERE id = 1");
  sqlite3_bind_int64(s, 1, ended_ns);
  sqlite3_bind_text(s, 2, reason.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, 3, static_cast<std::int64_t>(events_));
  sqlite3_bind_int64(s, 4, static_cast<std::int64_t>(dropped));
  sqlite3_bind_int64(s, 5, static_cast<std::int64_t>(model.lost()));
  int rc = sqlite3_step(s);
  sqlite3_finalize(s);
  if (rc != SQLITE_DONE) fail("cannot finish the recording");
  commit();
}

}  // namespace wqscope
