#include "loader.h"

#include "series.h"

namespace wqgui {

template <class F>
void Loader::guarded(F&& f) {
  try {
    f();
  } catch (const std::exception& e) {
    tables_.reset();
    reader_.reset();
    tail_.reset();
    live_series_.reset();
    Q_EMIT failed(QString::fromStdString(e.what()));
  }
  Q_EMIT done();
}

void Loader::open() {
  guarded([&] {
    bool fresh = !reader_;  // first open, or back after a failure
    tables_.reset();
    reader_ = std::make_unique<wqscope::RecordingReader>(path_.toStdString());
    tables_ = std::make_unique<Tables>(*reader_);
    // A finished recording lasts until it ended, which may be after its last record.
    Extent e{reader_->run(), reader_->run().started_ns, std::max(reader_->last_ns(), reader_->run().ended_ns)};
    bool grew = e.end_ns != extent_.end_ns || e.run.end_reason != extent_.run.end_reason;
    extent_ = e;
    if (!grew && !fresh) return;
    Q_EMIT extentChanged(extent_);
    Q_EMIT alertsChanged(tables_->alerts());
  });
}

void Loader::seek(qint64 at) {
  guarded([&] {
    if (!reader_) return;
    // The views show the first stream (the first System of the process, or the kernel's).
    auto model = std::make_shared<wqscope::Model>();
    if (at != extent_.end_ns) {
      wqscope::Trace trace;
      reader_->state_at(trace, at);
      *model = trace.primary();
    } else {  // the newest instant: on from the last one shown (a live view), the records since then only
      if (tail_ && tail_->pos.at <= at) tail_->pos = reader_->advance(tail_->trace, tail_->pos, at);
      else tail_.emplace(), tail_->pos = reader_->state_at(tail_->trace, at);
      *model = tail_->trace.primary();
    }
    State s{model, at, extent_.start_ns, {}, {}};
    // A fresh watchdog at `at` reports every pool and workqueue stuck for its threshold by then.
    wqscope::Watchdog dog(thresh_);
    for (wqscope::Alert& a : dog.check(*model, at))
      if (wqscope::is_stuck(a.kind)) s.stuck.push_back(std::move(a));
    for (wqscope::WorkInstance& w : model->open_instances()) s.queued.emplace(w.work, std::move(w));
    Q_EMIT stateReady(s);
  });
}

void Loader::sample() {
  guarded([&] {
    if (!reader_) return;
    // Being written: followed, the records since the last sample only; finished and opened so: at once.
    if (extent_.run.end_reason.empty() && !live_series_) live_series_.emplace(extent_.start_ns);
    Q_EMIT seriesReady(live_series_ ? live_series_->extend(*reader_, extent_.end_ns)
                                    : sampleSeries(*reader_, extent_.start_ns, extent_.end_ns));
    Q_EMIT barsReady(tables_->bars(extent_.start_ns, extent_.end_ns));
  });
}

}  // namespace wqgui
