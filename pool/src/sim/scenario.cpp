// The scenario file parser. Every error names the file, the line and the fix.
#include <cmwq/sim.h>

#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <cmath>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

namespace cmwq::sim {

namespace {

std::vector<std::string> split(const std::string& s, char sep) {
  std::vector<std::string> out;
  std::string cur;
  std::istringstream in(s);
  while (std::getline(in, cur, sep)) out.push_back(cur);
  return out;
}

std::string trim(const std::string& s) {
  auto b = s.find_first_not_of(" \t\r");
  if (b == std::string::npos) return "";
  return s.substr(b, s.find_last_not_of(" \t\r") - b + 1);
}

std::vector<std::string> words(const std::string& s) {
  std::vector<std::string> out;
  std::istringstream in(s);
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

int parse_int(const std::string& s, const char* what) {
  try {
    std::size_t used = 0;
    long v = std::stol(s, &used, 0);
    if (used != s.size() || v < INT32_MIN || v > INT32_MAX) throw std::invalid_argument(s);
    return static_cast<int>(v);
  } catch (const std::logic_error&) {
    throw Error(fmt::format("{} '{}' is not an integer", what, s));
  }
}

unsigned parse_flags(const std::string& s) {
  static const std::pair<const char*, unsigned> names[] = {
      {"WQ_BH", WQ_BH},                 {"WQ_UNBOUND", WQ_UNBOUND},       {"WQ_FREEZABLE", WQ_FREEZABLE},
      {"WQ_MEM_RECLAIM", WQ_MEM_RECLAIM}, {"WQ_HIGHPRI", WQ_HIGHPRI},
      {"WQ_CPU_INTENSIVE", WQ_CPU_INTENSIVE}, {"WQ_SYSFS", WQ_SYSFS},
      {"WQ_POWER_EFFICIENT", WQ_POWER_EFFICIENT}, {"WQ_PERCPU", WQ_PERCPU},
  };
  unsigned flags = 0;
  for (auto& part : split(s, '|')) {
    if (part.empty()) continue;
    if (std::isdigit(static_cast<unsigned char>(part[0]))) {
      flags |= static_cast<unsigned>(parse_int(part, "flags value"));
      continue;
    }
    auto it = std::find_if(std::begin(names), std::end(names), [&](auto& n) { return part == n.first; });
    if (it == std::end(names))
      throw Error(fmt::format("unknown workqueue flag '{}' (known: WQ_BH, WQ_UNBOUND, WQ_FREEZABLE, WQ_MEM_RECLAIM, "
                              "WQ_HIGHPRI, WQ_CPU_INTENSIVE, WQ_SYSFS, WQ_POWER_EFFICIENT, WQ_PERCPU or a number)",
                              part));
    flags |= it->second;
  }
  return flags;
}

constexpr int kMaxCpus = 4096;  // `cpus` and `online` stop here (a list to 2^31 would take 8 GB)

std::vector<int> parse_cpulist(const std::string& s) {
  std::vector<int> cpus;
  for (auto& part : split(s, ',')) {
    auto dash = part.find('-');
    int a = parse_int(part.substr(0, dash), "CPU");
    int b = dash == std::string::npos ? a : parse_int(part.substr(dash + 1), "CPU");
    if (a < 0 || b < a || b >= kMaxCpus)
      throw Error(fmt::format("bad CPU range '{}' (CPUs are 0 to {})", part, kMaxCpus - 1));
    for (int c = a; c <= b; ++c) cpus.push_back(c);
  }
  return cpus;
}

AffinityScope parse_scope(const std::string& s) {
  for (auto scope : {AffinityScope::Cpu, AffinityScope::Smt, AffinityScope::Cache, AffinityScope::Numa,
                     AffinityScope::System})
    if (s == affinity_scope_name(scope)) return scope;
  throw Error(fmt::format("unknown affinity scope '{}' (cpu, smt, cache, numa, system)", s));
}

Op parse_op(const std::string& text) {
  auto w = words(text);
  if (w.empty()) throw Error("empty step in a work script (two ';' in a row?)");
  const std::string& verb = w[0];
  auto need = [&](std::size_t n) {
    if (w.size() != n) throw Error(fmt::format("step '{}' takes {} argument(s)", verb, n - 1));
  };
  Op op{};
  if (verb == "burn" || verb == "sleep" || verb == "block") {
    need(2);
    op.kind = verb == "burn" ? Op::Burn : verb == "sleep" ? Op::Sleep : Op::Block;
    op.duration = parse_duration(w[1]);
  } else if (verb == "queue") {
    if (w.size() != 2 && !(w.size() == 4 && w[2] == "on")) throw Error("step 'queue' is: queue ITEM [on CPU]");
    op.kind = Op::Queue;
    op.target = w[1];
    if (w.size() == 4) op.cpu = parse_int(w[3], "CPU");
  } else if (verb == "flush" || verb == "flush_wq" || verb == "cancel" || verb == "cancel_sync" || verb == "wait" ||
             verb == "signal") {
    need(2);
    op.kind = verb == "flush"         ? Op::Flush
              : verb == "flush_wq"    ? Op::FlushWq
              : verb == "cancel"      ? Op::Cancel
              : verb == "cancel_sync" ? Op::CancelSync
              : verb == "wait"        ? Op::Wait
                                      : Op::Signal;
    op.target = w[1];
  } else {
    throw Error(fmt::format("unknown step '{}' (burn, sleep, block, queue, flush, flush_wq, cancel, cancel_sync, "
                            "wait, signal)",
                            verb));
  }
  return op;
}

struct Parser {
  Scenario sc;
  std::set<std::string> wq_names, item_names, groups;
  std::map<std::string, int> group_lines;  // where each `work` line is, for errors found at the end

  void line(const std::vector<std::string>& w, const std::string& raw, int lineno) {
    const std::string& kw = w[0];
    auto need = [&](std::size_t n) {
      if (w.size() != n) throw Error(fmt::format("'{}' takes {} argument(s)", kw, n - 1));
    };
    // Settings that take one duration or one number.
    const std::pair<const char*, Time*> durations[] = {{"watchdog", &sc.config.watchdog_thresh},
                                                       {"panic_on_stall_time", &sc.config.panic_on_stall_time},
                                                       {"cpu_intensive_thresh", &sc.config.cpu_intensive_thresh},
                                                       {"until", &sc.until}};
    const std::pair<const char*, int*> numbers[] = {
        {"panic_on_stall", &sc.config.panic_on_stall},
        {"cpu_intensive_warning_thresh", &sc.config.cpu_intensive_warning_thresh}};
    for (auto& [name, field] : durations)
      if (kw == name) {
        need(2);
        *field = parse_duration(w[1]);
        return;
      }
    for (auto& [name, field] : numbers)
      if (kw == name) {
        need(2);
        *field = parse_int(w[1], name);
        return;
      }
    if (kw == "title") {
      sc.title = trim(raw.substr(raw.find("title") + 5));
    } else if (kw == "cpus") {
      need(2);
      sc.config.possible_cpus = parse_int(w[1], "cpus");
      if (sc.config.possible_cpus < 1 || sc.config.possible_cpus > kMaxCpus)
        throw Error(fmt::format("cpus must be 1 to {}", kMaxCpus));
    } else if (kw == "online") {
      need(2);
      sc.config.online_cpus = parse_cpulist(w[1]);
    } else if (kw == "model") {
      need(2);
      if (w[1] == "modern") sc.config.model = Model::Modern;
      else if (w[1] == "gcwq2010") sc.config.model = Model::Gcwq2010;
      else if (w[1] == "original") sc.config.model = Model::Original;
      else throw Error(fmt::format("unknown model '{}' (modern, gcwq2010, original)", w[1]));
    } else if (kw == "kernel") {
      need(2);
      sc.config.kernel = parse_kernel(w[1]);
    } else if (kw == "topology") {
      topology(w);
    } else if (kw == "affinity_scope") {
      need(2);
      sc.config.default_affn_scope = parse_scope(w[1]);
    } else if (kw == "rescuer") {
      need(2);
      if (w[1] == "2009") sc.config.rescuer_policy = RescuerPolicy::k2009;
      else if (w[1] == "2014") sc.config.rescuer_policy = RescuerPolicy::k2014;
      else if (w[1] == "2025") sc.config.rescuer_policy = RescuerPolicy::k2025;
      else throw Error(fmt::format("unknown rescuer policy '{}' (2009, 2014, 2025)", w[1]));
    } else if (kw == "output") {
      need(2);
      if (w[1] == "timeline") sc.output = Scenario::Output::Timeline;
      else if (w[1] == "log") sc.output = Scenario::Output::Log;
      else throw Error(fmt::format("unknown output '{}' (timeline, log)", w[1]));
    } else if (kw == "workqueue") {
      workqueue(w);
    } else if (kw == "work") {
      work(raw, lineno);
    } else if (kw == "at") {
      action(w, lineno);
    } else {
      throw Error(fmt::format("unknown keyword '{}' (title, cpus, online, model, kernel, topology, "
                              "affinity_scope, rescuer, watchdog, panic_on_stall, panic_on_stall_time, "
                              "cpu_intensive_warning_thresh, "
                              "cpu_intensive_thresh, output, until, workqueue, work, at)",
                              kw));
    }
  }

  /// `topology smt|cache|numa CPULIST...`: one group of CPUs per list (SMT siblings, CPUs that share
  /// a last-level cache, a NUMA node); the groups are numbered in order.
  void topology(const std::vector<std::string>& w) {
    if (w.size() < 3 || (w[1] != "smt" && w[1] != "cache" && w[1] != "numa"))
      throw Error("'topology' is: topology smt|cache|numa CPULIST... (e.g. topology numa 0-3 4-7)");
    auto& ids = w[1] == "smt" ? sc.config.topology.core : w[1] == "cache" ? sc.config.topology.cache
                                                                           : sc.config.topology.node;
    const int n = sc.config.possible_cpus;
    ids.assign(static_cast<std::size_t>(n), -1);
    for (std::size_t g = 2; g < w.size(); ++g)
      for (int cpu : parse_cpulist(w[g])) {
        if (cpu >= n) throw Error(fmt::format("topology: CPU {} is not below 'cpus {}' (put 'cpus' first)", cpu, n));
        if (ids[static_cast<std::size_t>(cpu)] >= 0)
          throw Error(fmt::format("topology {}: CPU {} is in two groups", w[1], cpu));
        ids[static_cast<std::size_t>(cpu)] = static_cast<int>(g - 2);
      }
    for (int cpu = 0; cpu < n; ++cpu)
      if (ids[static_cast<std::size_t>(cpu)] < 0)
        throw Error(fmt::format("topology {}: CPU {} is in no group; list every CPU", w[1], cpu));
  }

  void workqueue(const std::vector<std::string>& w) {
    if (w.size() < 2) throw Error("'workqueue' needs a name: workqueue NAME [flags=F] [max_active=N] [ordered]");
    WorkqueueDef def{w[1]};
    if (!wq_names.insert(def.name).second) throw Error(fmt::format("workqueue '{}' is defined twice", def.name));
    for (std::size_t i = 2; i < w.size(); ++i) {
      if (w[i] == "ordered") def.ordered = true;
      else if (w[i].rfind("flags=", 0) == 0) def.flags = parse_flags(w[i].substr(6));
      else if (w[i].rfind("max_active=", 0) == 0) def.max_active = parse_int(w[i].substr(11), "max_active");
      else if (w[i].rfind("affinity=", 0) == 0) def.affinity = parse_scope(w[i].substr(9));
      else if (w[i] == "strict") def.strict = true;
      else throw Error(fmt::format("unknown workqueue attribute '{}' (flags=, max_active=, ordered, affinity=, strict)",
                                   w[i]));
    }
    sc.workqueues.push_back(def);
  }

  void work(const std::string& raw, int lineno) {
    auto colon = raw.find(':');
    if (colon == std::string::npos) throw Error("'work' is: work NAME WQ [fn=FUNC] [count=N]: STEP; STEP; ...");
    auto head = words(raw.substr(0, colon));
    if (head.size() < 3) throw Error("'work' needs a name and a workqueue: work NAME WQ [fn=FUNC] [count=N]: ...");
    ItemDef def{head[1], head[1], head[2], head[1], {}};
    if (!wq_names.count(def.wq)) throw Error(fmt::format("work '{}': unknown workqueue '{}'", def.name, def.wq));
    int count = 0;
    for (std::size_t i = 3; i < head.size(); ++i) {
      if (head[i].rfind("fn=", 0) == 0) def.func = head[i].substr(3);
      else if (head[i].rfind("count=", 0) == 0) count = parse_int(head[i].substr(6), "count");
      else throw Error(fmt::format("unknown work attribute '{}' (fn=, count=)", head[i]));
    }
    for (auto& step : split(raw.substr(colon + 1), ';'))
      if (!trim(step).empty()) def.ops.push_back(parse_op(step));
    if (!groups.insert(def.group).second) throw Error(fmt::format("work '{}' is defined twice", def.group));
    group_lines[def.group] = lineno;
    if (count < 0 || count > 10'000'000) throw Error("count must be 0 to 10000000");
    if (count == 0) {
      item_names.insert(def.name);
      sc.items.push_back(def);
      return;
    }
    for (int i = 0; i < count; ++i) {
      ItemDef d = def;
      d.name = def.group + std::to_string(i);
      item_names.insert(d.name);
      sc.items.push_back(std::move(d));
    }
  }

  void action(const std::vector<std::string>& w, int lineno) {
    if (w.size() < 3) throw Error("'at' is: at TIME ACTION [ARGS]");
    Action a{};
    a.at = parse_duration(w[1]);
    a.line = lineno;
    const std::string& verb = w[2];
    std::vector<std::string> args(w.begin() + 3, w.end());
    auto need = [&](std::size_t n) {
      if (args.size() != n) throw Error(fmt::format("action '{}' takes {} argument(s)", verb, n));
    };
    if (verb == "queue" || verb == "flush" || verb == "cancel") {
      a.kind = verb == "queue" ? Action::Queue : verb == "flush" ? Action::Flush : Action::Cancel;
      for (std::size_t i = 0; i < args.size(); ++i) {
        if ((args[i] == "on" || args[i] == "from") && i + 1 < args.size()) {
          (args[i] == "on" ? a.cpu : a.from) = parse_int(args[i + 1], "CPU");
          ++i;
        } else {
          a.targets.push_back(args[i]);
        }
      }
      if (a.targets.empty()) throw Error(fmt::format("action '{}' needs at least one work item", verb));
      for (auto& t : a.targets)
        if (!item_names.count(t) && !groups.count(t))
          throw Error(fmt::format("action '{}': unknown work item '{}' (define it with 'work' first)", verb, t));
    } else if (verb == "offline" || verb == "online" || verb == "touch") {
      need(1);
      a.kind = verb == "offline" ? Action::Offline : verb == "online" ? Action::Online : Action::Touch;
      a.cpu = args[0] == "all" && verb == "touch" ? -1 : parse_int(args[0], "CPU");
    } else if (verb == "fail_create") {
      need(1);
      a.kind = Action::FailCreate;
      a.duration = parse_duration(args[0]);
    } else if (verb == "freeze" || verb == "thaw" || verb == "dump") {
      need(0);
      a.kind = verb == "freeze" ? Action::Freeze : verb == "thaw" ? Action::Thaw : Action::Dump;
    } else if (verb == "flush_wq") {
      need(1);
      a.kind = Action::FlushWq;
      a.targets = args;
      if (!wq_names.count(args[0])) throw Error(fmt::format("flush_wq: unknown workqueue '{}'", args[0]));
    } else if (verb == "set_max_active") {
      need(2);
      a.kind = Action::SetMaxActive;
      a.targets = {args[0]};
      a.value = parse_int(args[1], "max_active");
      if (!wq_names.count(args[0])) throw Error(fmt::format("set_max_active: unknown workqueue '{}'", args[0]));
    } else {
      throw Error(fmt::format("unknown action '{}' (queue, flush, cancel, flush_wq, offline, online, touch, "
                              "fail_create, freeze, thaw, dump, set_max_active)",
                              verb));
    }
    sc.actions.push_back(a);
  }
};

}  // namespace

Kernel parse_kernel(const std::string& s) {
  if (s == "seeds") return Kernel::Seeds;
  if (s == "6.5") return Kernel::V6_5;
  if (s == "6.9") return Kernel::V6_9;
  if (s == "7.0") return Kernel::V7_0;
  throw Error(fmt::format("unknown kernel '{}' (seeds, 6.5, 6.9, 7.0)", s));
}

Time parse_duration(const std::string& s) {
  static const std::pair<const char*, Time> units[] = {{"ns", 1}, {"us", kUsec}, {"ms", kMsec}, {"s", kSec}};
  if (s == "0") return 0;
  for (auto& [suffix, scale] : units) {
    std::string_view sv(s);
    std::size_t n = std::char_traits<char>::length(suffix);
    if (sv.size() <= n || sv.substr(sv.size() - n) != suffix) continue;
    std::string num(sv.substr(0, sv.size() - n));
    if (num.empty() || num.find_first_not_of("0123456789.") != std::string::npos) break;
    double v = 0;
    std::size_t used = 0;
    try {  // "." and "1.2.3" pass the character check; 400 digits overflow a double
      v = std::stod(num, &used);
    } catch (const std::logic_error&) {
      break;
    }
    if (used != num.size() || !std::isfinite(v) || v * static_cast<double>(scale) > 1e18) break;
    return static_cast<Time>(std::llround(v * static_cast<double>(scale)));
  }
  throw Error(fmt::format("'{}' is not a duration (write it like 5ms, 1.5s, 200us or 0)", s));
}

Scenario parse_scenario(std::istream& in, const std::string& filename) {
  Parser p;
  std::string raw;
  int lineno = 0;
  while (std::getline(in, raw)) {
    ++lineno;
    auto hash = raw.find('#');
    std::string text = trim(hash == std::string::npos ? raw : raw.substr(0, hash));
    auto w = words(text);  // trim() keeps \v and \f, which the stream treats as space
    if (w.empty()) continue;
    try {
      p.line(w, text, lineno);
    } catch (const Error& e) {
      throw Error(fmt::format("{}:{}: {}", filename, lineno, e.what()));
    }
  }
  const auto& topo = p.sc.config.topology;
  for (auto* ids : {&topo.core, &topo.cache, &topo.node})
    if (!ids->empty() && ids->size() != static_cast<std::size_t>(p.sc.config.possible_cpus))
      throw Error(fmt::format("{}: 'topology' lists {} CPUs but 'cpus' is {}; put 'cpus' before 'topology'", filename,
                              ids->size(), p.sc.config.possible_cpus));
  for (int cpu : p.sc.config.online_cpus)
    if (cpu >= p.sc.config.possible_cpus)
      throw Error(fmt::format("{}: online CPU {} is not below 'cpus {}'", filename, cpu, p.sc.config.possible_cpus));
  // -1 (WORK_CPU_UNBOUND) is "no CPU" where a CPU is optional; the core rejects it where one is needed.
  auto check_cpu = [&](int cpu, int min, int line) {
    if (cpu >= p.sc.config.possible_cpus)
      throw Error(fmt::format("{}:{}: CPU {} is not below 'cpus {}'", filename, line, cpu, p.sc.config.possible_cpus));
    if (cpu < min) throw Error(fmt::format("{}:{}: CPU {} is not a CPU number", filename, line, cpu));
  };
  for (auto& a : p.sc.actions) {
    check_cpu(a.cpu, WORK_CPU_UNBOUND, a.line);
    check_cpu(a.from, 0, a.line);
  }
  // Steps may name items defined further down: they are checked once the whole file is read.
  std::set<std::string> checked;
  for (auto& item : p.sc.items) {
    if (!checked.insert(item.group).second) continue;  // count=N copies: one check
    for (auto& op : item.ops) {
      int line = p.group_lines[item.group];
      if (op.kind == Op::FlushWq && !p.wq_names.count(op.target))
        throw Error(fmt::format("{}:{}: work '{}': flush_wq of unknown workqueue '{}'", filename, line, item.group,
                                op.target));
      bool names_item = op.kind == Op::Queue || op.kind == Op::Flush || op.kind == Op::Cancel ||
                        op.kind == Op::CancelSync;
      if (names_item && !p.item_names.count(op.target) && !p.groups.count(op.target))
        throw Error(fmt::format("{}:{}: work '{}': unknown work item '{}' (define it with 'work')", filename, line,
                                item.group, op.target));
      check_cpu(op.cpu, WORK_CPU_UNBOUND, line);
    }
  }
  std::stable_sort(p.sc.actions.begin(), p.sc.actions.end(), [](auto& a, auto& b) { return a.at < b.at; });
  return std::move(p.sc);
}

Scenario load_scenario(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw Error(fmt::format("{}: cannot open the scenario file: {}", path, std::strerror(errno)));
  return parse_scenario(in, path);
}

}  // namespace cmwq::sim
