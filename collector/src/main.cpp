// wqscope: see inside libcmwq pools, catch them when they stall.
#include "record.h"
#include "recording.h"
#include "tracer.h"

#include <CLI/CLI.hpp>
#include <fmt/format.h>

int main(int argc, char** argv) {
  CLI::App app{"wqscope: see inside workqueue pools and catch them when they stall.\n\n"
               "Examples:\n"
               "  sudo wqscope record -o trace.db -- cmwq-demo stall --seconds 10\n"
               "  sudo wqscope record -p 1234 -o trace.db\n"
               "  sqlite3 trace.db 'SELECT func, count(*) FROM work_items GROUP BY func'\n"};
  app.require_subcommand(1);
  wqscope::RecordOptions rec;
  auto* record = app.add_subcommand("record", "record a process that uses libcmwq into a SQLite file");
  record->add_option("-p,--pid", rec.pid, "trace this running process")->check(CLI::PositiveNumber);
  record->add_option("-o,--output", rec.output, "the recording to create (never overwritten)")->required();
  record->add_option("command", rec.command, "after --: the command to start and trace from its first event");
  CLI11_PARSE(app, argc, argv);
  try {
    if (record->parsed()) {
      if ((rec.pid != 0) == !rec.command.empty()) {
        fmt::print(stderr, "wqscope record: give either -p PID or -- COMMAND, not {}\n",
                   rec.pid ? "both" : "neither");
        return 2;
      }
      return wqscope::record(rec);
    }
  } catch (const wqscope::TracerError& e) {
    fmt::print(stderr, "wqscope: {}\n", e.what());
    return 1;
  } catch (const wqscope::RecordingError& e) {
    fmt::print(stderr, "wqscope: {}\n", e.what());
    return 1;
  } catch (const cmwq::Error& e) {
    fmt::print(stderr, "wqscope: {}\n", e.what());
    return 1;
  }
  return 0;
}
