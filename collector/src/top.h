// The cmwq guide's hunt (Documentation/core-api/workqueue.rst, "Debugging"), automated: which work
// functions dominate, by how often they are queued, how often they run and how much CPU they take,
// with who queued them and the kworkers that ran them. A model observer: the same on a recording,
// an imported trace or live.
#pragma once

#include "model.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace wqscope {

class TopFunctions : public ModelObserver {
 public:
  void on_queue(const WorkInstance&) override;
  void on_work_done(const WorkInstance&) override;

  /// The three tables, `rows` functions each, over `span_ns` of time.
  std::vector<std::string> tables(std::int64_t span_ns, int rows) const;

 private:
  struct Function {
    std::string func, wq;
    std::uint64_t queued = 0, runs = 0;
    std::int64_t cpu_ns = 0, max_cpu_ns = 0;
    std::map<int, std::uint64_t> queuers, kworkers;  // pid -> how many
  };
  Function& function(const WorkInstance&);
  std::map<std::pair<std::string, std::string>, Function> functions_;  // by (function, workqueue)
};

}  // namespace wqscope
