// Byte sources for the readers: a plain file, or one entry of a zip archive inflated on the fly
// (zlib raw inflate; the entry is found through the archive's central directory, zip64 included, so
// a multi-gigabyte export.xml inside export.zip is never unpacked to disk or memory).
//
// Memory: the caller's buffer plus zlib's window and one compressed-input buffer.
// Lifecycle: open, read until 0, destroy. One thread.
#pragma once

#include <zlib.h>

#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "common/status.h"

namespace hrflow::import {

// A FILE* that closes itself.
struct FileCloser {
  void operator()(std::FILE* f) const {
    if (f) std::fclose(f);
  }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Up to `n` bytes into `buf`; 0 at the end.
  virtual Result<size_t> read(char* buf, size_t n) = 0;
  // Bytes of the underlying file consumed so far (compressed bytes for a zip entry), for progress.
  virtual uint64_t position() const = 0;
  // What to call this input in messages: "export.zip:apple_health_export/export.xml".
  virtual std::string name() const = 0;
};

// Open `path` as it is.
Result<std::unique_ptr<ByteSource>> open_file(const std::filesystem::path& path, size_t buffer_bytes);

// Open the entry of the zip archive `path` whose name is `entry` or ends in "/" + `entry`.
Result<std::unique_ptr<ByteSource>> open_zip_entry(const std::filesystem::path& path, const std::string& entry,
                                                   size_t buffer_bytes);

// Lines of a source, one at a time, with their number and byte offset. A line longer than the
// buffer grows it to that line's length (a JSON record must be held whole to be parsed).
class LineReader {
 public:
  LineReader(ByteSource& src, size_t buffer_bytes) : src_(src), buf_(std::max<size_t>(buffer_bytes, 4096)) {}
  // The next line without its newline (and without a trailing \r); false at the end.
  Result<bool> next(std::string_view& line);
  int64_t line_number() const { return line_no_; }  // of the line last returned, 1-based
  int64_t line_offset() const { return line_off_; }  // byte offset of its first byte

 private:
  ByteSource& src_;
  std::vector<char> buf_;
  size_t begin_ = 0, end_ = 0;
  int64_t consumed_ = 0;  // bytes before buf_[0]
  int64_t line_no_ = 0, line_off_ = 0;
  bool eof_ = false;
};

// True when the file starts with a zip local-file signature ("PK\3\4").
bool is_zip(const std::filesystem::path& path);

}  // namespace hrflow::import
