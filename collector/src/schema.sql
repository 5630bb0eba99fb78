-- A wqscope recording: one SQLite file. Times are CLOCK_MONOTONIC nanoseconds of the traced machine
-- (virtual nanoseconds for simulator recordings); the run table says when the recording started.
PRAGMA page_size = 16384;  -- before WAL: 4x fewer page splits, WAL frames and writes than 4 KB pages
PRAGMA journal_mode = WAL;

CREATE TABLE run (
  id INTEGER PRIMARY KEY CHECK (id = 1),
  command TEXT,              -- what was traced (the command line, or the pid's)
  pid INTEGER,
  host TEXT,
  kernel TEXT,
  started_ns INTEGER,        -- CLOCK_MONOTONIC when recording began
  ended_ns INTEGER,
  started_unix REAL,         -- wall clock, seconds since the epoch
  end_reason TEXT,           -- 'target exited', 'interrupted', 'error: ...'; NULL while recording
  events INTEGER NOT NULL DEFAULT 0,
  dropped_events INTEGER NOT NULL DEFAULT 0,  -- counted by the BPF side (ring buffer full), never silent
  lost_events INTEGER NOT NULL DEFAULT 0,     -- gaps in seq up to the last record received (those dropped after it: dropped_events only)
  schema_version INTEGER NOT NULL,            -- CMWQ_EVENTS_VERSION of the records
  possible_cpus INTEGER,     -- of the target's pool (its HELLO), for pool identities
  pool_watchdog_ns INTEGER,  -- the target pool's own watchdog threshold
  clock TEXT NOT NULL DEFAULT 'live', -- when the watchdog looked: 'live' (CHECK records), 'deadlines' (an import)
  derived INTEGER NOT NULL DEFAULT 0  -- the log position up to which `events` and the tables after it are complete
);

-- The streams of the recording: one per System of the traced process (its pools, workqueues and
-- ids are its own), or the kernel's workqueues (pid 0, system 0). Stream 0 in the tables below is
-- the kernel's off/on-CPU records of the target's threads, and the collector's CHECK records.
CREATE TABLE streams (
  id INTEGER PRIMARY KEY,
  pid INTEGER NOT NULL,
  system INTEGER NOT NULL,   -- the System's number in its process, from 1 (cmwq_ev_hello.system)
  UNIQUE (pid, system)
);

-- What the collector counted instead of storing (Perfetto's stats table): never silent.
CREATE TABLE anomalies (name TEXT PRIMARY KEY, value INTEGER NOT NULL, description TEXT NOT NULL);

-- The log, the source of truth: every record in the order the collector applied it, as it arrived
-- (cmwq/events.h), packed (cmwq/packed.h) in chunks of up to 64 KiB appended as they fill or at each
-- commit: the target's batches as they came, each with its stream (streams.id), and between them the
-- records the collector packed itself, each with its stream in its pid field (collector/src/log_chunk.h;
-- format 4's chunks were only the latter, format 3's held records unpacked). A record's position is
-- its number in the log, NAME records not counted. Records the collector writes itself have seq 0: GAP (work = first missing seq, arg = how
-- many, flags = cause) and CHECK (its watchdog looked).
CREATE TABLE log (
  id INTEGER PRIMARY KEY,
  last INTEGER NOT NULL,     -- the position of its last record (that of the chunk before if it has only NAMEs)
  max_ts INTEGER NOT NULL,   -- the newest time in the log up to its end
  records BLOB NOT NULL
);
CREATE INDEX log_last ON log(last);

-- Derived from the log, off the capture's hot path, up to run.derived: complete when the recording
-- ended (a recording cut off is completed by the next reader that may write it, or `wqscope repair`).
-- The log's records one row each (NAMEs are in `names`); HELLO: work = session, func = version,
-- wq = system, flags = possible CPUs, arg = the pool's watchdog threshold (ns).
CREATE TABLE events (
  id INTEGER PRIMARY KEY,    -- position in the log
  stream INTEGER NOT NULL,   -- streams.id; 0: the kernel's off/on-CPU records, CHECK
  seq INTEGER NOT NULL,      -- the stream's own sequence; 0 for records not from the pool
  ts INTEGER NOT NULL,
  kind INTEGER NOT NULL REFERENCES kinds(kind),
  tid INTEGER, cpu INTEGER, work INTEGER, func INTEGER, wq INTEGER, pool INTEGER, worker INTEGER,
  flags INTEGER, pool_flags INTEGER, nr_running INTEGER, nr_idle INTEGER, nr_workers INTEGER,
  nr_active INTEGER, arg INTEGER
);

CREATE TABLE kinds (kind INTEGER PRIMARY KEY, name TEXT NOT NULL);
-- Interned names, per stream: ids are never reused within one.
CREATE TABLE names (stream INTEGER NOT NULL, id INTEGER NOT NULL, kind TEXT NOT NULL, text TEXT NOT NULL,
                    PRIMARY KEY (stream, id));

CREATE TABLE workqueues (stream INTEGER NOT NULL, id INTEGER NOT NULL, name TEXT, flags INTEGER, max_active INTEGER,
                         created_ns INTEGER, destroyed_ns INTEGER, PRIMARY KEY (stream, id));
CREATE TABLE pools (stream INTEGER NOT NULL, id INTEGER NOT NULL, cpu INTEGER, nice INTEGER, flags INTEGER,
                    PRIMARY KEY (stream, id));
CREATE TABLE workers (stream INTEGER NOT NULL, pid INTEGER NOT NULL, pool INTEGER, rescuer_of INTEGER,
                      created_ns INTEGER, destroyed_ns INTEGER, PRIMARY KEY (stream, pid));

-- One row per queueing of a work item: when it was queued, activated, started and ended, by whom.
CREATE TABLE work_items (
  id INTEGER PRIMARY KEY,
  stream INTEGER NOT NULL,
  work INTEGER NOT NULL,     -- the work item's id (one item may be queued many times)
  func TEXT, wq TEXT, pool INTEGER, worker INTEGER,
  queued_ns INTEGER, activated_ns INTEGER, started_ns INTEGER, ended_ns INTEGER,
  cpu_ns INTEGER, canceled INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX work_items_func ON work_items(func);

-- Workers waiting off the CPU (from the kernel's sched_switch): state is the task state (1 S, 2 D, ...);
-- hidden = 1 when it blocked while running an item without the pool's blocking point, so the pool
-- still counted it as running and started no other worker.
CREATE TABLE off_cpu (
  id INTEGER PRIMARY KEY,
  stream INTEGER NOT NULL,
  worker INTEGER NOT NULL, start_ns INTEGER NOT NULL, end_ns INTEGER NOT NULL, state INTEGER,
  work INTEGER, func TEXT, hidden INTEGER NOT NULL
);
CREATE INDEX events_ts ON events(ts);

-- What the collector raised: "lockup" (a pool's worklist made no progress, reported in the kernel's
-- words), "stall" (items held back by max_active behind work that never finishes), "cpu_hog" (the
-- kernel's "hogged CPU" line) and "mayday_storm" (a pool calling its rescuers for a second or more).
CREATE TABLE alerts (
  id INTEGER PRIMARY KEY,
  stream INTEGER NOT NULL,
  kind TEXT NOT NULL,
  pool INTEGER,
  wq TEXT,                   -- the workqueue of a stall, the rescued ones of a storm, the function of a hog
  message TEXT NOT NULL,
  detected_ns INTEGER NOT NULL,
  stuck_ns INTEGER NOT NULL, -- since the last progress (lockup, stall) or the first mayday (storm)
  waiting INTEGER            -- items waiting when it was detected
);
CREATE VIEW lockups AS SELECT * FROM alerts WHERE kind IN ('lockup', 'stall');

-- A pool calling for rescue: from its first mayday (worker creation failing) until its manager
-- stops because workers are back; ended_ns is NULL if the recording ended first.
CREATE TABLE mayday_episodes (
  id INTEGER PRIMARY KEY,
  stream INTEGER NOT NULL,
  pool INTEGER NOT NULL,
  started_ns INTEGER NOT NULL,
  ended_ns INTEGER,
  maydays INTEGER NOT NULL,  -- calls to the rescuers (one per stuck pwq per MAYDAY_INTERVAL)
  rescued INTEGER NOT NULL,  -- items the rescuers ran meanwhile
  workqueues TEXT            -- the workqueues whose rescuers were called, comma-separated
);

-- Each stream's model, its whole state (CBOR, collector/src/snapshot.cpp) after the log's event
-- `event`, every 100 k events: the state at any instant is the nearest snapshot before it plus the
-- events after that.
CREATE TABLE snapshots (event INTEGER NOT NULL, stream INTEGER NOT NULL, ts INTEGER NOT NULL, state BLOB NOT NULL,
                        PRIMARY KEY (event, stream));
CREATE INDEX snapshots_ts ON snapshots(ts);
