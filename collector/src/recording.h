// A recording: the SQLite sink of the collector. The records go to the log as
// they arrive (packed, in chunks of 64 KiB, appended: the capture's hot path); `events` and
// the tables a model derives are produced from the log while the target is
// quiet, and completed when the recording ends (or by the next writer of a
// recording cut off: complete()).
#pragma once

#include "log_chunk.h"
#include "model.h"
#include "trace.h"
#include "watchdog.h"

#include <sqlite3.h>

#include <array>
#include <map>
#include <memory>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>
#include <sys/types.h>

namespace wqscope {

struct RecordingError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

constexpr int kRecordingSchemaVersion = 5;  // 3: the log in chunks, tables derived; 4: chunks packed; 5: batches
                                            // logged as they came (log_chunk.h). PRAGMA user_version of schema.sql
constexpr int kRecordingOldestReadable = 3;  // its log reads as the newest's (log_chunk.h)

/// A value stored as NULL when negative (a time or id that is not known).
struct Opt {
  std::int64_t value;
};

/// One thread at a time: the connection is opened without SQLite's mutex. Ingest is its only writer.
class Recording {
 public:
  struct Meta {
    std::string command;
    int pid = 0;
    std::int64_t started_ns = 0;
    std::string clock = "live";  // run.clock: 'live' or 'deadlines' (see Ingest::Clock)
  };
  /// Creates `path` mode 0600, or 0640 owned by `group` for its members to read (SQLite gives the
  /// -wal and -shm the file's mode and, run as root, its owner); refuses to overwrite, and says why
  /// it cannot write.
  static std::unique_ptr<Recording> create(const std::string& path, const Meta&,
                                           std::optional<gid_t> group = std::nullopt);

  /// Completes the derived tables of the recording at `path` if it was cut off (its collector
  /// killed, the machine stopped): from the start of its log, and notes in its run row that it was
  /// cut off. Returns false if it needed nothing. Throws RecordingError if it is being recorded (its
  /// collector holds the file's lock), cannot be written, or is not a recording of this format.
  static bool complete(const std::string& path);
  ~Recording();

  /// A stream's row: `id` is what its records are stored under.
  void add_stream(int id, std::uint32_t pid, std::uint32_t system);
  /// Appends `r` to the log under `stream`.
  void add(int stream, const cmwq::Record& r);
  /// Appends a packed batch of `stream` as it came (`packed`), whose records (`records`, unpacked)
  /// all go into the log as they are, and the kernel's off/on-CPU records applied among them (`held`,
  /// for_each_interleaved): add() of each in that order, without packing the batch again.
  void add_batch(int stream, std::span<const std::byte> packed, std::span<const std::byte> records,
                 std::span<const std::byte> held);
  /// Makes everything added so far durable: it survives a SIGKILL of the collector. When few
  /// records came since the last commit (the target is quiet), derives some of the log first.
  void commit();
  /// What was lost so far (the BPF side's drops, the gaps): the run row says it from the next commit
  /// on, so that a reader of a recording being written (the GUI's status bar) sees it.
  void lost_so_far(std::uint64_t dropped, std::uint64_t lost) {
    dropped_ = dropped;
    lost_ = lost;
  }
  /// Produces `events` and the derived tables from the log chunks written so far, up to about
  /// `budget` records; returns how many it derived.
  std::uint64_t derive(std::uint64_t budget = UINT64_MAX);
  /// Stores every model of `trace` as a snapshot once kSnapshotEvery events were added since the last one.
  void snapshot_if_due(const Trace& trace) {
    if (events_ - snapshot_events_ >= kSnapshotEvery) snapshot(trace);
  }
  static constexpr std::uint64_t kSnapshotEvery = 100'000;
  /// Ends the run: derives the rest of the log, reports what is open, and says why, when, and what
  /// the BPF side dropped.
  void finish(const std::string& reason, std::int64_t ended_ns, std::uint64_t dropped, std::uint64_t lost);
  /// An anomaly counted instead of stored (the anomalies table), written with the next commit.
  void count(const std::string& name, std::uint64_t value, const std::string& description);
  /// Ends the run on `cause` (e.g. the disk is full): what was not committed is dropped, "error: ..."
  /// goes into the run row if the file still takes it, and the RecordingError thrown says what it keeps.
  [[noreturn]] void abandon(const std::exception& cause, std::int64_t ended_ns, std::uint64_t dropped,
                            std::uint64_t lost);

  void on_alert(int stream, const Alert&);

