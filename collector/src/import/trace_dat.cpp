#include "import/trace_dat.h"

#include "recording.h"

#include <fmt/format.h>

#include <event-parse.h>
#include <sched.h>

// trace-cmd.h includes tracefs.h, which is not valid C++ (tracefs_hist_start() passes an int as an
// enum): the functions of libtracecmd used here, as trace-cmd.h (3.1) declares them.
extern "C" {
struct tracecmd_input;
tracecmd_input* tracecmd_open(const char* file, int flags);
void tracecmd_close(tracecmd_input* handle);
tep_handle* tracecmd_get_tep(tracecmd_input* handle);
int tracecmd_buffer_instances(tracecmd_input* handle);
tracecmd_input* tracecmd_buffer_instance_handle(tracecmd_input* handle, int indx);
int tracecmd_iterate_events_multi(tracecmd_input** handles, int nr_handles,
                                  int (*callback)(tracecmd_input* handle, tep_record*, int, void*),
                                  void* callback_data);
}

#include <cerrno>
#include <cstring>
#include <unordered_map>
#include <vector>

namespace wqscope::trace {

namespace {

/// One event of the file: its format, and the fields we read from it (null: this kernel has none).
struct Format {
  Event::Kind kind;
  tep_event* event = nullptr;
  tep_format_field *work = nullptr, *function = nullptr, *workqueue = nullptr, *req_cpu = nullptr, *cpu = nullptr;
  tep_format_field *prev_comm = nullptr, *prev_pid = nullptr, *prev_state = nullptr, *next_comm = nullptr,
                   *next_pid = nullptr;
};

struct Reader {
  tep_handle* tep = nullptr;
  Input in;
  std::unordered_map<int, Format> formats;             // by event id
  std::unordered_map<unsigned long long, std::uint32_t> functions;  // address -> name id
  std::unordered_map<int, std::uint32_t> comms;        // pid -> name id

  bool number(tep_format_field* f, tep_record* r, unsigned long long& out) {
    return f && tep_read_number_field(f, r->data, &out) == 0;
  }

  std::uint32_t function(unsigned long long addr) {
    auto [it, added] = functions.try_emplace(addr, 0);
    if (added) {
      const char* name = tep_find_function(tep, addr);
      it->second = in.names.id(name ? std::string(name) : fmt::format("{:#x}", addr));
    }
    return it->second;
  }

  std::uint32_t comm(int pid) {
    auto [it, added] = comms.try_emplace(pid, 0);
    if (added) {
      const char* name = tep_data_comm_from_pid(tep, pid);
      it->second = in.names.id(name ? name : "<...>");
    }
    return it->second;
  }

  /// A char[] field (sched_switch's comms), or a __data_loc string (queue_work's workqueue on newer
  /// kernels); an address printed in hex on older ones.
  std::uint32_t text(tep_format_field* f, tep_record* r) {
    if (!f) return 0;
    if (f->flags & (TEP_FIELD_IS_STRING | TEP_FIELD_IS_DYNAMIC)) {
      int len = 0;
      auto* p = static_cast<const char*>(tep_get_field_raw(nullptr, f->event, f->name, r, &len, 0));
      if (!p || len < 0) return 0;
      return in.names.id(std::string_view(p, strnlen(p, static_cast<std::size_t>(len))));
    }
    unsigned long long v = 0;
    return number(f, r, v) ? in.names.id(fmt::format("{:x}", v)) : 0;
  }

