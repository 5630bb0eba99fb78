// `wqscope record`: trace a process (started here or running) into a recording.
#pragma once

#include <string>
#include <sys/types.h>
#include <vector>

namespace wqscope {

struct RecordOptions {
  pid_t pid = 0;                     // -p PID
  std::vector<std::string> command;  // -- CMD ARGS
  std::string output;                // -o FILE
};

/// Returns the exit status for the wqscope process.
int record(const RecordOptions&);

}  // namespace wqscope
