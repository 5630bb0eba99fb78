// Bytes as a recording file -> RecordingReader and state_at. A damaged file (not SQLite, a page
// torn, tables missing or of the wrong shape, rows that make no sense, a broken snapshot) must end
// in RecordingError; anything else escaping, or a crash, is a bug.
#include "reader.h"

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <string>
#include <unistd.h>

namespace {

// One file per process, reused: SQLite needs a path (a read-only open, as `wqscope show` does).
const std::string& db_path() {
  static const std::string path = [] {
    const char* dir = std::getenv("TMPDIR");
    return std::string(dir && *dir ? dir : "/tmp") + "/wqscope-fuzz-" + std::to_string(::getpid()) + ".db";
  }();
  return path;
}

void remove_files() {
  for (const char* suffix : {"", "-wal", "-shm", "-journal"}) std::remove((db_path() + suffix).c_str());
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  remove_files();
  {
    std::ofstream out(db_path(), std::ios::binary);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  try {
    wqscope::RecordingReader reader(db_path());
    wqscope::Trace trace;
    std::int64_t end = reader.last_ns();
    reader.state_at(trace, end);
    for (auto& [stream, model] : trace.models()) {
      (void)model.busy(end);
      (void)model.held_back();
    }
    wqscope::Trace from_start;  // a replay that ignores the snapshots
    reader.replay([&](int stream, const cmwq::Record& r) {
      from_start.apply(stream, r);
      return true;
    });
  } catch (const wqscope::RecordingError&) {
  }
  remove_files();
  return 0;
}
