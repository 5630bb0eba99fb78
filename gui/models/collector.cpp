#include "collector.h"

#include "untrusted.h"

#include <QCoreApplication>
#include <QDateTime>
#include <QDir>
#include <QFileInfo>
#include <QStandardPaths>

#include <optional>
#include <string_view>
#include <unistd.h>

namespace wqgui {

namespace {

struct Privilege {
  QStringList prefix;
  QString how;
};

/// How the collector gets root: it has it, or pkexec (asks in a dialog), or sudo -n (never asks).
std::optional<Privilege> privilege() {
  if (::geteuid() == 0) return Privilege{{}, QStringLiteral("as root")};
  if (QString p = QStandardPaths::findExecutable(QStringLiteral("pkexec")); !p.isEmpty())
    return Privilege{{p}, QStringLiteral("through pkexec")};
  if (QString s = QStandardPaths::findExecutable(QStringLiteral("sudo")); !s.isEmpty())
    return Privilege{{s, QStringLiteral("-n")}, QStringLiteral("through sudo -n")};
  return std::nullopt;
}

}  // namespace

Collector::Collector(QString wqscope, Target target, QString db, QObject* parent)
    : QObject(parent), wqscope_(std::move(wqscope)), db_(std::move(db)), target_(std::move(target)) {
  // The target's stdout goes where ours goes; stderr (the collector's and the target's) to the window.
  process_.setProcessChannelMode(QProcess::ForwardedOutputChannel);
  connect(&process_, &QProcess::readyReadStandardError, this, &Collector::onReadable);
  connect(&process_, &QProcess::finished, this, &Collector::onFinished);
  connect(&process_, &QProcess::errorOccurred, this, [this](QProcess::ProcessError e) {
    if (e == QProcess::FailedToStart)
      Q_EMIT failed(tr("Cannot start the collector (%1 %2): %3").arg(wqscope_, how_, process_.errorString()));
  });
}

Collector::~Collector() {
  stop();
  process_.waitForFinished(5000);
}

QString Collector::locate() {
  QString here = QDir(QCoreApplication::applicationDirPath()).filePath(QStringLiteral("wqscope"));
  if (QFileInfo(here).isExecutable()) return here;
  return QStandardPaths::findExecutable(QStringLiteral("wqscope"));
}

QString Collector::freshRecordingPath() {
  QString dir = qEnvironmentVariable("XDG_RUNTIME_DIR");
  if (dir.isEmpty() || !QFileInfo(dir).isWritable()) dir = QDir::tempPath();
  QString stamp = QDateTime::currentDateTime().toString(QStringLiteral("yyyyMMdd-HHmmss"));
  for (int n = 0;; ++n) {
    QString path = QDir(dir).filePath(QStringLiteral("wqscope-%1-%2%3.db")
                                          .arg(stamp)
                                          .arg(QCoreApplication::applicationPid())
                                          .arg(n ? QStringLiteral("-%1").arg(n) : QString()));
    if (!QFileInfo::exists(path)) return path;
  }
}

void Collector::start() {
  if (wqscope_.isEmpty()) {
    Q_EMIT failed(tr("Cannot find the collector: no wqscope next to %1 or on PATH. Install wqscope, or put the "
                     "directory that has it on PATH.")
                      .arg(QCoreApplication::applicationDirPath()));
    return;
  }
  std::optional<Privilege> p = privilege();
  if (!p) {
    Q_EMIT failed(tr("Recording needs root (CAP_BPF and CAP_PERFMON), and neither pkexec nor sudo is installed. "
                     "Start wqscope-gui as root, or record in a root shell:\n\n  wqscope record -o trace.db %1\n\n"
                     "and follow it with: wqscope-gui --live trace.db")
                      .arg(target_.command.isEmpty() ? QStringLiteral("-p %1").arg(target_.pid)
                                                     : QStringLiteral("-- ") + target_.command.join(u' ')));
    return;
  }
  how_ = p->how;
  // wqscope record itself is the privileged program (what a polkit action or a sudoers line can allow,
  // unlike a shell): the end of its stdin stops it as Ctrl-C would, on stop() or when the GUI dies.
  QStringList args = p->prefix;
  args << wqscope_ << QStringLiteral("record") << QStringLiteral("--stop-at-eof") << QStringLiteral("-o") << db_;
  if (target_.command.isEmpty()) args << QStringLiteral("-p") << QString::number(target_.pid);
  else args << QStringLiteral("--") << target_.command;
  QString program = args.takeFirst();
  process_.start(program, args);
}

void Collector::stop() {
  if (running()) process_.closeWriteChannel();
}

namespace {

/// A line of its stderr as text to show: the target's lines are its own bytes (terminal escapes, bidi
/// overrides, invalid UTF-8), escaped as the terminal commands print them.
QString shown(const QByteArray& bytes) {
  QByteArray line = bytes.trimmed();
  return QString::fromStdString(wqscope::printable(std::string_view(line.constData(), line.size())));
}

}  // namespace

void Collector::onReadable() {
  partial_ += process_.readAllStandardError();
  for (qsizetype nl; (nl = partial_.indexOf('\n')) >= 0; partial_.remove(0, nl + 1)) {
    QString line = shown(partial_.left(nl));
    if (line.isEmpty()) continue;
    last_ = line;
    Q_EMIT output(line);
  }
}

void Collector::onFinished(int code, QProcess::ExitStatus status) {
  onReadable();
  if (!partial_.trimmed().isEmpty()) {
    last_ = shown(partial_);
    Q_EMIT output(last_);
  }
  partial_.clear();
  QString why = last_.isEmpty() ? tr("(it said nothing)") : last_;
  if (status == QProcess::CrashExit)
    Q_EMIT finished(false, tr("collector killed (%1): %2").arg(how_, why));
  else if (code == 0)
    Q_EMIT finished(true, tr("collector exited: %1").arg(why));
  else if (how_.contains(QStringLiteral("pkexec")) && (code == 126 || code == 127))
    Q_EMIT finished(false, tr("collector not started: pkexec refused or the password dialog was dismissed (%1). "
                              "Start wqscope-gui as root, or try again.")
                               .arg(why));
  else
    Q_EMIT finished(false, tr("collector exited with status %1 (%2): %3").arg(code).arg(how_, why));
}

}  // namespace wqgui
