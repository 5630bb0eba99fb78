// The collector as the GUI's child: `wqscope record` in its own process, with
// the privilege BPF needs (directly as root, else through pkexec or sudo -n),
// writing a recording that a live Session follows. Its stderr and its exit
// arrive as signals; it is stopped by closing its stdin (a root process the
// GUI may not signal still gets SIGINT, and so does it if the GUI is killed).
#pragma once

#include <QObject>
#include <QProcess>
#include <QStringList>

namespace wqgui {

class Collector : public QObject {
  Q_OBJECT
 public:
  struct Target {
    int pid = 0;           // attach to this process, or
    QStringList command;   // start this command
  };
  /// `wqscope`: the collector binary (see locate()); `db`: the recording to create.
  Collector(QString wqscope, Target, QString db, QObject* parent = nullptr);
  /// Stops it and gives it a few seconds to close the recording (no window is left to block by then).
  ~Collector() override;

  /// `wqscope` next to this program, else on PATH; empty if neither.
  static QString locate();
  /// A new file name for a recording in $XDG_RUNTIME_DIR (else the temp dir), not yet existing.
  static QString freshRecordingPath();

  /// Starts it; failed() at once if it cannot be (no collector, no way to get privileges).
  void start();
  /// Asks it to finish the recording (SIGINT through its stdin); finished() follows.
  void stop();
  bool running() const { return process_.state() != QProcess::NotRunning; }
  const QString& db() const { return db_; }
  /// How it runs: "as root", "through pkexec", "through sudo -n".
  const QString& how() const { return how_; }

 Q_SIGNALS:
  /// One line of its stderr (and of its target's), escaped (untrusted.h's printable()): plain text.
  void output(const QString& line);
  /// It could not be started: what is wrong and what to do.
  void failed(const QString& message);
  /// It ended; `ok` when it exited with status 0.
  void finished(bool ok, const QString& message);

 private:
  void onReadable();
  void onFinished(int code, QProcess::ExitStatus status);

  QString wqscope_, db_, how_, last_;
  Target target_;
  QProcess process_;
  QByteArray partial_;  // a stderr line not yet ended
};

}  // namespace wqgui
