// cmwq-sim: runs a scenario file on the deterministic simulator and prints
// its timeline or kernel log, then the wq_monitor table.
#include <cmwq/sim.h>

#include <CLI/CLI.hpp>
#include <duration.h>
#include <fmt/format.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>

// Virtual time: a simulated story may span days.
constexpr std::int64_t kMaxUntil = 10'000'000'000'000'000;  // 1e7 s

int main(int argc, char** argv) {
  CLI::App app{"Run a cmwq scenario on the virtual-time simulator.\n\n"
               "Examples:\n"
               "  cmwq-sim pool/scenarios/doc-cmwq-max-active-3.scn\n"
               "  cmwq-sim --until 120s pool/scenarios/seed004-hotplug-lockup.scn\n"
               "  cmwq-sim --kernel 6.9 pool/scenarios/today-watchdog-recheck.scn\n"};
  std::string path;
  std::string until, kernel;
  bool timeline = false, log = false, stats = false;
  std::string events_path;
  app.add_option("scenario", path, "scenario file (see pool/scenarios/README.md)")->required();
  app.add_option("--until", until, "stop at this virtual time, e.g. 90s or 1.5 (seconds); overrides the file");
  app.add_option("--kernel", kernel, "follow this kernel's design: seeds, 6.5, 6.9 or 7.0 (overrides the file)");
  app.add_flag("--timeline", timeline, "print the TIME/EVENT table of the cmwq documentation");
  app.add_flag("--log", log, "print the kernel log (warnings, lockups, dumps)");
  app.add_flag("--stats", stats, "print the wq_monitor table at the end");
  app.add_option("--events", events_path, "write every event as cmwq/events.h records to this file");
  CLI11_PARSE(app, argc, argv);
  try {
    cmwq::sim::Scenario sc = cmwq::sim::load_scenario(path);
    if (!until.empty()) sc.until = cmwq::cli::parse_duration(until, "--until", {.zero_ok = true, .max_ns = kMaxUntil});
    if (!kernel.empty()) sc.config.kernel = cmwq::sim::parse_kernel(kernel);
    if (!timeline && !log) {
      timeline = sc.output == cmwq::sim::Scenario::Output::Timeline;
      log = !timeline;
      stats = stats || log;
    }
    cmwq::sim::Result r = cmwq::sim::run(sc, !events_path.empty());
    if (!events_path.empty()) {
      std::ofstream out(events_path, std::ios::binary | std::ios::trunc);
      out.write(reinterpret_cast<const char*>(r.events.data()), static_cast<std::streamsize>(r.events.size()));
      if (!out.flush()) throw cmwq::Error(events_path + ": cannot write the event file: " + std::strerror(errno));
    }
    if (!sc.title.empty()) fmt::print("# {}\n", sc.title);
    if (timeline) fmt::print("{}", cmwq::sim::format_timeline(r));
    if (log)
      for (auto& line : r.log) fmt::print("{}\n", line);
    if (stats) {
      fmt::print("\nwq_monitor at {:.3f}s:\n", static_cast<double>(r.end) / 1e9);
      for (auto& row : r.wq_monitor) fmt::print("{}\n", row);
    }
    return r.lockups ? 3 : 0;
  } catch (const cmwq::Error& e) {
    std::cerr << "cmwq-sim: " << e.what() << "\n";
    return 2;
  } catch (const std::invalid_argument& e) {  // an option's value
    std::cerr << "cmwq-sim: " << e.what() << "\n";
    return 2;
  }
}
