// usdt_capture OUT -- PROGRAM ARGS: runs PROGRAM with bpf/cmwq.bpf.c attached
// to its cmwq:batch probe from its first instruction, and writes every record
// the probe delivered to OUT. Exits with the program's status; prints the BPF
// side's counters. A test tool: the collector (wqscope) does this for real.
#include "cmwq.skel.h"
#include "cmwq_bpf.h"

#include <bpf/libbpf.h>

#include <cerrno>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <vector>

#include <sys/wait.h>
#include <unistd.h>

namespace {

std::vector<unsigned char> records;
unsigned long long delivered_events = 0;

int on_batch(void*, void* data, size_t) {
  auto* b = static_cast<const cmwq_bpf_batch*>(data);
  records.insert(records.end(), b->data, b->data + b->len);
  delivered_events += b->count;
  return 0;
}

int fail(const char* what) {
  std::fprintf(stderr, "usdt_capture: %s: %s\n", what, std::strerror(errno));
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4 || std::strcmp(argv[2], "--") != 0) {
    std::fprintf(stderr, "usage: usdt_capture OUT -- PROGRAM [ARGS...]\n");
    return 2;
  }
  char exe[PATH_MAX];
  if (!realpath(argv[3], exe)) return fail(argv[3]);
  int go[2];
  if (pipe(go) != 0) return fail("pipe");
  pid_t child = fork();
  if (child < 0) return fail("fork");
  if (child == 0) {  // wait until the probe is attached, then become the program
    char c;
    close(go[1]);
    if (read(go[0], &c, 1) != 1) _exit(127);
    execv(exe, argv + 3);
    _exit(127);
  }
  close(go[0]);
  cmwq_bpf* skel = cmwq_bpf__open();
  if (!skel) return fail("open BPF skeleton");
  skel->rodata->target_tgid = static_cast<__u32>(child);
  if (cmwq_bpf__load(skel)) return fail("load BPF program (root, CAP_BPF and CAP_PERFMON are needed)");
  bpf_link* link = bpf_program__attach_usdt(skel->progs.on_batch, child, exe, "cmwq", "batch", nullptr);
  if (!link) return fail("attach to cmwq:batch");
  ring_buffer* rb = ring_buffer__new(bpf_map__fd(skel->maps.batches), on_batch, nullptr, nullptr);
  if (!rb) return fail("ring buffer");
  if (write(go[1], "x", 1) != 1) return fail("start the program");
  close(go[1]);
  int status = 0;
  for (;;) {
    ring_buffer__poll(rb, 50);
    pid_t r = waitpid(child, &status, WNOHANG);
    if (r == child) break;
  }
  while (ring_buffer__consume(rb) > 0) {
  }
  cmwq_bpf_stats total{};
  int ncpu = libbpf_num_possible_cpus();
  std::vector<cmwq_bpf_stats> per(static_cast<size_t>(ncpu));
  __u32 zero = 0;
  if (bpf_map__lookup_elem(skel->maps.stats, &zero, sizeof zero, per.data(), per.size() * sizeof(per[0]), 0) == 0)
    for (auto& s : per) {
      total.batches += s.batches, total.dropped_batches += s.dropped_batches;
      total.dropped_events += s.dropped_events, total.read_errors += s.read_errors, total.oversized += s.oversized;
    }
  std::printf("usdt_capture: %llu batches, %llu events delivered, %llu dropped, %llu read errors\n",
              static_cast<unsigned long long>(total.batches), delivered_events,
              static_cast<unsigned long long>(total.dropped_events),
              static_cast<unsigned long long>(total.read_errors));
  FILE* out = std::fopen(argv[1], "wb");
  if (!out || std::fwrite(records.data(), 1, records.size(), out) != records.size() || std::fclose(out) != 0)
    return fail(argv[1]);
  ring_buffer__free(rb);
  bpf_link__destroy(link);
  cmwq_bpf__destroy(skel);
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
