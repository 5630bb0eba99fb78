// Puts a log's report lines together into reports. A report is what one watchdog check (or SysRq-t)
// prints: lockup lines, then the busy dump, then the backtraces; other messages may come between
// (other CPUs, lockdep, RCU) and are passed over. A report ends where the next one begins.
#include "import/kernel_log.h"

#include "import/log_lines.h"
#include "import/report_lines.h"

#include <algorithm>
#include <map>
#include <optional>

namespace wqscope::kernel_log {

bool readable(std::string_view line) {
  std::string why;
  Line l = read_line(line, why);
  return !std::holds_alternative<std::monostate>(l) && !std::holds_alternative<StackLine>(l);
}

namespace {

class Assembler {
 public:
  explicit Assembler(Log& log) : log_(log) {}

  void add(const LogLine& line) {
    std::string why;
    Line l = read_line(line.text, why);
    if (!why.empty()) return problem(line, why);
    std::visit([&](auto& v) { on(line, v); }, l);
  }

  void finish() {
    close();
    if (!hogs_.empty() && !log_.reports.empty())  // warnings after the last report: still about that machine
      for (Hog& h : hogs_) log_.reports.back().hogs.push_back(std::move(h));
  }

 private:
  enum class Section { None, Lockups, Dump, Backtraces };

  void problem(const LogLine& line, std::string why) { log_.problems.push_back({line.number, line.text, std::move(why)}); }

  Report& begin(const LogLine& line) {
    close();
    current_ = Report{};
    current_->first_line = line.number;
    current_->ts_ns = line.ts_ns;
    current_->hogs = std::move(hogs_);
    hogs_.clear();
    return *current_;
  }

  void close() {
    if (!current_) return;
    infer_dialect(*current_);
    log_.reports.push_back(std::move(*current_));
    current_.reset();
    section_ = Section::None;
    wq_ = nullptr;
    pwq_ = nullptr;
    task_ = nullptr;
  }

  /// The dump starts (or its header was lost and a workqueue or pool line shows it began).
  Report& dump(const LogLine& line, bool header) {
    if (!current_ || current_->has_dump || section_ == Section::Backtraces) begin(line);
    if (header || !current_->has_dump) current_->ts_ns = line.ts_ns >= 0 ? line.ts_ns : current_->ts_ns;
    current_->has_dump = true;
    section_ = Section::Dump;
    return *current_;
  }

