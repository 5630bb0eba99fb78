// probe_target OUT [probe-only]: a deterministic story on the runtime — one CPU,
// an ordered workqueue, 50 items — whose event records reach the cmwq:batch
// probe; unless "probe-only", the same records also go to OUT in-process.
#include <cmwq/cmwq.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <memory>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 2) return 2;
  bool probe_only = argc > 2 && std::strcmp(argv[2], "probe-only") == 0;
  std::ofstream out(argv[1], std::ios::binary);
  cmwq::Options o;
  o.cpus = 1;
  o.log = [](std::string_view) {};
  if (!probe_only)
    o.on_events = [&](std::span<const std::byte> b, std::uint64_t) {
      out.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    };
  {
    cmwq::System sys(o);
    cmwq::Workqueue* wq = sys.alloc_ordered_workqueue("probe_ord");
    std::vector<std::unique_ptr<cmwq::Work>> works;
    for (int i = 0; i < 50; ++i) {
      works.push_back(std::make_unique<cmwq::Work>("probe_item", [](cmwq::Work&) {}));
      sys.queue_work(wq, *works.back());
    }
    sys.flush_workqueue(wq);
    sys.destroy_workqueue(wq);
  }
  return out.flush() ? 0 : 1;
}
