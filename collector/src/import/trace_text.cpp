#include "import/trace_text.h"

#include <charconv>

namespace wqscope::trace {

namespace {

constexpr std::size_t kDetectLines = 64;

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool digits(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s)
    if (c < '0' || c > '9') return false;
  return true;
}

template <class T>
bool number(std::string_view s, T& out, int base = 10) {
  if (s.empty()) return false;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), out, base);
  return ec == std::errc() && end == s.data() + s.size();
}

/// A CPU as printed: %d, or %u of -1 (4294967295); -1 for any value no CPU has.
std::int32_t cpu_value(std::string_view s, bool& ok) {
  std::int64_t v = 0;
  ok = number(s, v);
  return ok && v >= 0 && v < INT32_MAX ? static_cast<std::int32_t>(v) : -1;
}

/// %p as printed: hex with or without 0x, hashed or not.
bool pointer(std::string_view s, std::uint64_t& out) {
  if (s.starts_with("0x")) s.remove_prefix(2);
  return s.size() <= 16 && number(s, out, 16) && out;
}

/// "1804.220110" (µs), "1804.220110123" (ns) or a bare count of ns; below kMaxTs.
bool timestamp(std::string_view s, std::int64_t& out) {
  std::size_t dot = s.find('.');
  std::int64_t sec = 0, frac = 0;
  if (dot == std::string_view::npos) return number(s, out) && out >= 0 && out < kMaxTs;
  std::string_view f = s.substr(dot + 1);
  if (!number(s.substr(0, dot), sec) || sec < 0 || sec > 4'000'000'000 || f.empty() || f.size() > 9 || !number(f, frac))
    return false;
  for (std::size_t i = f.size(); i < 9; ++i) frac *= 10;
  out = sec * 1'000'000'000 + frac;
  return true;
}

/// The text between `key` and `until` (or the end, or the next space if `until` is " ").
bool field(std::string_view s, std::string_view key, std::string_view until, std::string_view& out) {
  std::size_t at = s.find(key);
  if (at == std::string_view::npos) return false;
  s.remove_prefix(at + key.size());
  std::size_t end = until.empty() ? s.size() : s.find(until);
  out = s.substr(0, end == std::string_view::npos ? s.size() : end);
  return !out.empty();
}

/// sched_switch's prev_state: the state it waits in, 0 if it does not (R, or R+ preempted).
std::uint32_t task_state(std::string_view s) {
  if (s.empty() || s.front() == 'R') return 0;
  std::uint32_t state = 0;
  for (char c : s) switch (c) {
      case 'S': state |= 0x1; break;
      case 'D': state |= 0x2; break;
      case 'T': state |= 0x4; break;
      case 't': state |= 0x8; break;
      case 'X': state |= 0x10; break;
      case 'Z': state |= 0x20; break;
      case 'P': state |= 0x40; break;
      case 'I': state |= 0x402; break;  // TASK_IDLE: uninterruptible, not counted as load
      case 'K': state |= 0x80; break;
      case 'W': state |= 0x100; break;
      case 'N': state |= 0x400; break;
      case '+': return 0;  // preempted: it still wants the CPU
      default: break;
    }
  return state ? state : 0x1;
}

/// The parts every tracer prints before an event's fields.
struct Head {
  std::string_view comm, flags, event, fields;
  std::uint32_t pid = 0;
  std::int32_t cpu = -1;
  std::int64_t ts = 0;
  bool perf = false;  // "comm pid [cpu]" (perf script), not "comm-pid [cpu]"
};

/// Splits `line`; the reason if it is not an event line.
const char* split(std::string_view line, Head& h) {
  // The CPU column: the first "[digits]" after a space.
  std::size_t b = 0;
  for (;;) {
    b = line.find(" [", b);
    if (b == std::string_view::npos) return "no [CPU] column";
    std::size_t e = line.find(']', b + 2);
    if (e != std::string_view::npos && digits(line.substr(b + 2, e - b - 2)) && number(line.substr(b + 2, e - b - 2), h.cpu))
      break;
    b += 2;
  }
  std::string_view task = trim(line.substr(0, b));
  if (std::size_t c = task.find(": "); c != std::string_view::npos) task = trim(task.substr(c + 2));  // "instance: "
  std::string_view rest = line.substr(line.find(']', b) + 1);
  if (task.ends_with(')')) {  // the TGID column: "( 1790)" or "(-------)"
    std::size_t open = task.rfind('(');
    if (open == std::string_view::npos) return "no ( before the TGID's )";
    task = trim(task.substr(0, open));
  }
  std::size_t dash = task.rfind('-'), space = task.find_last_of(" \t");
  if (dash != std::string_view::npos && (space == std::string_view::npos || space < dash) &&
      number(task.substr(dash + 1), h.pid)) {
    h.comm = task.substr(0, dash);
  } else if (space != std::string_view::npos) {  // perf script: "comm pid" or "comm pid/tid"
    std::string_view id = task.substr(space + 1);
    if (std::size_t slash = id.find('/'); slash != std::string_view::npos) id.remove_prefix(slash + 1);
    if (!number(id, h.pid)) return "no task-PID before the CPU";
    h.comm = trim(task.substr(0, space));
    h.perf = true;
  } else {
    return "no task-PID before the CPU";
  }
  auto token = [&rest]() {
    rest = trim(rest);
    std::size_t end = rest.find_first_of(" \t");
    std::string_view t = rest.substr(0, end);
    rest.remove_prefix(t.size());
    return t;
  };
  std::string_view t = token();
  if (!t.ends_with(':')) {  // the flags: irqs-off, need-resched, hardirq/softirq, preempt-depth[, migrate-disable]
    if (t.size() < 3 || t.size() > 6) return "no flags or timestamp after the CPU";
    h.flags = t;
    t = token();
  }
  if (!t.ends_with(':') || !timestamp(t.substr(0, t.size() - 1), h.ts)) return "no timestamp";
  t = token();
  if (!t.ends_with(':') || t.size() < 2) return "no event name";
  t.remove_suffix(1);
  if (std::size_t colon = t.rfind(':'); colon != std::string_view::npos) t.remove_prefix(colon + 1);  // workqueue:
  h.event = t;
  h.fields = trim(rest);
  return nullptr;
}

/// "work struct PTR" / "work struct=PTR", then ": function F" or " function=F" if printed.
const char* work_fields(std::string_view f, Event& e, Names& names) {
  if (!f.starts_with("work struct")) return "no work struct";
  f.remove_prefix(11);
  if (!f.empty() && (f.front() == '=' || f.front() == ' ')) f.remove_prefix(1);
  std::size_t end = f.find_first_of(" :");
  if (!pointer(f.substr(0, end), e.work)) return "work struct is not an address";
  f = end == std::string_view::npos ? std::string_view() : f.substr(end);
  std::string_view func;
  if (field(f, "function=", " ", func) || field(f, "function ", " ", func)) e.func = names.id(func);
  return nullptr;
}

const char* queue_fields(std::string_view f, Event& e, Names& names) {
  if (const char* why = work_fields(f, e, names)) return why;
  std::string_view wq, req, cpu;
  // A workqueue's name may hold spaces: it ends where req_cpu= begins.
  if (!field(f, " workqueue=", " req_cpu=", wq)) return "no workqueue=";
  if (!field(f, " req_cpu=", " ", req) || !field(f, " cpu=", " ", cpu)) return "no req_cpu= or cpu=";
  bool ok_req = false, ok_cpu = false;
  e.req_cpu = cpu_value(req, ok_req);
  e.pool_cpu = cpu_value(cpu, ok_cpu);
  if (!ok_req || !ok_cpu) return "req_cpu= or cpu= is not a number";
  e.wq = names.id(wq);
  return nullptr;
}

/// "prev_comm=a prev_pid=1 prev_prio=120 prev_state=S ==> next_comm=b next_pid=2 next_prio=120", or
/// trace-cmd's own "a:1 [120] S ==> b:2 [120]".
const char* switch_fields(std::string_view f, Event& e, Names& names) {
  std::size_t arrow = f.find(" ==> ");
  if (arrow == std::string_view::npos) return "no ==>";
  std::string_view prev = f.substr(0, arrow), next = f.substr(arrow + 5);
  std::string_view prev_comm, prev_pid, state, next_comm, next_pid;
  if (prev.starts_with("prev_comm=")) {
    if (!field(prev, "prev_comm=", " prev_pid=", prev_comm) || !field(prev, " prev_pid=", " ", prev_pid) ||
        !field(prev, " prev_state=", " ", state) || !field(next, "next_comm=", " next_pid=", next_comm) ||
        !field(next, " next_pid=", " ", next_pid))
      return "sched_switch without its fields";
  } else {
    std::size_t bracket = prev.rfind(" [");
    if (bracket == std::string_view::npos) return "sched_switch without [prio]";
    state = trim(prev.substr(prev.find(']', bracket) + 1));
    prev = prev.substr(0, bracket);
    if (std::size_t nb = next.rfind(" ["); nb != std::string_view::npos) next = next.substr(0, nb);
    std::size_t pc = prev.rfind(':'), nc = next.rfind(':');
    if (pc == std::string_view::npos || nc == std::string_view::npos) return "sched_switch without comm:pid";
    prev_comm = prev.substr(0, pc);
    prev_pid = prev.substr(pc + 1);
    next_comm = next.substr(0, nc);
    next_pid = next.substr(nc + 1);
  }
  if (!number(prev_pid, e.pid) || !number(next_pid, e.next_pid)) return "sched_switch pid is not a number";
  e.comm = names.id(prev_comm);
  e.next_comm = names.id(next_comm);
  e.prev_state = task_state(state);
  return nullptr;
}

/// The lines around events that say something: the CPU count, lost events.
bool header(std::string_view line, Input& in) {
  if (line.empty()) return true;
  if (line.front() == '#') {  // ftrace: "# entries-in-buffer/entries-written: 14/14   #P:4"
    if (std::size_t p = line.find("#P:"); p != std::string_view::npos) {
      std::string_view n = line.substr(p + 3);
      (void)number(n.substr(0, n.find_first_not_of("0123456789")), in.cpus);
    }
    return true;
  }
  std::string_view n;
  if (line.starts_with("cpus=")) return number(line.substr(5), in.cpus) || true;  // trace-cmd report
  if (line.starts_with("version =") || line.starts_with("trace-cmd:")) return true;
  if (line.starts_with("CPU") && line.ends_with(" is empty")) return true;
  if (line.starts_with("CPU") && field(line, "[LOST ", " ", n)) {  // "CPU:2 [LOST 1234 EVENTS]"
    std::uint64_t lost = 0;
    if (number(n, lost)) in.lost += lost;
    return true;
  }
  return false;
}

}  // namespace

