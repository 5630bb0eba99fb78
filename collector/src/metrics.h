// Prometheus metrics of `wqscope watch --metrics`: a sink the watch loop updates on its tick.
// The exposer's own thread only reads them (gauges and counters are atomic), never the model.
#pragma once

#include "cmwq_bpf.h"
#include "model.h"
#include "watchdog.h"

#include <cstdint>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

namespace prometheus {
class Counter;
class Exposer;
class Gauge;
class Registry;
template <typename T>
class Family;
}  // namespace prometheus

namespace wqscope {

/// A --metrics value that is not PORT or ADDRESS:PORT.
struct MetricsUsageError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// The metrics cannot be served there (the address is in use or not this machine's).
struct MetricsError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

/// "PORT" (meaning 127.0.0.1:PORT) or "ADDRESS:PORT" with a numeric IPv4 or [IPv6] address, as the
/// exposer binds it. Throws MetricsUsageError naming what is wrong.
std::string metrics_address(const std::string& arg);

class Metrics {
 public:
  /// Serves /metrics at `address` (from metrics_address) at once; throws MetricsError.
  explicit Metrics(const std::string& address);
  ~Metrics();
  Metrics(const Metrics&) = delete;
  Metrics& operator=(const Metrics&) = delete;

  void update(const Model&, const cmwq_bpf_stats&, std::int64_t now);
  void on_alert(const Alert&);

 private:
  struct PoolGauges {
    std::string identity;  // part of the labels: a pool whose flags change gets new series
    prometheus::Gauge *pending, *nr_running, *nr_workers, *nr_idle, *hung;
  };
  void remove(const PoolGauges&);

  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Family<prometheus::Gauge> *pending_, *nr_running_, *nr_workers_, *nr_idle_, *hung_, *in_flight_;
  prometheus::Family<prometheus::Counter>* alerts_;
  prometheus::Counter *received_, *dropped_, *lost_;
  std::uint64_t received_seen_ = 0, dropped_seen_ = 0, lost_seen_ = 0;  // counters grow by the difference
  std::map<int, PoolGauges> pools_;
  std::map<std::string, prometheus::Gauge*> workqueues_;
  std::unique_ptr<prometheus::Exposer> exposer_;  // last: it stops serving before the metrics go
};

}  // namespace wqscope
