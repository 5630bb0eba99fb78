#include "ingest_stream.h"

#include <cmwq/packed.h>
#include <cmwq/recorder.h>
#include <cmwq/sim.h>

#include <fmt/format.h>

#include <cstring>
#include <sstream>
#include <stdexcept>
#include <vector>

namespace ingest {

namespace {

// Self-requeueing items keep a 2-CPU pool busy for as long as the simulation runs: bound
// items on both CPUs, items that sleep (concurrency management wakes other workers),
// max_active holding items back (queue, then activate later), an ordered log, highpri.
std::string busy_scenario(cmwq::Time until) {
  std::string s = fmt::format("title ingest_bench\ncpus 2\nwatchdog 0\nuntil {}us\n", until / 1000);
  s += "workqueue events\nworkqueue io flags=WQ_UNBOUND max_active=2\n"
       "workqueue xfslog flags=WQ_MEM_RECLAIM max_active=1\nworkqueue kblockd flags=WQ_HIGHPRI\n";
  auto items = [&](const char* prefix, const char* wq, const char* fn, int n, const char* steps, const char* on) {
    std::string names;
    for (int i = 0; i < n; ++i) {
      s += fmt::format("work {0}{1} {2} fn={3}: {4}; queue {0}{1}\n", prefix, i, wq, fn, steps);
      names += fmt::format(" {}{}", prefix, i);
    }
    s += fmt::format("at 0 queue{} {}\n", names, on);
  };
  items("tick_a", "events", "vmstat_update", 4, "burn 2us", "on 0");
  items("tick_b", "events", "flush_to_ldisc", 4, "burn 3us", "on 1");
  items("io", "io", "blk_mq_run_work_fn", 4, "burn 1us; sleep 20us", "");
  items("log", "xfslog", "xfs_buf_ioend_work", 2, "burn 3us", "");
  items("hi", "kblockd", "blk_mq_requeue_work", 2, "burn 1us; sleep 3us", "");
  // Items that come and go leave workers idle in between: idle/busy and manager records.
  items("idle", "events", "console_callback", 2, "burn 1us; sleep 200us", "on 1");
  return s;
}

std::vector<std::byte> simulate(cmwq::Time until) {
  std::istringstream in(busy_scenario(until));
  return cmwq::sim::run(cmwq::sim::parse_scenario(in, "ingest_bench"), true).events;
}

}  // namespace

std::uint64_t generate(const std::string& path, std::uint64_t records) {
  // Calibrate on 2 ms of virtual time, then simulate enough (with margin) and cut at `records`.
  constexpr cmwq::Time kProbe = 2'000'000;
  std::uint64_t probe = 0;
  cmwq::for_each_record(simulate(kProbe), [&](const cmwq::Record&) { ++probe; });
  auto until = static_cast<cmwq::Time>(static_cast<double>(kProbe) * 1.1 * static_cast<double>(records) /
                                       static_cast<double>(probe));
  std::vector<std::byte> bytes = simulate(until);
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (!f) throw std::runtime_error(fmt::format("{}: {}", path, std::strerror(errno)));
  std::size_t end = 0;  // the first `records` records
  std::uint64_t n = 0;
  for (; end < bytes.size() && n < records; ++n) {
    cmwq_event_header h;
    std::memcpy(&h, bytes.data() + end, sizeof h);
    end += h.size;
  }
  cmwq::Packer packer(CMWQ_BATCH_MAX);
  for (std::size_t off = 0; off < end;) {
    packer.clear();
    off += packer.add(std::span(bytes).subspan(off, end - off));
    auto len = static_cast<std::uint32_t>(packer.bytes().size());
    std::fwrite(&len, sizeof len, 1, f);
    std::fwrite(packer.bytes().data(), 1, len, f);
  }
  if (std::fclose(f) != 0) throw std::runtime_error(fmt::format("{}: {}", path, std::strerror(errno)));
  return n;
}

void for_each_batch(std::FILE* f, const std::function<void(std::span<const std::byte>)>& fn) {
  std::vector<std::byte> buf(CMWQ_BATCH_MAX);
  std::uint32_t len = 0;
  while (std::fread(&len, sizeof len, 1, f) == 1) {
    if (len > buf.size() || std::fread(buf.data(), 1, len, f) != len) throw std::runtime_error("bad batch file");
    fn({buf.data(), len});
  }
}

std::map<std::string, std::uint64_t> kinds(const std::string& path) {
  static const std::map<int, const char*> names = {
      {CMWQ_EV_WORK_QUEUE, "queue"},         {CMWQ_EV_WORK_ACTIVATE, "activate"}, {CMWQ_EV_WORK_START, "start"},
      {CMWQ_EV_WORK_END, "end"},             {CMWQ_EV_WORKER_SLEEP, "sleep"},     {CMWQ_EV_WORKER_WAKE, "wake"},
      {CMWQ_EV_WORKER_IDLE, "idle"},         {CMWQ_EV_WORKER_BUSY, "busy"},       {CMWQ_EV_NAME, "name"}};
  std::map<std::string, std::uint64_t> out;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (!f) throw std::runtime_error(fmt::format("{}: {}", path, std::strerror(errno)));
  cmwq::RecordBytes scratch;
  for_each_batch(f, [&](std::span<const std::byte> b) {
    for_each_record(b, scratch, [&](const cmwq::Record& r) {
      auto it = names.find(r.h->kind);
      ++out[it == names.end() ? "other" : it->second];
    });
  });
  std::fclose(f);
  return out;
}

void for_each_record(std::span<const std::byte> batch, cmwq::RecordBytes& scratch,
                     const std::function<void(const cmwq::Record&)>& fn) {
  if (!cmwq::unpack(batch, scratch)) throw std::runtime_error("bad batch file");
  cmwq::for_each_record(scratch, fn);
}

}  // namespace ingest