  void add(const Format& f, tep_record* r) {
    if (r->ts >= 1ull << 62) return malformed(r, "a timestamp past 146 years");  // damage: sums of times overflow
    Event e;
    e.kind = f.kind;
    e.cpu = r->cpu;
    e.ts = static_cast<std::int64_t>(r->ts);
    e.softirq = tep_data_flags(tep, r) & TRACE_FLAG_SOFTIRQ;
    unsigned long long v = 0;
    if (f.kind == Event::Switch) {
      if (!number(f.prev_pid, r, v)) return malformed(r, "sched_switch without prev_pid");
      e.pid = static_cast<std::uint32_t>(v);
      if (!number(f.next_pid, r, v)) return malformed(r, "sched_switch without next_pid");
      e.next_pid = static_cast<std::uint32_t>(v);
      if (!number(f.prev_state, r, v)) return malformed(r, "sched_switch without prev_state");
      // TASK_REPORT_MAX (0x100): preempted, still runnable; 0x80 is TASK_REPORT_IDLE, TASK_IDLE in the task.
      std::uint32_t state = v & 0x100 ? 0 : static_cast<std::uint32_t>(v & 0xff);
      e.prev_state = state & 0x80 ? (state & ~0x80u) | 0x402 : state;
      e.comm = text(f.prev_comm, r);
      e.next_comm = text(f.next_comm, r);
    } else {
      e.pid = static_cast<std::uint32_t>(tep_data_pid(tep, r));
      e.comm = comm(static_cast<int>(e.pid));
      if (!number(f.work, r, v) || !v) return malformed(r, "no work struct");
      e.work = v;
      if (number(f.function, r, v)) e.func = function(v);
      if (f.kind == Event::Queue) {
        unsigned long long req = 0, cpu = 0;
        if (!number(f.req_cpu, r, req) || !number(f.cpu, r, cpu)) return malformed(r, "no req_cpu or cpu");
        auto as_cpu = [](unsigned long long x) { return x < 8192 ? static_cast<std::int32_t>(x) : -1; };
        e.req_cpu = as_cpu(req);
        e.pool_cpu = as_cpu(static_cast<std::uint32_t>(cpu));
        e.wq = text(f.workqueue, r);
        if (!e.wq) return malformed(r, "no workqueue");
      }
    }
    in.events.push_back(e);
  }

  void malformed(tep_record* r, const char* why) {
    in.problem(0, fmt::format("record at offset {} on CPU {}", r->offset, r->cpu), why);
  }

  static int each(tracecmd_input*, tep_record* r, int, void* self) {
    auto* reader = static_cast<Reader*>(self);
    if (r->missed_events > 0) reader->in.lost += static_cast<std::uint64_t>(r->missed_events);
    int id = tep_data_type(reader->tep, r);
    if (auto it = reader->formats.find(id); it != reader->formats.end()) {
      reader->add(it->second, r);
    } else if (tep_event* e = tep_find_event(reader->tep, id)) {
      ++reader->in.skipped[e->name];
    } else {
      reader->in.problem(0, fmt::format("record at offset {} on CPU {}", r->offset, r->cpu), "an event of no known format");
    }
    return 0;
  }

  void format(const char* system, const char* name, Event::Kind kind) {
    tep_event* e = tep_find_event_by_name(tep, system, name);
    if (!e) return;
    Format f{kind, e};
    for (auto [field, slot] : {std::pair{"work", &f.work}, {"function", &f.function}, {"workqueue", &f.workqueue},
                               {"req_cpu", &f.req_cpu}, {"cpu", &f.cpu}, {"prev_comm", &f.prev_comm},
                               {"prev_pid", &f.prev_pid}, {"prev_state", &f.prev_state}, {"next_comm", &f.next_comm},
                               {"next_pid", &f.next_pid}})
      *slot = tep_find_field(e, field);
    formats[e->id] = f;
  }
};

}  // namespace

bool is_trace_dat(std::string_view head) { return head.starts_with(std::string_view("\x17\x08\x44tracing", 10)); }

Input read_trace_dat(const std::string& path) {
  tracecmd_input* handle = tracecmd_open(path.c_str(), 0);
  if (!handle)
    throw RecordingError(fmt::format("{}: libtracecmd cannot read it as a trace.dat: {}", path,
                                     errno ? std::strerror(errno) : "a damaged or unsupported file"));
  Reader reader;
  reader.tep = tracecmd_get_tep(handle);
  reader.in.format = "trace.dat";
  reader.in.cpus = tep_get_cpus(reader.tep);
  reader.format("workqueue", "workqueue_queue_work", Event::Queue);
  reader.format("workqueue", "workqueue_activate_work", Event::Activate);
  reader.format("workqueue", "workqueue_execute_start", Event::Start);
  reader.format("workqueue", "workqueue_execute_end", Event::End);
  reader.format("sched", "sched_switch", Event::Switch);
  // The top buffer and every instance's (trace-cmd record -B, extract -B), merged in time order;
  // an instance shares its file's event formats.
  std::vector<tracecmd_input*> handles{handle};
  for (int i = 0, n = tracecmd_buffer_instances(handle); i < n; ++i)
    if (tracecmd_input* instance = tracecmd_buffer_instance_handle(handle, i)) handles.push_back(instance);
  int err = tracecmd_iterate_events_multi(handles.data(), static_cast<int>(handles.size()), Reader::each, &reader);
  for (std::size_t i = handles.size(); i-- > 0;) tracecmd_close(handles[i]);
  if (err < 0) throw RecordingError(fmt::format("{}: libtracecmd cannot read its events", path));
  return std::move(reader.in);
}

}  // namespace wqscope::trace