  void on(const LogLine&, std::monostate) {}
  void on(const LogLine& line, Lockup& l) {
    if (!current_ || section_ != Section::Lockups) begin(line);
    section_ = Section::Lockups;
    current_->last_line = line.number;
    current_->lockups.push_back(std::move(l));
  }
  void on(const LogLine& line, DumpStart) {
    dump(line, true).last_line = line.number;
  }
  void on(const LogLine& line, WorkqueueLine& w) {
    Report& r = section_ == Section::Dump ? *current_ : dump(line, false);
    r.last_line = line.number;
    r.dump.workqueues.push_back({std::move(w.name), w.flags, {}});
    wq_ = &r.dump.workqueues.back();
    pwq_ = nullptr;
  }
  void on(const LogLine& line, cmwq::report::Pwq& p) {
    if (section_ != Section::Dump || !wq_) return problem(line, "a pwq line outside a workqueue of a busy dump");
    current_->last_line = line.number;
    wq_->pwqs.push_back(std::move(p));
    pwq_ = &wq_->pwqs.back();
  }
  void on(const LogLine& line, ItemsLine& l) {
    if (section_ != Section::Dump || !pwq_) return problem(line, "an item list outside a pwq of a busy dump");
    current_->last_line = line.number;
    if (l.delayed) saw_delayed_ = true;
    if (l.comma_first >= 0) comma_first_ = l.comma_first;
    if (l.rle >= 0) rle_ = l.rle;
    switch (l.kind) {
      case ItemsLine::InFlight:
        pwq_->in_flight.insert(pwq_->in_flight.end(), l.workers.begin(), l.workers.end());
        break;
      case ItemsLine::Pending:
        pwq_->pending.insert(pwq_->pending.end(), l.items.begin(), l.items.end());
        break;
      case ItemsLine::Inactive:
        pwq_->inactive.insert(pwq_->inactive.end(), l.items.begin(), l.items.end());
        break;
    }
  }
  void on(const LogLine& line, cmwq::report::Pool& p) {
    Report& r = section_ == Section::Dump ? *current_ : dump(line, false);
    r.last_line = line.number;
    wq_ = nullptr;
    pwq_ = nullptr;
    auto& pools = r.dump.pools;
    auto same = std::find_if(pools.begin(), pools.end(), [&](const cmwq::report::Pool& q) { return q.id == p.id; });
    if (same != pools.end()) return problem(line, "a second line of the same pool in one dump");
    p.printed = static_cast<int>(pools.size()) + 1;
    pools.push_back(std::move(p));
  }
  void on(const LogLine& line, BacktraceStart) {
    if (!current_) begin(line);
    section_ = Section::Backtraces;
    bt_pool_ = -1;
    task_ = nullptr;
    current_->last_line = line.number;
  }
  void on(const LogLine& line, BacktracePool& p) {
    if (section_ != Section::Backtraces) return problem(line, "pool N: outside a backtrace section");
    bt_pool_ = p.id;
    task_ = nullptr;
    current_->last_line = line.number;
  }
  void on(const LogLine& line, TaskLine& t) {
    if (section_ != Section::Backtraces) return;  // a task dump of something else (hung task, SysRq)
    current_->tasks.push_back({bt_pool_, t.pid, std::move(t.comm), t.state, {}, {}, {}});
    task_ = &current_->tasks.back();
    current_->last_line = line.number;
  }
  void on(const LogLine& line, WorkqueueOfTask& w) {
    if (!task_) return;
    task_->wq = std::move(w.wq);
    task_->func = std::move(w.func);
    current_->last_line = line.number;
  }
  void on(const LogLine& line, StackLine& s) {
    if (!task_ || task_->stack.size() >= 256) return;
    task_->stack.push_back(std::move(s.text));
    current_->last_line = line.number;
  }
  void on(const LogLine&, Hog& h) { hogs_.push_back(std::move(h)); }

  /// What the lines did not say outright, from what they did: the version's other changes.
  void infer_dialect(Report& r) const {
    cmwq::report::Dialect& d = r.dump.dialect;
    bool any_pwq = false, max = false, refcnt = false, for_s = false;
    std::map<int, bool> pending;  // pools with items on their worklist
    for (const cmwq::report::Workqueue& w : r.dump.workqueues)
      for (const cmwq::report::Pwq& p : w.pwqs) {
        any_pwq = true;
        max |= p.max_active > 0;
        refcnt |= p.refcnt >= 0;
        for (const cmwq::report::InFlight& f : p.in_flight) for_s |= f.for_s >= 0;
        pending[p.pool] |= !p.pending.empty();
      }
    if (any_pwq) {
      d.max_active = max;
      d.refcnt = refcnt;
    }
    d.for_s = for_s;
    d.delayed = saw_delayed_;
    // 6.9 moved max_active off the pwq line and the comma before the worker id; 7.0 added " for".
    d.comma_first = comma_first_ >= 0 ? comma_first_ == 1 : (any_pwq && !max) || for_s;
    // "N*func" since about 5.19: a run printed in full says older, and so do the older formats.
    d.rle = rle_ >= 0 ? rle_ == 1 : !d.delayed && (d.refcnt || !d.max_active);
    // Before 6.5, hung= counted while the worklist was empty, too.
    for (const cmwq::report::Pool& p : r.dump.pools)
      if (p.hung_s > 0 && !pending[p.id]) d.hung_idle = true;
  }

  Log& log_;
  std::optional<Report> current_;
  Section section_ = Section::None;
  cmwq::report::Workqueue* wq_ = nullptr;
  cmwq::report::Pwq* pwq_ = nullptr;
  Task* task_ = nullptr;
  int bt_pool_ = -1;
  std::vector<Hog> hogs_;
  bool saw_delayed_ = false;  // per log: one machine, one kernel
  int comma_first_ = -1;
  int rle_ = -1;
};

}  // namespace

Log parse(std::string_view text) {
  Log log;
  Assembler assembler(log);
  LineReader reader(text, readable);
  LogLine line;
  while (reader.next(line)) {
    log.lines = line.number;
    assembler.add(line);
  }
  assembler.finish();
  return log;
}

}  // namespace wqscope::kernel_log
