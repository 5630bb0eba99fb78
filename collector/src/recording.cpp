#include "recording.h"

#include "invoking_user.h"
#include "log_chunk.h"
#include "schema_sql.h"

#include <fmt/format.h>

#include <cerrno>
#include <cstddef>
#include <cstring>
#include <fcntl.h>
#include <cstdlib>
#include <sys/file.h>
#include <sys/stat.h>
#include <filesystem>
#include <unistd.h>
#include <utility>

namespace wqscope {

namespace {

const char* kind_name(int k) {
  static const char* names[] = {
      nullptr, "WQ_CREATE", "WQ_DESTROY", "POOL_CREATE", "WORKER_CREATE", "WORKER_DESTROY", "WORKER_IDLE",
      "WORKER_BUSY", "WORKER_SLEEP", "WORKER_WAKE", "WORK_QUEUE", "WORK_ACTIVATE", "WORK_START", "WORK_END",
      "WORK_CANCEL", "FLUSH", "BARRIER", "MANAGER_START", "MANAGER_END", "CREATE_FAIL", "MAYDAY", "RESCUER_WAKE",
      "RESCUE", "CPU_OFFLINE", "CPU_ONLINE", "FREEZE", "THAW", "WATCHDOG_TOUCH", "LOCKUP", "MAX_ACTIVE",
      "CPU_INTENSIVE", "NAME", "HELLO", "BARRIER_DONE", "WORK_ASSIGN", "OFF_CPU", "ON_CPU", "GAP", "ANNOUNCED", "CHECK",
      "REPORTED"};
  static_assert(sizeof(names) / sizeof(names[0]) == CMWQ_EV_KIND_END, "a name for every kind");
  return names[k];
}

void bind(sqlite3_stmt* s, int i, std::int64_t v) { sqlite3_bind_int64(s, i, v); }
// Static: the string outlives the statement's step (insert() binds and steps in one call).
void bind(sqlite3_stmt* s, int i, const std::string& v) {
  sqlite3_bind_text(s, i, v.data(), static_cast<int>(v.size()), SQLITE_STATIC);
}
void bind(sqlite3_stmt* s, int i, Opt v) {
  if (v.value < 0) sqlite3_bind_null(s, i);
  else sqlite3_bind_int64(s, i, v.value);
}

/// Room on the recording's file system, given back when the disk is full so that the run row can
/// still say why the recording ended (a checkpoint growing the file may take the last free byte).
/// An unnamed file: nothing is left behind, whatever happens to wqscope. -1 where there is none.
int reserve_space(const std::string& path) {
  constexpr off_t kReserve = 256 << 10;  // a few WAL frames, and a new wal-index region
  std::string dir = std::filesystem::path(path).parent_path();
  int fd = ::open(dir.empty() ? "." : dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
  if (fd < 0) return -1;  // a file system without O_TMPFILE: the row is written if it fits
  if (int err = posix_fallocate(fd, 0, kReserve)) {
    ::close(fd);
    if (err == ENOSPC || err == EDQUOT)
      throw RecordingError(fmt::format("{}: cannot write the recording: {} (the disk is full: free space or record "
                                       "elsewhere)",
                                       path, std::strerror(err)));
    return -1;
  }
  return fd;
}

}  // namespace

std::unique_ptr<Recording> Recording::create(const std::string& path, const Meta& meta,
                                             std::optional<gid_t> group) {
  // Run as root for a user (sudo, pkexec), the recording is created with that user's rights, so that it
  // is theirs and, above all, so that nothing they plant in a directory they own (often the one asked
  // for: $XDG_RUNTIME_DIR, /tmp) leads elsewhere: a symlink at the name, or the directory swapped for a
  // symlink between two of the opens, for the file, its -wal and its -shm alike. setfsuid rather than
  // opening through a directory fd with O_NOFOLLOW: SQLite opens and unlinks its files by name, and
  // resolves the symlinks of a /proc/self/fd/N name back into a path. A group asked for is the fs
  // group meanwhile, so that the -wal and -shm are created in it too.
  auto user = invoking_user();
  std::optional<FsIdentity> as_owner;
  auto act_as_owner = [&] {
    if (::geteuid() == 0 && (user || group))
      as_owner.emplace(user ? user->uid : 0, group ? *group : user ? user->gid : ::getegid());
  };
  act_as_owner();
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
  if (fd < 0) {
    if (errno == EEXIST)
      throw RecordingError(fmt::format("{}: already exists; wqscope never overwrites a recording, choose another "
                                       "-o or remove it",
                                       path));
    throw RecordingError(fmt::format("{}: cannot create the recording: {}{}", path, std::strerror(errno),
                                     user ? fmt::format(" (created as uid {}, who asked for it)", user->uid)
                                          : std::string()));
  }
  // Then a group asked for: its read bit (fchmod: whatever the umask), the group set first (through the
  // fd, as root: a directory's setgid bit may have given it another) so that no one else can read it meanwhile.
  if (group) {
    as_owner.reset();
    int err = ::fchown(fd, static_cast<uid_t>(-1), *group) != 0 || ::fchmod(fd, 0640) != 0 ? errno : 0;
    act_as_owner();
    if (err) {
      ::close(fd);
      ::unlink(path.c_str());
      throw RecordingError(fmt::format("{}: cannot give the recording to group {}: {} (wqscope must run as root or "
                                       "as a member of that group)",
                                       path, *group, std::strerror(err)));
    }
  }
  // Held while the collector writes it: complete() leaves a recording being written alone.
  ::flock(fd, LOCK_EX);
  sqlite3* db = nullptr;
  std::unique_ptr<Recording> rec;
  try {
    // NOMUTEX: a Recording is used from one thread; serialising every bind and step costs ~20 %.
    // NOFOLLOW: not a symlink put in its place since the open above.
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
                        nullptr) != SQLITE_OK) {
      std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
      sqlite3_close(db);
      throw RecordingError(fmt::format("{}: cannot open the recording: {}", path, msg));
    }
    sqlite3_busy_timeout(db, 2000);  // someone peeking at the new file with sqlite3 must not make this fail
    rec.reset(new Recording(path, db));
    rec->lock_ = std::exchange(fd, -1);
    rec->pid_ = static_cast<std::uint32_t>(meta.pid);
    rec->init(meta);
    rec->reserve_ = reserve_space(path);
  } catch (const RecordingError&) {
    // A file without its schema or run row is no recording (e.g. the disk was already full).
    rec.reset();
    if (fd >= 0) ::close(fd);
    for (const char* suffix : {"", "-wal", "-shm"}) ::unlink((path + suffix).c_str());
    throw;
  }
  return rec;
}

