#include "import/report_lines.h"

#include <charconv>
#include <limits>

namespace wqscope::kernel_log {

namespace {

/// A cursor over one line; every read checks bounds and says whether it matched.
struct Cursor {
  std::string_view s;
  std::size_t i = 0;

  bool done() const { return i >= s.size(); }
  bool lit(std::string_view t) {
    if (s.substr(i, t.size()) != t) return false;
    i += t.size();
    return true;
  }
  void spaces() {
    while (i < s.size() && s[i] == ' ') ++i;
  }
  template <class T>
  bool num(T& out, int base = 10) {
    auto [p, ec] = std::from_chars(s.data() + i, s.data() + s.size(), out, base);
    if (ec != std::errc()) return false;
    i = static_cast<std::size_t>(p - s.data());
    return true;
  }
  bool hex(unsigned& out) { return lit("0x") && num(out, 16); }
  /// Up to the next space (or the end).
  std::string_view word() {
    std::size_t start = i;
    while (i < s.size() && s[i] != ' ') ++i;
    return s.substr(start, i - start);
  }
  /// Up to the next space or comma: a function in a list.
  std::string_view token() {
    std::size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != ',') ++i;
    return s.substr(start, i - start);
  }
  std::string_view rest() const { return s.substr(std::min(i, s.size())); }
};

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

bool cpu_list(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (!(c >= '0' && c <= '9') && c != '-' && c != ',') return false;
  return true;
}

/// pr_cont_pool_info: " cpus=%*pbl[ node=%d] flags=0x%x( nice=%d| bh| bh-hi)".
bool identity(Cursor& c, PoolIdentity& id) {
  id = PoolIdentity{};
  std::size_t start = c.i;
  if (!c.lit(" cpus=")) return false;
  std::string_view cpus = c.word();
  if (!cpu_list(cpus)) return false;
  int node = -1;
  if (c.lit(" node=") && !c.num(node)) return false;
  if (!c.lit(" flags=") || !c.hex(id.flags)) return false;
  if (c.lit(" nice=")) {
    if (!c.num(id.nice)) return false;
  } else if (c.lit(" bh-hi")) {
    id.bh = true;
    id.nice = -20;
  } else if (c.lit(" bh")) {
    id.bh = true;
  } else {
    return false;
  }
  int cpu = -1;
  if (node >= 0 && cpus.find_first_of("-,") == std::string_view::npos) std::from_chars(cpus.begin(), cpus.end(), cpu);
  id.cpu = cpu;
  id.text = std::string(c.s.substr(start, c.i - start));
  return true;
}

/// A function as %ps prints it: "name" or "name [module]".
bool function(Cursor& c, std::string& out) {
  std::string_view name = c.token();
  if (name.empty() || name.find_first_of("()") != std::string_view::npos) return false;
  out = std::string(name);
  std::size_t save = c.i;
  if (c.lit(" [")) {
    std::string_view mod = c.token();
    if (mod.size() >= 2 && mod.back() == ']') out += " [" + std::string(mod);
    else c.i = save;
  }
  return true;
}

constexpr long kMaxRepeat = 1'000'000;  // "N*func": more is damage, not a worklist

/// One item of pr_cont_work: "func", "N*func" or "BAR(pid)"; appended to `items` (N of them). `rle`
/// says whether the line shows run-length encoding (1), a run in full (0), or neither.
bool item(Cursor& c, std::vector<cmwq::report::Item>& items, std::string& why, int* rle = nullptr) {
  if (c.lit("BAR(")) {
    int pid = 0;
    if (!c.num(pid) || pid <= 0 || !c.lit(")")) return why = "a BAR() without a pid", false;
    items.push_back({"", pid, false});
    return true;
  }
  long n = 1;
  std::size_t save = c.i;
  if (c.num(n) && c.lit("*")) {
    if (n < 1 || n > kMaxRepeat) return why = "an N*func with an impossible N", false;
    if (rle) *rle = 1;
  } else {
    c.i = save;
    n = 1;
  }
  std::string func;
  if (!function(c, func)) return why = "an item that is not a function", false;
  if (rle && *rle < 0 && n == 1 && !items.empty() && items.back().func == func) *rle = 0;
  items.insert(items.end(), static_cast<std::size_t>(n), cmwq::report::Item{func, 0, false});
  return true;
}

/// " a, b BAR(1), 3*c": entries joined by commas; within one, linked items follow with a space.
bool items(Cursor& c, std::vector<cmwq::report::Item>& out, std::string& why, int& rle) {
  bool first = true;
  while (!c.done()) {
    if (!first && !c.lit(",")) {
      // Only a flush barrier is chained to the item before it (insert_wq_barrier sets WORK_STRUCT_LINKED).
      if (!c.lit(" ") || out.empty() || c.s.substr(c.i, 4) != "BAR(") return why = "items not separated by commas", false;
      out.back().linked = true;  // no comma: chained to the one before
    } else {
      first = false;
      if (!c.lit(" ")) return why = "no space before an item", false;
    }
    if (!item(c, out, why, &rle)) return false;
  }
  if (out.empty()) return why = "no items", false;
  return true;
}

/// "in-flight: 57:f BAR(1), 58(RESCUER):g" (before 6.9) or "in-flight: 57:f for 3s ,58:g" (6.9 on).
bool in_flight(Cursor& c, ItemsLine& line, std::string& why) {
  bool first = true;
  while (!c.done()) {
    if (!first) {
      int sep = c.lit(" ,") ? 1 : c.lit(", ") ? 0 : -1;
      if (sep < 0) return why = "in-flight workers not separated by commas", false;
      if (line.comma_first >= 0 && line.comma_first != sep) return why = "in-flight separators of two kinds", false;
      line.comma_first = sep;
    } else if (!c.lit(" ")) {
      return why = "no space after in-flight:", false;
    }
    first = false;
    cmwq::report::InFlight w;
    w.for_s = -1;
    if (c.lit("bh-hi") || c.lit("bh")) {
      w.pid = -1;
    } else if (!c.num(w.pid) || w.pid <= 0) {
      return why = "an in-flight worker without a pid", false;
    }
    w.rescuer = c.lit("(RESCUER)");
    if (!c.lit(":") || !function(c, w.func)) return why = "an in-flight worker without pid:function", false;
    std::size_t save = c.i;
    if (c.lit(" for ")) {
      if (!c.num(w.for_s) || w.for_s < 0 || !c.lit("s")) c.i = save, w.for_s = -1;
    }
    // Items already scheduled on the worker follow with a space, up to the next worker's comma.
    while (c.i < c.s.size() && c.s[c.i] == ' ' && c.s.substr(c.i, 2) != " ,") {
      ++c.i;
      if (!item(c, w.scheduled, why)) return false;
      if (w.scheduled.size() > 1) w.scheduled[w.scheduled.size() - 2].linked = true;
    }
    line.workers.push_back(std::move(w));
  }
  if (line.workers.empty()) return why = "no in-flight workers", false;
  return true;
}

/// A pool identity where one is printed, kept as text.
bool identity(Cursor& c, std::string& text) {
  PoolIdentity id;
  if (!identity(c, id)) return false;
  text = std::move(id.text);
  return true;
}

Line lockup(Cursor c, std::string& why) {
  Lockup l;
  l.line = std::string(c.s);
  c.i = std::string_view("BUG: workqueue lockup - pool").size();
  if (!identity(c, l.pool) || !c.lit(" stuck for ") || !c.num(l.stuck_s) || l.stuck_s < 0 || !c.lit("s!") ||
      !c.done())
    return why = "not BUG: workqueue lockup - pool cpus=... stuck for Ns!", std::monostate{};
  return l;
}

Line workqueue(Cursor c, std::string& why) {
  // "workqueue NAME: flags=0x%x"; a name may hold ": " itself, so the last one counts.
  std::size_t at = c.s.rfind(": flags=0x");
  WorkqueueLine w;
  if (at == std::string_view::npos || at <= 10) return why = "not workqueue NAME: flags=0x...", std::monostate{};
  w.name = std::string(c.s.substr(10, at - 10));
  c.i = at + 8;
  if (!c.hex(w.flags) || !c.done()) return why = "not workqueue NAME: flags=0x...", std::monostate{};
  return w;
}

Line pwq(Cursor c, std::string& why) {
  cmwq::report::Pwq p;
  p.refcnt = -1;
  c.lit("pwq ");
  if (!c.num(p.pool) || p.pool < 0 || !c.lit(":") || !identity(c, p.identity) || !c.lit(" active=") ||
      !c.num(p.nr_active) || p.nr_active < 0)
    return why = "not pwq N: cpus=... active=N", std::monostate{};
  if (c.lit("/") && (!c.num(p.max_active) || p.max_active <= 0)) return why = "active=N/ without a max", std::monostate{};
  if (c.lit(" refcnt=") && (!c.num(p.refcnt) || p.refcnt < 0)) return why = "refcnt= without a count", std::monostate{};
  p.mayday = c.lit(" MAYDAY");
  if (!c.done()) return why = "more after the pwq line's fields", std::monostate{};
  return p;
}

Line pool(Cursor c, std::string& why) {
  cmwq::report::Pool p;
  c.lit("pool ");
  if (!c.num(p.id) || p.id < 0 || !c.lit(":")) return why = "not pool N: ...", std::monostate{};
  if (c.done()) return BacktracePool{p.id};
  if (!identity(c, p.identity) || !c.lit(" hung=") || !c.num(p.hung_s) || p.hung_s < 0 || !c.lit("s workers=") ||
      !c.num(p.nr_workers) || p.nr_workers < 0)
    return why = "not pool N: cpus=... hung=Ns workers=N", std::monostate{};
  if (c.lit(" manager: ") && (!c.num(p.manager) || p.manager <= 0)) return why = "manager: without a pid", std::monostate{};
  if (c.lit(" idle: ")) {
    for (bool first = true; !c.done(); first = false) {
      int pid = 0;
      if ((!first && !c.lit(" ")) || !c.num(pid) || pid <= 0) return why = "idle: followed by other than pids", std::monostate{};
      p.idle.push_back(pid);
    }
  }
  p.nr_idle = static_cast<int>(p.idle.size());
  if (!c.done()) return why = "more after the pool line's fields", std::monostate{};
  return p;
}

Line hog(Cursor c, std::string& why) {
  // wq_cpu_intensive_report: "workqueue: %ps hogged CPU for >%luus %llu times, consider switching to WQ_UNBOUND"
  Hog h;
  h.line = std::string(c.s);
  std::size_t at = c.s.find(" hogged CPU for >");
  if (at == std::string_view::npos || at <= 11) return why = "not a hogged CPU warning", std::monostate{};
  h.func = std::string(c.s.substr(11, at - 11));
  c.i = at + 17;
  if (!c.num(h.thresh_us) || !c.lit("us ") || !c.num(h.count) || !c.lit(" times"))
    return why = "not a hogged CPU warning", std::monostate{};
  return h;
}

Line task(Cursor c, std::string& why) {
  // sched_show_task: "task:%-15.15s state:%c ... pid:%-5d ..."
  TaskLine t;
  std::size_t at = c.s.find(" state:");
  std::size_t pid = c.s.find(" pid:");
  if (at == std::string_view::npos || at < 5 || at + 7 >= c.s.size() || pid == std::string_view::npos)
    return why = "a task line without state: and pid:", std::monostate{};
  t.comm = std::string(trim(c.s.substr(5, at - 5)));
  t.state = c.s[at + 7];
  c.i = pid + 5;
  c.spaces();
  if (!c.num(t.pid) || t.pid <= 0) return why = "a task line without pid:", std::monostate{};
  return t;
}

}  // namespace

