#include "cmwq/report.h"

#include "cmwq/constants.h"

#include <fmt/format.h>

#include <algorithm>
#include <bit>
#include <utility>

namespace cmwq::report {

namespace {

/// pr_cont_work / pr_cont_work_flush: collapses runs of one function into N*func.
class ItemPrinter {
 public:
  explicit ItemPrinter(std::string& out, bool rle = true) : out_(out), rle_(rle) {}
  ~ItemPrinter() { flush(); }
  void add(bool comma, const Item& w) {
    if (w.barrier_pid) {
      flush();
      out_ += fmt::format("{} BAR({})", comma ? "," : "", w.barrier_pid);
      return;
    }
    if (!comma) flush();
    if (ctr_ && w.func == func_ && rle_) {  // same function
      ++ctr_;
      return;
    }
    flush();
    comma_ = comma;
    func_ = w.func;
    ctr_ = 1;
  }
  void flush() {
    if (!ctr_) return;
    if (ctr_ == 1) out_ += fmt::format("{} {}", comma_ ? "," : "", func_);
    else out_ += fmt::format("{} {}*{}", comma_ ? "," : "", ctr_, func_);
    ctr_ = 0;
  }

 private:
  std::string& out_;
  std::string func_;
  long ctr_ = 0;
  bool comma_ = false;
  bool rle_;
};

/// "    pending: a, b BAR(1), 2*c" — linked items follow without a comma.
std::string item_line(const char* label, const std::vector<Item>& items, bool rle) {
  std::string line = fmt::format("    {}:", label);
  {
    ItemPrinter pr(line, rle);
    bool comma = false;
    for (const Item& w : items) {
      pr.add(comma, w);
      comma = !w.linked;
    }
  }
  return line;
}

/// pr_cont_worker_id: a BH pool's worker is its CPU's softirq, printed "bh" or "bh-hi" (no pid).
std::string worker_id(int pid, const std::string& identity) {
  if (pid >= 0) return std::to_string(pid);
  return identity.ends_with(" bh-hi") ? "bh-hi" : "bh";
}

constexpr std::pair<bool Dialect::*, const char*> kDialectFields[] = {
    {&Dialect::max_active, "no-max-active"}, {&Dialect::refcnt, "no-refcnt"}, {&Dialect::delayed, "delayed"},
    {&Dialect::comma_first, "comma-first"},  {&Dialect::for_s, "for"},         {&Dialect::hung_idle, "hung-idle"},
    {&Dialect::rle, "no-rle"}};

}  // namespace

std::string Dialect::text() const {
  const Dialect dfl;
  std::string out;
  for (auto [field, name] : kDialectFields)
    if (this->*field != dfl.*field) {
      // Appended in two steps: GCC 12's -O3 takes `"" + std::string` for an overlapping memcpy (-Wrestrict).
      if (!out.empty()) out += ' ';
      out += name;
    }
  return out;
}

std::string Dialect::traced_mark() const {
  std::string t = text();
  return t.empty() ? t : "traced " + t;
}

Dialect Dialect::parse(std::string_view text) {
  Dialect d;
  for (auto [field, name] : kDialectFields) {
    std::string_view n(name);
    for (std::size_t at = text.find(n); at != std::string_view::npos; at = text.find(n, at + 1)) {
      bool starts = at == 0 || text[at - 1] == ' ', ends = at + n.size() == text.size() || text[at + n.size()] == ' ';
      if (starts && ends) d.*field = !(Dialect{}.*field);  // the name says "not the default"
    }
  }
  return d;
}

std::vector<std::string> show_busy(const Busy& busy) {
  const Dialect& d = busy.dialect;
  std::vector<std::string> lines{"Showing busy workqueues and worker pools:"};
  auto listed = [](const Pwq& p) { return p.nr_active || !p.inactive.empty(); };
  for (const Workqueue& wq : busy.workqueues) {
    if (std::none_of(wq.pwqs.begin(), wq.pwqs.end(), listed)) continue;
    lines.push_back(fmt::format("workqueue {}: flags=0x{:x}", wq.name, wq.flags));
    for (const Pwq& pwq : wq.pwqs) {
      if (!listed(pwq)) continue;
      std::string line = fmt::format("  pwq {}:{} active={}", pwq.pool, pwq.identity, pwq.nr_active);
      if (d.max_active) line += fmt::format("/{}", pwq.max_active);
      if (d.refcnt) line += fmt::format(" refcnt={}", pwq.refcnt);
      lines.push_back(line + (pwq.mayday ? " MAYDAY" : ""));
      if (!pwq.in_flight.empty()) {
        line = "    in-flight:";
        bool comma = false;
        for (const InFlight& w : pwq.in_flight) {
          // 6.9 prints " %s" with the comma, then the worker: "a ,31:b"; before, "%s %d": "a, 31:b".
          line += d.comma_first ? fmt::format(" {}", comma ? "," : "") : fmt::format("{} ", comma ? "," : "");
          line += fmt::format("{}{}:{}", worker_id(w.pid, pwq.identity), w.rescuer ? "(RESCUER)" : "", w.func);
          if (d.for_s) line += fmt::format(" for {}s", w.for_s);
          ItemPrinter pr(line, d.rle);
          for (const Item& s : w.scheduled) pr.add(false, s);
          comma = true;
        }
        lines.push_back(line);
      }
      if (!pwq.pending.empty()) lines.push_back(item_line("pending", pwq.pending, d.rle));
      if (!pwq.inactive.empty()) lines.push_back(item_line(d.delayed ? "delayed" : "inactive", pwq.inactive, d.rle));
    }
  }
  // A kernel report's pool lines in its order (a real kernel's are by id, of pools with a busy worker).
  std::vector<const Pool*> pools;
  for (const Pool& pool : busy.pools)
    if (pool.nr_workers != pool.nr_idle || pool.printed) pools.push_back(&pool);
  std::stable_sort(pools.begin(), pools.end(), [](const Pool* a, const Pool* b) {
    return (a->printed ? a->printed : INT32_MAX) < (b->printed ? b->printed : INT32_MAX);
  });
  for (const Pool* p : pools) {
    const Pool& pool = *p;
    std::string line =
        fmt::format("pool {}:{} hung={}s workers={}", pool.id, pool.identity, pool.hung_s, pool.nr_workers);
    if (pool.manager) line += fmt::format(" manager: {}", pool.manager);
    for (std::size_t i = 0; i < pool.idle.size(); ++i) line += fmt::format(" {}{}", i ? "" : "idle: ", pool.idle[i]);
    lines.push_back(line);
  }
  return lines;
}

std::vector<std::string> wq_monitor_table(const std::vector<Monitor>& wqs) {
  std::vector<std::string> rows{fmt::format("{:<24} {:>8} {:>5} {:>8} {:>7} {:>7} {:>7} {:>7}", "", "total", "infl",
                                            "CPUtime", "CPUitsv", "CMW/RPR", "mayday", "rescued")};
  for (const Monitor& s : wqs) {
    bool unbound = s.flags & WQ_UNBOUND, reclaim = s.flags & WQ_MEM_RECLAIM;
    auto known = [&](std::uint64_t n) { return s.internals_known ? std::to_string(n) : std::string("?"); };
    std::string name = s.name.size() > 24 ? s.name.substr(s.name.size() - 24) : s.name;
    rows.push_back(fmt::format("{:<24} {:>8} {:>5} {:>8.1f} {:>7} {:>7} {:>7} {:>7}", name, s.started,
                               s.started >= s.completed ? s.started - s.completed : 0,
                               static_cast<double>(s.cpu_time_ns) / 1e9,
                               unbound ? "-" : known(s.cpu_intensive),
                               !s.cm_known ? "?" : std::to_string(unbound ? s.repatriated : s.cm_wakeup),
                               reclaim ? known(s.mayday) : "-", reclaim ? known(s.rescued) : "-"));
  }
  return rows;
}

}  // namespace cmwq::report