bool Recording::complete(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDWR | O_NOFOLLOW | O_CLOEXEC);
  struct stat st {};
  if (fd < 0 || ::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    int err = fd < 0 ? errno : EINVAL;
    if (fd >= 0) ::close(fd);
    throw RecordingError(fmt::format("{}: cannot complete the recording: {}", path, std::strerror(err)));
  }
  // Only its owner writes it: root completing a user's file would create its -wal and -shm by name in
  // the user's directory, where SQLite follows what the user planted there.
  if (st.st_uid != ::geteuid()) {
    ::close(fd);
    throw RecordingError(fmt::format("{}: belongs to uid {}: only its owner completes it (wqscope repair as that user)",
                                     path, st.st_uid));
  }
  if (::flock(fd, LOCK_EX | LOCK_NB) != 0) {
    ::close(fd);
    throw RecordingError(fmt::format("{}: is being recorded: its collector completes it when it ends", path));
  }
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_NOFOLLOW,
                      nullptr) != SQLITE_OK) {
    std::string msg = db ? sqlite3_errmsg(db) : "out of memory";
    sqlite3_close(db);
    ::close(fd);
    throw RecordingError(fmt::format("{}: cannot open the recording: {}", path, msg));
  }
  std::unique_ptr<Recording> rec(new Recording(path, db));
  rec->lock_ = fd;
  sqlite3_busy_timeout(db, 2000);
  sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, nullptr);
  auto scalar = [&](const char* sql) {
    using Stmt = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;
    Stmt s(rec->prepare(sql), sqlite3_finalize);
    int rc = sqlite3_step(s.get());
    if (rc != SQLITE_ROW && rc != SQLITE_DONE) rec->fail("cannot read the recording");
    return rc == SQLITE_ROW && sqlite3_column_type(s.get(), 0) != SQLITE_NULL ? sqlite3_column_int64(s.get(), 0) : -1;
  };
  if (std::int64_t v = scalar("PRAGMA user_version"); v < kRecordingOldestReadable || v > kRecordingSchemaVersion)
    throw RecordingError(fmt::format("{}: is not a recording of format {} to {}", path, kRecordingOldestReadable,
                                     kRecordingSchemaVersion));
  std::int64_t last = std::max<std::int64_t>(scalar("SELECT max(last) FROM log"), 0);
  bool ended = scalar("SELECT end_reason IS NOT NULL FROM run WHERE id = 1") == 1;
  if (ended && scalar("SELECT derived FROM run WHERE id = 1") >= last) return false;
  // The derived models' state at run.derived is not in the file: derive again from the start.
  rec->begin();
  for (const char* table : {"events", "names", "workqueues", "pools", "workers", "work_items", "off_cpu",
                            "mayday_episodes"})
    rec->exec(fmt::format("DELETE FROM {}", table).c_str());
  rec->pid_ = static_cast<std::uint32_t>(std::max<std::int64_t>(scalar("SELECT pid FROM run WHERE id = 1"), 0));
  {
    using Stmt = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;
    Stmt s(rec->prepare("SELECT id, pid FROM streams"), sqlite3_finalize);
    while (sqlite3_step(s.get()) == SQLITE_ROW)
      rec->pids_[sqlite3_column_int(s.get(), 0)] = static_cast<std::uint32_t>(sqlite3_column_int64(s.get(), 1));
  }
  rec->events_ = rec->committed_ = static_cast<std::uint64_t>(last);
  rec->derive();
  for (auto& [id, m] : rec->derived_.models()) m.finish();
  rec->flush_events();
  rec->flush_items();
  if (!ended) {
    std::int64_t end = scalar("SELECT max(max_ts) FROM log");
    rec->exec(fmt::format("UPDATE run SET ended_ns = {}, events = {}, lost_events = {}, end_reason = 'cut off: the "
                          "collector ended without finishing the recording (killed, or the machine stopped); "
                          "tables completed by a later wqscope' WHERE id = 1",
                          std::max<std::int64_t>(end, 0), last, rec->derived_.lost())
                  .c_str());
  }
  rec->counted_ = rec->events_;  // the run row keeps what its collector counted
  rec->commit();
  rec->leave_wal();
  return true;
}

