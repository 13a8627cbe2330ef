#include "common/progress.h"

#include <fmt/format.h>
#include <unistd.h>

#include <cstdio>

#include "common/clock.h"

namespace hrflow {

std::string with_thousands(uint64_t n) {
  std::string digits = std::to_string(n), out;
  for (size_t i = 0; i < digits.size(); ++i) {
    if (i > 0 && (digits.size() - i) % 3 == 0) out += ',';
    out += digits[i];
  }
  return out;
}

static std::string hms(double seconds) {
  auto s = static_cast<int64_t>(seconds);
  if (s >= 3600) return fmt::format("{}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60);
  return fmt::format("{}:{:02}", s / 60, s % 60);
}

Progress::Progress(std::string label, std::string unit, uint64_t total, bool enabled)
    : label_(std::move(label)),
      unit_(std::move(unit)),
      total_(total),
      enabled_(enabled),
      tty_(isatty(STDERR_FILENO) != 0),
      start_ms_(SystemClock::instance().monotonic_ms()) {}

Progress::~Progress() {
  if (!finished_ && enabled_ && tty_ && last_draw_ms_ != 0) std::fputs("\n", stderr);
}

double Progress::elapsed_seconds() const {
  return static_cast<double>(SystemClock::instance().monotonic_ms() - start_ms_) / 1000.0;
}

void Progress::update(uint64_t done) {
  done_ = done;
  if (!enabled_) return;
  int64_t now = SystemClock::instance().monotonic_ms();
  int64_t interval = tty_ ? 200 : 5000;
  if (now - (last_draw_ms_ == 0 ? start_ms_ : last_draw_ms_) < interval) return;
  last_draw_ms_ = now;
  draw(false);
}

void Progress::draw(bool final_line) {
  double secs = elapsed_seconds();
  double rate = secs > 0 ? static_cast<double>(done_) / secs : 0;
  std::string line = fmt::format("{:<8} {} {}", label_, with_thousands(done_), unit_);
  if (total_ > 0 && !final_line) line += fmt::format(" / {} ({:.0f}%)", with_thousands(total_), 100.0 * done_ / total_);
  line += fmt::format("  {}/s", with_thousands(static_cast<uint64_t>(rate)));
  if (final_line) line += fmt::format("  in {}", hms(secs));
  else if (total_ > done_ && rate > 0) line += fmt::format("  ETA {}", hms(static_cast<double>(total_ - done_) / rate));
  if (!detail_.empty()) line += "  " + detail_;
  if (tty_) fmt::print(stderr, "\r\033[K{}{}", line, final_line ? "\n" : "");
  else fmt::print(stderr, "{}\n", line);
  std::fflush(stderr);
}

void Progress::note(const std::string& line) {
  const bool bar_on_screen = enabled_ && tty_ && last_draw_ms_ != 0 && !finished_;
  fmt::print(stderr, "{}{}\n", bar_on_screen ? "\r\033[K" : "", line);
  std::fflush(stderr);
}

void Progress::finish() {
  if (finished_) return;
  finished_ = true;
  if (enabled_) draw(true);
}

}  // namespace hrflow