bool parse_identity(std::string_view text, PoolIdentity& out) {
  Cursor c{text};
  return identity(c, out) && c.done();
}

Line read_line(std::string_view text, std::string& why) {
  why.clear();
  std::string_view body = text;
  while (!body.empty() && body.front() == ' ') body.remove_prefix(1);
  Cursor c{body};
  if (body.starts_with("BUG: workqueue lockup - pool")) return lockup(c, why);
  if (body == "Showing busy workqueues and worker pools:" ||
      body == "Showing freezable workqueues that are still busy:")
    return DumpStart{};
  if (body.starts_with("Showing backtraces of ") && body.ends_with(" in stalled CPU-bound worker pools:"))
    return BacktraceStart{};
  if (body.starts_with("workqueue: ") && body.find(" hogged CPU for >") != std::string_view::npos) return hog(c, why);
  if (body.starts_with("workqueue ")) return workqueue(c, why);
  if (body.starts_with("pwq ")) return pwq(c, why);
  if (body.starts_with("pool ")) return pool(c, why);
  for (auto [label, kind] : {std::pair{"in-flight:", ItemsLine::InFlight}, std::pair{"pending:", ItemsLine::Pending},
                             std::pair{"inactive:", ItemsLine::Inactive}, std::pair{"delayed:", ItemsLine::Inactive}}) {
    if (!c.lit(label)) continue;
    ItemsLine line;
    line.kind = kind;
    line.delayed = std::string_view(label) == "delayed:";
    bool ok = kind == ItemsLine::InFlight ? in_flight(c, line, why) : items(c, line.items, why, line.rle);
    if (!ok) return std::monostate{};
    return line;
  }
  if (body.starts_with("task:")) return task(c, why);
  if (body.starts_with("Workqueue: ")) {
    WorkqueueOfTask w;
    c.i = 11;
    w.wq = std::string(c.word());
    c.lit(" ");
    w.func = std::string(trim(c.rest()));
    return w;
  }
  if (text.starts_with(" ") || body == "Call Trace:") return StackLine{std::string(trim(text))};
  return std::monostate{};
}

}  // namespace wqscope::kernel_log
