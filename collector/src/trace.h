// Every stream's model. A stream is one System of the traced process (or the kernel's own
// workqueues) with its own pools, workqueues and ids; a recording numbers its streams from 1.
// Stream 0 carries the kernel's off/on-CPU records of the target's threads: they go to every
// model, and each takes those of its own workers.
#pragma once

#include "model.h"

#include <functional>
#include <map>

namespace wqscope {

/// The stream id the kernel's off/on-CPU records go under: every System of the target's.
constexpr int kSchedStream = 0;

class Trace {
 public:
  /// Called when a stream's model is made, before its first record: to add observers.
  using OnNew = std::function<void(int stream, Model&)>;
  explicit Trace(OnNew on_new = {}) : on_new_(std::move(on_new)) {}

  /// The models a record of `stream` is for: `f(id, model)` for each.
  template <class F>
  void route(int stream, F&& f) {
    if (stream != kSchedStream) return f(stream, model(stream));
    for (auto& [id, m] : models_) f(id, m);
  }
  void apply(int stream, const cmwq::Record& r) {
    route(stream, [&](int, Model& m) { m.apply(r); });
  }
  /// The stream's model, made on first use.
  Model& model(int stream) {
    if (stream == last_.stream) return *last_.model;  // a batch's records are all of one stream
    auto [it, added] = models_.try_emplace(stream);
    if (added && on_new_) on_new_(stream, it->second);
    last_.stream = stream;
    last_.model = &it->second;
    return it->second;
  }
  std::map<int, Model>& models() { return models_; }
  const std::map<int, Model>& models() const { return models_; }
  /// The first stream's model (an empty one if there is none yet): what a single view shows.
  const Model& primary() const {
    static const Model empty;
    return models_.empty() ? empty : models_.begin()->second;
  }
  std::uint64_t records() const { return sum(&Model::records); }
  std::uint64_t lost() const { return sum(&Model::lost); }
  std::int64_t last_ts() const {
    std::int64_t t = 0;
    for (auto& [id, m] : models_) t = std::max(t, m.last_ts());
    return t;
  }

 private:
  std::uint64_t sum(std::uint64_t (Model::*f)() const) const {
    std::uint64_t n = 0;
    for (auto& [id, m] : models_) n += (m.*f)();
    return n;
  }
  /// The stream model() found last. Not carried by a copy or a move (it points into this models_).
  struct Last {
    int stream = -1;  // no stream is negative
    Model* model = nullptr;
    Last() = default;
    Last(const Last&) {}
    Last& operator=(const Last&) {
      stream = -1;
      model = nullptr;
      return *this;
    }
  };
  OnNew on_new_;
  std::map<int, Model> models_;  // std::map: observers hold references to the models
  Last last_;
};

}  // namespace wqscope
