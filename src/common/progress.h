// Progress of long work on the terminal: "produce  1,234,567 events  812,345/s  ETA 0:12".
// Redraws at most a few times a second on stderr when it is a terminal; otherwise prints a line every
// few seconds, so logs of non-interactive runs still show progress. One thread updates a Progress.
#pragma once

#include <cstdint>
#include <string>

namespace hrflow {

class Progress {
 public:
  // `total` = 0 when unknown (no ETA). `unit` names what is counted ("events", "rows", "files").
  Progress(std::string label, std::string unit, uint64_t total = 0, bool enabled = true);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  void add(uint64_t n) { update(done_ + n); }
  void update(uint64_t done);
  void set_total(uint64_t total) { total_ = total; }
  void set_detail(std::string detail) { detail_ = std::move(detail); }
  // Print a message line on stderr (even when disabled) without mangling a bar drawn on the terminal;
  // the bar is drawn again below it at the next update.
  void note(const std::string& line);
  // Print the final line (count, average rate, elapsed time).
  void finish();
  uint64_t done() const { return done_; }
  double elapsed_seconds() const;

 private:
  void draw(bool final_line);
  std::string label_, unit_, detail_;
  uint64_t total_, done_ = 0;
  bool enabled_, tty_, finished_ = false;
  int64_t start_ms_, last_draw_ms_ = 0;
};

// "1,234,567"
std::string with_thousands(uint64_t n);

}  // namespace hrflow
