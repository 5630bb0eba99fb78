#include "metrics.h"

#include "session.h"

#include <CivetServer.h>
#include <civetweb.h>
#include <fmt/format.h>
#include <prometheus/counter.h>
#include <prometheus/exposer.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cstring>

namespace wqscope {

namespace {

struct Endpoint {
  int family = AF_INET;
  std::string host;  // numeric, without brackets
  unsigned port = 0;
};

Endpoint parse(const std::string& arg) {
  auto bad = [&](const std::string& why) {
    return MetricsUsageError(fmt::format("--metrics '{}': {}", arg, why));
  };
  std::string port;
  Endpoint e;
  if (!arg.empty() && std::all_of(arg.begin(), arg.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    e.host = "127.0.0.1";  // a bare port stays on this machine: exposing it is a choice
    port = arg;
  } else if (arg.starts_with('[')) {
    std::size_t close = arg.find("]:");
    if (close == std::string::npos) throw bad("not [IPV6]:PORT, e.g. [::1]:9464");
    if (!mg_check_feature(MG_FEATURES_IPV6))  // Debian builds civetweb without
      throw bad("the web server library (civetweb) was built without IPv6: give an IPv4 address, e.g. 0.0.0.0:9464");
    e.family = AF_INET6;
    e.host = arg.substr(1, close - 1);
    port = arg.substr(close + 2);
  } else {
    std::size_t colon = arg.rfind(':');
    if (colon == std::string::npos) throw bad("not PORT or ADDRESS:PORT, e.g. 9464 or 0.0.0.0:9464");
    e.host = arg.substr(0, colon);
    port = arg.substr(colon + 1);
    if (e.host.find(':') != std::string::npos) throw bad("write an IPv6 address in brackets, e.g. [::1]:9464");
  }
  unsigned char buf[sizeof(in6_addr)];
  if (inet_pton(e.family, e.host.c_str(), buf) != 1)
    throw bad(fmt::format("'{}' is not a numeric IP address (e.g. 127.0.0.1, 0.0.0.0 or [::1])", e.host));
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), e.port);
  if (port.empty() || ec != std::errc() || end != port.data() + port.size() || e.port < 1 || e.port > 65535)
    throw bad(fmt::format("port '{}' is not a number from 1 to 65535", port));
  return e;
}

std::string civetweb_address(const Endpoint& e) {
  return e.family == AF_INET6 ? fmt::format("[{}]:{}", e.host, e.port) : fmt::format("{}:{}", e.host, e.port);
}

/// Why civetweb could not listen (it only says that it could not): the same bind on a socket of ours.
std::string bind_failure(const Endpoint& e) {
  sockaddr_storage ss{};
  socklen_t len = 0;
  if (e.family == AF_INET6) {
    auto* a = reinterpret_cast<sockaddr_in6*>(&ss);
    a->sin6_family = AF_INET6;
    a->sin6_port = htons(static_cast<std::uint16_t>(e.port));
    inet_pton(AF_INET6, e.host.c_str(), &a->sin6_addr);
    len = sizeof *a;
  } else {
    auto* a = reinterpret_cast<sockaddr_in*>(&ss);
    a->sin_family = AF_INET;
    a->sin_port = htons(static_cast<std::uint16_t>(e.port));
    inet_pton(AF_INET, e.host.c_str(), &a->sin_addr);
    len = sizeof *a;
  }
  int fd = ::socket(e.family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return std::strerror(errno);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);  // as civetweb does
  int err = ::bind(fd, reinterpret_cast<sockaddr*>(&ss), len) == 0 ? 0 : errno;
  ::close(fd);
  return err ? std::strerror(err) : "the web server could not start";
}

/// The web server's threads serve the network: each drops every capability as it starts, before
/// any request (it listens already; capset would only change the thread that calls it).
const CivetCallbacks kDropCapabilities = [] {
  CivetCallbacks c;
  c.init_thread = [](const mg_context*, int) -> void* {
    drop_thread_capabilities();
    return nullptr;
  };
  return c;
}();

}  // namespace

std::string metrics_address(const std::string& arg) { return civetweb_address(parse(arg)); }