void Recording::leave_wal() {
  // A reader of the finished file (even read-only, even root) then creates no -wal and -shm beside it.
  // One that has it open already (the GUI following it) keeps it in WAL mode: not waited for; readers
  // read both.
  sqlite3_busy_timeout(db_, 0);
  sqlite3_exec(db_, "PRAGMA journal_mode = DELETE", nullptr, nullptr, nullptr);
}

void Recording::init(const Meta& meta) {
  using Stmt = std::unique_ptr<sqlite3_stmt, decltype(&sqlite3_finalize)>;
  exec(kSchemaSql);
  exec("PRAGMA synchronous = NORMAL");  // with WAL: a commit survives a crash of the collector
  exec(fmt::format("PRAGMA user_version = {}", kRecordingSchemaVersion).c_str());
  begin();
  Stmt k(prepare("INSERT INTO kinds VALUES (?, ?)"), sqlite3_finalize);
  for (int i = 1; i < CMWQ_EV_KIND_END; ++i) {
    sqlite3_bind_int(k.get(), 1, i);
    sqlite3_bind_text(k.get(), 2, kind_name(i), -1, SQLITE_STATIC);
    step(k.get());
  }
  char host[256] = {};
  gethostname(host, sizeof host - 1);
  std::string kernel;
  if (FILE* f = std::fopen("/proc/sys/kernel/osrelease", "r")) {
    char buf[128] = {};
    if (std::fgets(buf, sizeof buf, f)) kernel = std::string(buf, strcspn(buf, "\n"));
    std::fclose(f);
  }
  Stmt run(prepare("INSERT INTO run (id, command, pid, host, kernel, started_ns, started_unix, schema_version, clock) "
                   "VALUES (1, ?, ?, ?, ?, ?, (julianday('now') - 2440587.5) * 86400.0, ?, ?)"),
           sqlite3_finalize);
  sqlite3_bind_text(run.get(), 1, meta.command.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int(run.get(), 2, meta.pid);
  sqlite3_bind_text(run.get(), 3, host, -1, SQLITE_TRANSIENT);
  sqlite3_bind_text(run.get(), 4, kernel.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(run.get(), 5, meta.started_ns);
  sqlite3_bind_int(run.get(), 6, CMWQ_EVENTS_VERSION);
  sqlite3_bind_text(run.get(), 7, meta.clock.c_str(), -1, SQLITE_TRANSIENT);
  step(run.get());
  commit();
}

Recording::Recording(std::string path, sqlite3* db)
    : path_(std::move(path)), db_(db), derived_([this](int stream, Model& m) { m.add_observer(observer(stream)); }) {}

Recording::~Recording() {
  for (auto* s : {ins_events_, ins_event_, ins_stream_, ins_name_, ins_wq_, ins_pool_, ins_worker_, ins_item_,
                  ins_items_, ins_alert_, ins_episode_, ins_off_cpu_, ins_hello_, ins_snapshot_, ins_count_,
                  ins_chunk_, sel_chunk_, upd_derived_, upd_counts_})
    sqlite3_finalize(s);
  if (in_tx_) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  sqlite3_close(db_);
  if (reserve_ >= 0) ::close(reserve_);
  if (lock_ >= 0) ::close(lock_);
}

void Recording::fail(const char* what) {
  int code = sqlite3_extended_errcode(db_), err = sqlite3_system_errno(db_);
  // SQLITE_FULL, or an I/O error whose cause was ENOSPC (a shm or WAL file that could not grow).
  bool full = (code & 0xff) == SQLITE_FULL || err == ENOSPC || err == EDQUOT;
  failure_ = fmt::format("{}: {}{}", what, sqlite3_errmsg(db_),
                         full ? " (the disk is full: free space or record elsewhere)" : "");
  throw RecordingError(fmt::format("{}: {}", path_, failure_));
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
  sqlite3_reset(s);  // no clear_bindings: insert() binds every parameter, NULL included
  if (rc != SQLITE_DONE) fail("cannot write the recording");
}

template <class... Args>
void Recording::insert(sqlite3_stmt*& stmt, const char* sql, const Args&... args) {
  begin();
  if (!stmt) stmt = prepare(sql);
  int i = 0;
  (bind(stmt, ++i, args), ...);
  step(stmt);
}

void Recording::begin() {
  if (in_tx_) return;
  exec("BEGIN");
  in_tx_ = true;
}

void Recording::commit() {
  flush_chunk();
  if (std::exchange(added_, 0) < kQuietRecords) derive(kDeriveBudget);
  flush_events();
  flush_items();
  if (events_ != counted_) {  // the run row's counts so far; finish() writes the last
    counted_ = events_;
    insert(upd_counts_, "UPDATE run SET events = ?, dropped_events = ?, lost_events = ? WHERE id = 1",
           static_cast<std::int64_t>(events_), static_cast<std::int64_t>(dropped_), static_cast<std::int64_t>(lost_));
  }
  if (!in_tx_) return;
  exec("COMMIT");
  in_tx_ = false;
  committed_ = events_;
}

void Recording::add_stream(int id, std::uint32_t pid, std::uint32_t system) {
  pids_[id] = pid;
  insert(ins_stream_, "INSERT OR IGNORE INTO streams VALUES (?, ?, ?)", std::int64_t{id}, std::int64_t{pid},
         std::int64_t{system});
}

ModelObserver* Recording::observer(int stream) {
  auto& o = observers_[stream];
  if (!o) o = std::make_unique<StreamObserver>(this, stream);
  return o.get();
}

void Recording::add(int stream, const cmwq::Record& r) {
  if (!chunk_.append(stream, r)) {  // full: it ends before this record
    flush_chunk();
    chunk_.append(stream, r);  // an empty chunk takes any record
  }
  logged(r);
}

void Recording::add_batch(int stream, std::span<const std::byte> packed, std::span<const std::byte> records,
                          std::span<const std::byte> held) {
  if (!chunk_.append_batch(stream, packed, held)) {  // full, or larger than a chunk holds
    flush_chunk();
    if (!chunk_.append_batch(stream, packed, held)) {
      for_each_interleaved(records, held, [&](bool was_held, const cmwq::Record& r) {
        add(was_held ? kSchedStream : stream, r);
      });
      return;
    }
  }
  cmwq::for_each_record(held, [&](const cmwq::Record& r) { logged(r); });
  cmwq::for_each_record(records, [&](const cmwq::Record& r) { logged(r); });
}

void Recording::logged(const cmwq::Record& r) {
  if (r.h->kind == CMWQ_EV_HELLO && !std::exchange(have_hello_, true)) {
    // What a replay needs to describe the pools as the target did.
    const cmwq_ev_hello& h = *r.hello();
    insert(ins_hello_, "UPDATE run SET possible_cpus = ?, pool_watchdog_ns = ? WHERE id = 1",
           std::int64_t{h.possible_cpus},
           static_cast<std::int64_t>(std::min<std::uint64_t>(h.watchdog_thresh_ns, INT64_MAX)));
  }
  ++added_;
  if (r.h->kind != CMWQ_EV_NAME) {
    ++events_;
    max_ts_ = std::max(max_ts_, r.ts());
  }
}

void Recording::flush_chunk() {
  if (chunk_.empty()) return;
  begin();
  if (!ins_chunk_) ins_chunk_ = prepare("INSERT INTO log VALUES (?, ?, ?, ?)");
  sqlite3_bind_int64(ins_chunk_, 1, ++chunks_);
  sqlite3_bind_int64(ins_chunk_, 2, static_cast<std::int64_t>(events_));
  sqlite3_bind_int64(ins_chunk_, 3, max_ts_);
  sqlite3_bind_blob(ins_chunk_, 4, chunk_.bytes().data(), static_cast<int>(chunk_.bytes().size()), SQLITE_STATIC);
  step(ins_chunk_);
  chunk_.clear();
}

std::uint64_t Recording::derive(std::uint64_t budget) {
  std::uint64_t before = derived_events_;
  if (!sel_chunk_) sel_chunk_ = prepare("SELECT id, records FROM log WHERE id > ? ORDER BY id LIMIT 1");
  auto pid_of = [this](int stream) {
    auto it = pids_.find(stream);
    return it == pids_.end() ? pid_ : it->second;
  };
  while (derived_events_ - before < budget) {
    sqlite3_bind_int64(sel_chunk_, 1, derived_chunk_);
    if (sqlite3_step(sel_chunk_) != SQLITE_ROW) {
      sqlite3_reset(sel_chunk_);
      break;
    }
    std::int64_t id = sqlite3_column_int64(sel_chunk_, 0);
    std::span<const std::uint8_t> chunk{static_cast<const std::uint8_t*>(sqlite3_column_blob(sel_chunk_, 1)),
                                        static_cast<std::size_t>(sqlite3_column_bytes(sel_chunk_, 1))};
    try {
      for_each_logged(chunk, pid_of, [&](int stream, const cmwq::Record& r) { derive_record(stream, r); });
    } catch (const cmwq::RecordError& e) {
      sqlite3_reset(sel_chunk_);
      throw RecordingError(fmt::format("{}: log chunk {} is damaged: {}", path_, id, e.what()));
    }
    sqlite3_reset(sel_chunk_);
    derived_chunk_ = id;
  }
  if (derived_events_ == before) return 0;
  begin();
  if (!upd_derived_) upd_derived_ = prepare("UPDATE run SET derived = ? WHERE id = 1");
  sqlite3_bind_int64(upd_derived_, 1, static_cast<std::int64_t>(derived_events_));
  step(upd_derived_);
  return derived_events_ - before;
}

void Recording::derive_record(int stream, const cmwq::Record& r) {
  if (r.h->kind == CMWQ_EV_NAME) return derived_.apply(stream, r);
  std::array<std::int64_t, kEventColumns> row;
  if (r.h->kind == CMWQ_EV_HELLO) {
    const cmwq_ev_hello& h = *r.hello();
    auto thresh = static_cast<std::int64_t>(std::min<std::uint64_t>(h.watchdog_thresh_ns, INT64_MAX));
    row = {0, stream, static_cast<std::int64_t>(h.h.seq), static_cast<std::int64_t>(h.h.ts), h.h.kind, h.h.tid,
           h.h.cpu, h.session, h.version, h.system, -1, 0, h.possible_cpus, 0, 0, 0, 0, -1, thresh};
  } else {
    const cmwq_ev_state& e = *r.state();
    row = {0, stream, static_cast<std::int64_t>(e.h.seq), static_cast<std::int64_t>(e.h.ts), e.h.kind, e.h.tid,
           e.h.cpu, static_cast<std::int64_t>(e.work), e.func, e.wq, e.pool, e.worker, e.flags, e.pool_flags,
           e.nr_running, e.nr_idle, e.nr_workers, e.nr_active, e.arg};
  }
  row[0] = static_cast<std::int64_t>(++derived_events_);
  held_[nr_held_++] = row;
  if (nr_held_ == kEventRows) flush_events();
  if (r.h->kind != CMWQ_EV_CHECK) derived_.apply(stream, r);
}

sqlite3_stmt* Recording::rows_statement(sqlite3_stmt*& stmt, const char* head, const char* row, int rows) {
  if (!stmt) {
    std::string sql = std::string(head) + row;
    for (int i = 1; i < rows; ++i) (sql += ',') += row;
    stmt = prepare(sql.c_str());
  }
  return stmt;
}

// A full batch goes in one statement; a part batch (at a commit) row by row. OR FAIL: a multi-row
// INSERT that may abort keeps a statement journal (a temp file: a write per page it touches) to
// undo its own rows; nothing here can fail a constraint, and if it did the recording ends anyway.
void Recording::flush_events() {
  if (!nr_held_) return;
  begin();
  const char *head = "INSERT OR FAIL INTO events VALUES ", *row = "(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)";
  bool full = nr_held_ == kEventRows;
  sqlite3_stmt* s = full ? rows_statement(ins_events_, head, row, kEventRows) : rows_statement(ins_event_, head, row, 1);
  int p = 0;
  for (int r = 0; r < nr_held_; ++r) {
    for (std::int64_t v : held_[r]) sqlite3_bind_int64(s, ++p, v);
    if (!full) {
      step(s);
      p = 0;
    }
  }
  if (full) step(s);
  nr_held_ = 0;
}

void Recording::flush_items() {
  if (!nr_held_items_) return;
  begin();
  const char* head = "INSERT OR FAIL INTO work_items (stream, work, func, wq, pool, worker, queued_ns, "
                     "activated_ns, started_ns, ended_ns, cpu_ns, canceled) VALUES ";
  const char* row = "(?,?,?,?,?,?,?,?,?,?,?,?)";
  bool full = nr_held_items_ == kItemRows;
  sqlite3_stmt* s = full ? rows_statement(ins_items_, head, row, kItemRows) : rows_statement(ins_item_, head, row, 1);
  int p = 0;
  for (int i = 0; i < nr_held_items_; ++i) {
    const auto& [stream, w] = held_items_[i];
    bind(s, ++p, stream);
    bind(s, ++p, static_cast<std::int64_t>(w.work));
    bind(s, ++p, w.func);
    bind(s, ++p, w.wq);
    bind(s, ++p, std::int64_t{w.pool});
    for (Opt v : {Opt{w.worker ? w.worker : -1}, Opt{w.queued_ns}, Opt{w.activated_ns}, Opt{w.started_ns},
                  Opt{w.ended_ns}, Opt{w.cpu_ns}})
      bind(s, ++p, v);
    bind(s, ++p, std::int64_t{w.canceled ? 1 : 0});
    if (!full) {
      step(s);
      p = 0;
    }
  }
  if (full) step(s);
  nr_held_items_ = 0;
}

void Recording::snapshot(const Trace& trace) {
  snapshot_events_ = events_;
  flush_chunk();  // the snapshot is the state after records that must be there
  begin();
  if (!ins_snapshot_) ins_snapshot_ = prepare("INSERT OR REPLACE INTO snapshots VALUES (?, ?, ?, ?)");
  for (auto& [stream, model] : trace.models()) {
    std::vector<std::uint8_t> state = model.snapshot();
    sqlite3_bind_int64(ins_snapshot_, 1, static_cast<std::int64_t>(events_));
    sqlite3_bind_int64(ins_snapshot_, 2, stream);
    sqlite3_bind_int64(ins_snapshot_, 3, max_ts_);  // every record before it is this old or older
    sqlite3_bind_blob(ins_snapshot_, 4, state.data(), static_cast<int>(state.size()), SQLITE_STATIC);
    step(ins_snapshot_);
  }
}

void Recording::StreamObserver::on_name(std::uint32_t id, std::uint32_t kind, const std::string& text) {
  rec->insert(rec->ins_name_, "INSERT OR REPLACE INTO names VALUES (?, ?, ?, ?)", stream, std::int64_t{id},
              std::string(kind == CMWQ_NAME_WQ ? "workqueue" : kind == CMWQ_NAME_FUNC ? "function" : "other"), text);
}

void Recording::StreamObserver::on_workqueue(const WorkqueueInfo& wq) {
  rec->insert(rec->ins_wq_, "INSERT OR REPLACE INTO workqueues VALUES (?, ?, ?, ?, ?, ?, ?)", stream,
              std::int64_t{wq.id}, wq.name, std::int64_t{wq.flags}, wq.max_active, Opt{wq.created_ns},
              Opt{wq.destroyed_ns});
}

void Recording::StreamObserver::on_pool(const PoolInfo& p) {
  rec->insert(rec->ins_pool_, "INSERT OR REPLACE INTO pools VALUES (?, ?, ?, ?, ?)", stream, std::int64_t{p.id},
              std::int64_t{p.cpu}, std::int64_t{p.nice}, std::int64_t{p.flags});
}

void Recording::StreamObserver::on_worker(const WorkerInfo& w) {
  rec->insert(rec->ins_worker_, "INSERT OR REPLACE INTO workers VALUES (?, ?, ?, ?, ?, ?)", stream,
              std::int64_t{w.pid}, std::int64_t{w.pool},
              Opt{w.rescuer_of ? static_cast<std::int64_t>(w.rescuer_of) : -1}, Opt{w.created_ns},
              Opt{w.destroyed_ns});
}

void Recording::StreamObserver::on_work_done(const WorkInstance& w) {
  rec->held_items_[rec->nr_held_items_++] = {stream, w};
  if (rec->nr_held_items_ == kItemRows) rec->flush_items();
}

void Recording::on_alert(int stream, const Alert& a) {
  insert(ins_alert_,
         "INSERT INTO alerts (stream, kind, pool, wq, message, detected_ns, stuck_ns, waiting) VALUES (?,?,?,?,?,?,?,?)",
         std::int64_t{stream}, std::string(name(a.kind)), Opt{a.pool}, a.wq, a.message, a.time_ns, a.stuck_ns,
         std::int64_t{a.pending});
}

void Recording::StreamObserver::on_mayday_episode(const MaydayEpisode& ep) {
  std::string wqs;
  for (auto& wq : ep.workqueues) wqs += (wqs.empty() ? "" : ",") + wq;
  rec->insert(rec->ins_episode_,
              "INSERT INTO mayday_episodes (stream, pool, started_ns, ended_ns, maydays, rescued, workqueues) "
              "VALUES (?,?,?,?,?,?,?)",
              stream, std::int64_t{ep.pool}, ep.started_ns, Opt{ep.ended_ns}, static_cast<std::int64_t>(ep.maydays),
              static_cast<std::int64_t>(ep.rescued), wqs);
}

void Recording::StreamObserver::on_off_cpu(const WorkerInfo& w, std::int64_t back_ns) {
  rec->insert(rec->ins_off_cpu_,
              "INSERT INTO off_cpu (stream, worker, start_ns, end_ns, state, work, func, hidden) VALUES (?,?,?,?,?,?,?,?)",
              stream, std::int64_t{w.pid}, w.off_cpu_since, back_ns, std::int64_t{w.off_cpu_state},
              Opt{w.current.work ? static_cast<std::int64_t>(w.current.work) : -1}, w.current.func,
              std::int64_t{w.hidden_block ? 1 : 0});
}

void Recording::count(const std::string& name, std::uint64_t value, const std::string& description) {
  insert(ins_count_, "INSERT OR REPLACE INTO anomalies VALUES (?, ?, ?)", name, static_cast<std::int64_t>(value),
         description);
}

void Recording::finish(const std::string& reason, std::int64_t ended_ns, std::uint64_t dropped, std::uint64_t lost) {
  try {
    lost_so_far(dropped, lost);
    flush_chunk();
    derive();
    for (auto& [id, m] : derived_.models()) m.finish();  // what is open goes to the tables as open
    flush_events();
    flush_items();
    begin();
    if (write_end(reason, ended_ns, dropped, lost) != SQLITE_DONE) fail("cannot finish the recording");
    commit();
    leave_wal();
  } catch (const RecordingError& e) {
    abandon(e, ended_ns, dropped, lost);
  }
}

void Recording::abandon(const std::exception& cause, std::int64_t ended_ns, std::uint64_t dropped,
                        std::uint64_t lost) {
  // After a failed write the open transaction cannot be trusted (SQLite may have rolled it back
  // already); what was committed stays.
  if (!sqlite3_get_autocommit(db_)) sqlite3_exec(db_, "ROLLBACK", nullptr, nullptr, nullptr);
  in_tx_ = false;
  events_ = committed_;
  nr_held_ = nr_held_items_ = 0;  // rows not yet written went with the transaction
  chunk_.clear();
  // The room set aside at the start takes the run row's WAL frame when the disk is full.
  if (reserve_ >= 0) ::close(std::exchange(reserve_, -1));
  std::string why = failure_.empty() ? cause.what() : failure_;
  bool noted = write_end("error: " + why, ended_ns, dropped, lost) == SQLITE_DONE;
  throw RecordingError(fmt::format(
      "{}\nwqscope: the recording stopped there; it is valid and keeps the {} events committed before the error{}",
      cause.what(), committed_,
      noted ? " (its run table says why it ended)"
            : ", but not why it ended: there was no room even for that in its run table"));
}

int Recording::write_end(const std::string& reason, std::int64_t ended_ns, std::uint64_t dropped,
                         std::uint64_t lost) {
  sqlite3_stmt* s = nullptr;
  int rc = sqlite3_prepare_v2(
      db_, "UPDATE run SET ended_ns = ?, end_reason = ?, events = ?, dropped_events = ?, lost_events = ? WHERE id = 1",
      -1, &s, nullptr);
  if (rc != SQLITE_OK) return rc;
  sqlite3_bind_int64(s, 1, ended_ns);
  sqlite3_bind_text(s, 2, reason.c_str(), -1, SQLITE_TRANSIENT);
  sqlite3_bind_int64(s, 3, static_cast<std::int64_t>(events_));
  sqlite3_bind_int64(s, 4, static_cast<std::int64_t>(dropped));
  sqlite3_bind_int64(s, 5, static_cast<std::int64_t>(lost));
  rc = sqlite3_step(s);
  sqlite3_finalize(s);
  return rc;
}

}  // namespace wqscope
