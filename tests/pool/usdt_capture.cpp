// usdt_capture OUT -- PROGRAM ARGS: runs PROGRAM with bpf/cmwq.bpf.c attached
// to its cmwq:batch probe from its first instruction (a wqscope session), and
// writes every record the probe delivered to OUT, unpacked (cmwq/packed.h) but
// otherwise unparsed. Exits 0 when the
// program exited 0; prints the BPF side's counters.
#include "session.h"

#include <cmwq/packed.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

int main(int argc, char** argv) {
  if (argc < 4 || std::strcmp(argv[2], "--") != 0) {
    std::fprintf(stderr, "usage: usdt_capture OUT -- PROGRAM [ARGS...]\n");
    return 2;
  }
  try {
    wqscope::Session session(wqscope::Target{0, std::vector<std::string>(argv + 3, argv + argc)});
    std::vector<std::byte> records;
    unsigned long long delivered = 0, packed = 0, packed_bytes = 0, damaged = 0;
    cmwq::RecordBytes unpacked;
    session.attach([&](std::uint64_t, std::span<const std::byte> bytes, std::uint64_t count) {
      if (cmwq::is_packed(bytes)) {
        ++packed;
        packed_bytes += bytes.size();
        damaged += !cmwq::unpack(bytes, unpacked);
        bytes = unpacked;
      }
      records.insert(records.end(), bytes.begin(), bytes.end());
      delivered += count;
    });
    std::string reason = session.run([](std::int64_t) { return 50; });
    cmwq_bpf_stats st = session.stats();
    std::printf("usdt_capture: %llu batches, %llu events delivered, %llu dropped, %llu read errors; "
                "%llu packed (%llu bytes for %zu of records), %llu damaged\n",
                static_cast<unsigned long long>(st.batches), delivered,
                static_cast<unsigned long long>(st.dropped_events), static_cast<unsigned long long>(st.read_errors),
                packed, packed_bytes, records.size(), damaged);
    FILE* out = std::fopen(argv[1], "wb");
    if (!out || std::fwrite(records.data(), 1, records.size(), out) != records.size() || std::fclose(out) != 0) {
      std::fprintf(stderr, "usdt_capture: %s: %s\n", argv[1], std::strerror(errno));
      return 2;
    }
    if (reason != "target exited with status 0") {
      std::fprintf(stderr, "usdt_capture: %s\n", reason.c_str());
      return 1;
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "usdt_capture: %s\n", e.what());
    return 2;
  }
}