Metrics::Metrics(const std::string& address) : registry_(std::make_shared<prometheus::Registry>()) {
  auto gauge = [&](const char* name, const char* help) {
    return &prometheus::BuildGauge().Name(name).Help(help).Register(*registry_);
  };
  auto counter = [&](const char* name, const char* help) {
    return &prometheus::BuildCounter().Name(name).Help(help).Register(*registry_);
  };
  pending_ = gauge("wqscope_pool_pending", "Work items waiting on the pool's worklist");
  nr_running_ = gauge("wqscope_pool_nr_running", "Workers of the pool running, not sleeping (concurrency management)");
  nr_workers_ = gauge("wqscope_pool_nr_workers", "Workers of the pool");
  nr_idle_ = gauge("wqscope_pool_nr_idle", "Idle workers of the pool");
  hung_ = gauge("wqscope_pool_hung_seconds",
                "Seconds since the pool last made progress while work waits on its worklist, else 0 "
                "(hung= in the kernel's busy-pool dump)");
  in_flight_ = gauge("wqscope_workqueue_in_flight", "Work items of the workqueue started and not yet ended");
  std::string kinds;
  for (const AlertKindInfo& k : kAlertKinds) kinds += fmt::format("{}{}", kinds.empty() ? "" : ", ", k.name);
  alerts_ = counter("wqscope_alerts_total", fmt::format("Alerts raised, by kind: {}", kinds).c_str());
  for (const AlertKindInfo& k : kAlertKinds) alerts_->Add({{"kind", std::string(k.name)}});  // present at 0, for rate()
  received_ = &counter("wqscope_events_received_total", "Events received from the target")->Add({});
  dropped_ = &counter("wqscope_events_dropped_total", "Events the BPF ring buffer could not take (reader too slow)")
                  ->Add({});
  lost_ = &counter("wqscope_events_lost_total", "Events missing from the sequence numbers of the stream")->Add({});
  Endpoint e = parse(address);
  try {
    // Two threads (the default): one slow client does not hold up a scrape.
    exposer_ = std::make_unique<prometheus::Exposer>(civetweb_address(e), 2, &kDropCapabilities);
  } catch (const std::exception&) {
    throw MetricsError(fmt::format("--metrics {}: cannot listen there: {} (choose another port or address)",
                                   address, bind_failure(e)));
  }
  exposer_->RegisterCollectable(registry_);
}

Metrics::~Metrics() = default;

void Metrics::remove(const PoolGauges& g) {
  pending_->Remove(g.pending);
  nr_running_->Remove(g.nr_running);
  nr_workers_->Remove(g.nr_workers);
  nr_idle_->Remove(g.nr_idle);
  hung_->Remove(g.hung);
}

void Metrics::update(const Model& model, const cmwq_bpf_stats& st, std::int64_t now) {
  auto grow = [](prometheus::Counter* c, std::uint64_t& seen, std::uint64_t total) {
    if (total > seen) c->Increment(static_cast<double>(total - seen));
    seen = std::max(seen, total);
  };
  grow(received_, received_seen_, model.records());
  grow(dropped_, dropped_seen_, st.dropped_events);
  grow(lost_, lost_seen_, model.lost());

  for (auto& [id, p] : model.pools()) {
    std::string identity = model.pool_identity(p);
    if (identity.starts_with(' ')) identity.erase(0, 1);
    auto it = pools_.find(id);
    if (it != pools_.end() && it->second.identity != identity) {
      remove(it->second);
      pools_.erase(it);
      it = pools_.end();
    }
    if (it == pools_.end()) {
      prometheus::Labels l{{"pool", std::to_string(id)}, {"identity", identity}};
      it = pools_.emplace(id, PoolGauges{identity, &pending_->Add(l), &nr_running_->Add(l), &nr_workers_->Add(l),
                                         &nr_idle_->Add(l), &hung_->Add(l)})
               .first;
    }
    PoolGauges& g = it->second;
    g.pending->Set(p.pending);
    g.nr_running->Set(p.nr_running);
    g.nr_workers->Set(p.nr_workers);
    g.nr_idle->Set(p.nr_idle);
    g.hung->Set(static_cast<double>(p.hung_ns(now)) / 1e9);
  }

  // By name, as people know them; a destroyed workqueue's series goes.
  std::map<std::string, int> in_flight;
  for (auto& [id, wq] : model.workqueues())
    if (wq.destroyed_ns < 0) in_flight[wq.name.empty() ? fmt::format("#{}", id) : wq.name] += wq.in_flight;
  std::erase_if(workqueues_, [&](auto& kv) {
    if (in_flight.contains(kv.first)) return false;
    in_flight_->Remove(kv.second);
    return true;
  });
  for (auto& [name, n] : in_flight) {
    auto [it, added] = workqueues_.try_emplace(name, nullptr);
    if (added) it->second = &in_flight_->Add({{"workqueue", name}});
    it->second->Set(n);
  }
}

void Metrics::on_alert(const Alert& a) { alerts_->Add({{"kind", std::string(name(a.kind))}}).Increment(); }

}  // namespace wqscope