bool is_text_trace(std::string_view head) {
  std::size_t pos = 0;
  for (std::size_t n = 0; n < kDetectLines && pos < head.size(); ++n) {
    std::size_t end = head.find('\n', pos);
    std::string_view line = trim(head.substr(pos, end == std::string_view::npos ? head.size() - pos : end - pos));
    pos = end == std::string_view::npos ? head.size() : end + 1;
    Head h;
    if (line.starts_with("# tracer:") || (!split(line, h) && !h.event.empty())) return true;
  }
  return false;
}

Input parse_text(std::string_view text) {
  Input in;
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    std::string_view line = trim(text.substr(pos, end == std::string_view::npos ? text.size() - pos : end - pos));
    pos = end == std::string_view::npos ? text.size() : end + 1;
    ++in.lines;
    if (header(line, in)) continue;
    Head h;
    if (const char* why = split(line, h)) {
      in.problem(in.lines, line, why);
      continue;
    }
    if (in.format.empty()) in.format = h.perf ? "perf script" : h.flags.empty() ? "trace-cmd report" : "ftrace";
    Event e;
    e.cpu = h.cpu;
    e.pid = h.pid;
    e.ts = h.ts;
    e.softirq = h.flags.size() >= 3 && h.flags[2] == 's';
    const char* why = nullptr;
    if (h.event == "workqueue_queue_work") e.kind = Event::Queue, why = queue_fields(h.fields, e, in.names);
    else if (h.event == "workqueue_activate_work") e.kind = Event::Activate, why = work_fields(h.fields, e, in.names);
    else if (h.event == "workqueue_execute_start") e.kind = Event::Start, why = work_fields(h.fields, e, in.names);
    else if (h.event == "workqueue_execute_end") e.kind = Event::End, why = work_fields(h.fields, e, in.names);
    else if (h.event == "sched_switch") e.kind = Event::Switch, why = switch_fields(h.fields, e, in.names);
    else {
      ++in.skipped[std::string(h.event)];
      continue;
    }
    if (why) {
      in.problem(in.lines, line, std::string(h.event) + ": " + why);
      continue;
    }
    if (e.kind != Event::Switch) e.comm = in.names.id(h.comm);
    in.events.push_back(e);
  }
  if (in.format.empty()) in.format = "ftrace";
  return in;
}

}  // namespace wqscope::trace