 private:
  /// Stream `stream`'s model's news, into the derived tables with the stream's id.
  struct StreamObserver : ModelObserver {
    Recording* rec;
    std::int64_t stream;
    StreamObserver(Recording* r, int s) : rec(r), stream(s) {}
    void on_name(std::uint32_t id, std::uint32_t kind, const std::string& text) override;
    void on_workqueue(const WorkqueueInfo&) override;
    void on_pool(const PoolInfo&) override;
    void on_worker(const WorkerInfo&) override;
    void on_work_done(const WorkInstance&) override;
    void on_mayday_episode(const MaydayEpisode&) override;
    void on_off_cpu(const WorkerInfo&, std::int64_t back_ns) override;
  };
  friend struct StreamObserver;

  Recording(std::string path, sqlite3* db);
  /// What stream `stream`'s derived model establishes goes to the derived tables through this.
  ModelObserver* observer(int stream);
  /// Appends the chunk being filled to the log.
  void flush_chunk();
  /// Counts a record the log took (and keeps what the run row needs of a HELLO).
  void logged(const cmwq::Record&);
  /// One record of the log, at the next position if it has one: its events row, and the derived model.
  void derive_record(int stream, const cmwq::Record&);
  void init(const Meta&);  // schema, kinds and the run row
  void exec(const char* sql);
  sqlite3_stmt* prepare(const char* sql);
  void step(sqlite3_stmt*);
  [[noreturn]] void fail(const char* what);
  void begin();
  /// Updates the run row (autocommit if no transaction is open); returns the SQLite result.
  /// Once finished: rollback-journal mode, so that readers leave no files beside it.
  void leave_wal();
  int write_end(const std::string& reason, std::int64_t ended_ns, std::uint64_t dropped, std::uint64_t lost);
  /// Binds `args` to `stmt` (prepared from `sql` on first use) in order and runs it.
  template <class... Args>
  void insert(sqlite3_stmt*& stmt, const char* sql, const Args&... args);
  /// `head` followed by `rows` times `row`, prepared on first use into `stmt`.
  sqlite3_stmt* rows_statement(sqlite3_stmt*& stmt, const char* head, const char* row, int rows);
  /// Write the events and work items held back for multi-row INSERTs.
  void flush_events();
  void flush_items();

  static constexpr std::uint64_t kQuietRecords = 1000;    // per commit: the target is quiet
  static constexpr std::uint64_t kDeriveBudget = 10'000;  // per quiet commit: ~15 ms
  static constexpr int kEventColumns = 19;
  static constexpr int kEventRows = 64;  // per INSERT: one statement's overhead shared by 64 rows

  std::string path_;
  sqlite3* db_;
  bool in_tx_ = false;
  void snapshot(const Trace&);
  std::uint64_t events_ = 0, committed_ = 0, snapshot_events_ = 0;  // events_: the log's last position
  LogChunk chunk_;                // the log's records not written yet
  std::int64_t chunks_ = 0;       // the last chunk's id
  std::uint64_t added_ = 0;       // records added since the last commit
  Trace derived_;                 // the models the derived tables come from
  std::uint64_t derived_events_ = 0;  // the log position derived so far
  std::int64_t derived_chunk_ = 0;    // the last chunk derived
  std::map<int, std::uint32_t> pids_;  // stream -> its pid (the log stores the stream in a record's pid)
  std::uint32_t pid_ = 0;              // the target's (stream 0's)
  std::uint64_t dropped_ = 0, lost_ = 0;  // lost_so_far()
  std::uint64_t counted_ = UINT64_MAX;    // the events the run row says (UINT64_MAX: never written)
  int lock_ = -1;  // the file, locked (flock) while a collector writes it: complete() leaves it alone
  std::string failure_;
  int reserve_ = -1;  // room for the run row on a full disk
  std::int64_t max_ts_ = INT64_MIN;  // the newest time in the log so far
  bool have_hello_ = false;  // the run row has the first HELLO's CPUs and threshold
  std::map<int, std::unique_ptr<StreamObserver>> observers_;
  std::array<std::array<std::int64_t, kEventColumns>, kEventRows> held_{};
  int nr_held_ = 0;
  static constexpr int kItemRows = 32;
  std::array<std::pair<std::int64_t, WorkInstance>, kItemRows> held_items_;  // (stream, item), assigned in place
  int nr_held_items_ = 0;
  sqlite3_stmt *ins_events_ = nullptr, *ins_event_ = nullptr, *ins_stream_ = nullptr, *ins_name_ = nullptr,
               *ins_wq_ = nullptr, *ins_pool_ = nullptr, *ins_worker_ = nullptr, *ins_item_ = nullptr,
               *ins_items_ = nullptr, *ins_alert_ = nullptr, *ins_episode_ = nullptr, *ins_off_cpu_ = nullptr,
               *ins_hello_ = nullptr, *ins_snapshot_ = nullptr, *ins_count_ = nullptr,
               *ins_chunk_ = nullptr, *sel_chunk_ = nullptr, *upd_derived_ = nullptr, *upd_counts_ = nullptr;
};

}  // namespace wqscope
