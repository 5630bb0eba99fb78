// decode_records FILE: counts per kind of a record file, whether work items
// started in queueing order, and whether seq has gaps. For the probe test.
#include <cmwq/recorder.h>

#include <cstdio>
#include <fstream>
#include <iterator>
#include <map>
#include <vector>

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  std::ifstream in(argv[1], std::ios::binary);
  std::vector<char> raw((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(raw.data()), raw.size());
  static const std::map<int, const char*> names = {{CMWQ_EV_WORK_QUEUE, "WORK_QUEUE"},
                                                   {CMWQ_EV_WORK_START, "WORK_START"},
                                                   {CMWQ_EV_WORK_END, "WORK_END"}};
  std::map<int, int> counts;
  std::vector<std::uint64_t> queued, started;
  std::uint64_t last = 0;
  bool gapless = true;
  try {
    cmwq::for_each_record(bytes, [&](const cmwq::Record& r) {
      gapless = gapless && (last == 0 || r.h->seq == last + 1);
      last = r.h->seq;
      ++counts[r.h->kind];
      if (r.h->kind == CMWQ_EV_WORK_QUEUE) queued.push_back(r.state()->work);
      if (r.h->kind == CMWQ_EV_WORK_START) started.push_back(r.state()->work);
    });
  } catch (const cmwq::Error& e) {
    std::fprintf(stderr, "decode_records: %s: %s\n", argv[1], e.what());
    return 1;
  }
  for (auto& [k, n] : names) std::printf("%s %d\n", n, counts[k]);
  std::printf("order %s\n", queued == started ? "ok" : "wrong");
  std::printf("seq %s\n", gapless ? "gapless" : "has gaps");
}
