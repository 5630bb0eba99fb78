#include "session.h"

namespace wqgui {

namespace {
// Live, the chart is sampled again after this long (it follows the recording: the records since the last
// sample only), or after 10 times what the last sampling took (the worker timeline's bars are queried
// whole), so that it takes at most a tenth of the loader's time from following the newest state.
constexpr qint64 kLiveSampleMs = 250;
constexpr qint64 kLiveSampleShare = 10;
}

Session::Session(const QString& path, Options opt, QObject* parent)
    : QObject(parent), path_(path), opt_(opt), loader_(new Loader(path, opt.thresh_ns)) {
  qRegisterMetaType<Extent>();
  qRegisterMetaType<State>();
  qRegisterMetaType<Series>();
  qRegisterMetaType<std::vector<Bar>>();
  qRegisterMetaType<std::vector<wqscope::Alert>>();
  loader_->moveToThread(&thread_);
  connect(&thread_, &QThread::finished, loader_, &QObject::deleteLater);
  connect(loader_, &Loader::extentChanged, this, &Session::onExtent);
  connect(loader_, &Loader::alertsChanged, this, &Session::alertsChanged);
  connect(loader_, &Loader::stateReady, this, &Session::stateChanged);
  connect(loader_, &Loader::seriesReady, this, &Session::seriesChanged);
  connect(loader_, &Loader::barsReady, this, &Session::barsChanged);
  connect(loader_, &Loader::failed, this, &Session::failed);
  connect(loader_, &Loader::done, this, [this] {
    if (sampling_) sample_cost_ms_ = sampled_.elapsed();
    busy_ = sampling_ = false;
    pump();
  });
  poll_.setInterval(opt.poll_ms);
  connect(&poll_, &QTimer::timeout, this, [this] {
    want_open_ = true;
    pump();
  });
  thread_.start();
}

Session::~Session() {
  thread_.quit();
  thread_.wait();
}

void Session::start(std::optional<std::int64_t> at, bool absolute) {
  first_at_ = at;
  first_absolute_ = absolute;
  want_open_ = true;
  if (opt_.live) poll_.start();
  pump();
}

void Session::seek(std::int64_t at) {
  want_at_ = at;
  pump();
}

void Session::onExtent(const Extent& e) {
  bool first = !opened_;
  opened_ = true;
  extent_ = e;
  Q_EMIT extentChanged(e);
  if (first)
    want_at_ = first_at_ ? std::max(e.start_ns, std::min(first_absolute_ ? *first_at_ : e.start_ns + *first_at_, e.end_ns))
                         : e.end_ns;
  else if (following_) want_at_ = e.end_ns;
  if (first || !sampled_.isValid() || sampled_.elapsed() >= std::max(kLiveSampleMs, kLiveSampleShare * sample_cost_ms_))
    want_series_ = true;
  pump();
}

template <class F>
void Session::send(F&& f) {
  busy_ = true;
  QMetaObject::invokeMethod(loader_, std::forward<F>(f), Qt::QueuedConnection);
}

void Session::pump() {
  if (busy_) return;
  bool loading = true;
  // The state the person asked for first, then the chart, then a look at whether the recording grew.
  if (want_at_ && opened_) {
    std::int64_t at = *want_at_;
    want_at_.reset();
    send([l = loader_, at] { l->seek(at); });
  } else if (want_series_) {
    want_series_ = false;
    sampled_.start();
    send([l = loader_] { l->sample(); });
    sampling_ = true;
  } else if (want_open_) {
    want_open_ = false;
    loading = false;  // a live poll is not worth a progress indicator
    send([l = loader_] { l->open(); });
  } else {
    loading = false;
  }
  if (loading != loading_) Q_EMIT busyChanged(loading_ = loading);
}

}  // namespace wqgui