namespace cmwq {

std::string cpulist(const std::vector<int>& cpus) {
  std::string out;
  for (std::size_t i = 0; i < cpus.size();) {
    std::size_t j = i;
    while (j + 1 < cpus.size() && cpus[j + 1] == cpus[j] + 1) ++j;
    if (!out.empty()) out += ',';
    out += j == i ? fmt::format("{}", cpus[i]) : fmt::format("{}-{}", cpus[i], cpus[j]);
    i = j + 1;
  }
  return out;
}

std::string pool_identity(const std::vector<int>& cpus, int node, unsigned flags, int nice) {
  std::string s = " cpus=" + cpulist(cpus);
  if (node != NUMA_NO_NODE) s += fmt::format(" node={}", node);
  if (flags & POOL_BH) return s + fmt::format(" flags=0x{:x} {}", flags, nice < 0 ? "bh-hi" : "bh");
  return s + fmt::format(" flags=0x{:x} nice={}", flags, nice);
}

std::string lockup_line(const std::string& identity, Time stuck) {
  return fmt::format("BUG: workqueue lockup - pool{} stuck for {}s!", identity, stuck / kSec);
}

bool hog_report_due(std::uint64_t count, std::uint64_t thresh) {
  return thresh > 0 && count >= thresh && std::has_single_bit(count + 1 - thresh);
}

std::string hog_line(const std::string& func, Time thresh, std::uint64_t count) {
  return fmt::format("workqueue: {} hogged CPU for >{}us {} times, consider switching to WQ_UNBOUND", func,
                     thresh / kUsec, count);
}

}  // namespace cmwq
