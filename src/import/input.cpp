#include "import/input.h"

#include <cerrno>
#include <cstring>

namespace hrflow::import {

namespace {

uint16_t le16(const unsigned char* p) { return static_cast<uint16_t>(p[0] | (p[1] << 8)); }
uint32_t le32(const unsigned char* p) { return uint32_t{p[0]} | (uint32_t{p[1]} << 8) | (uint32_t{p[2]} << 16) | (uint32_t{p[3]} << 24); }
uint64_t le64(const unsigned char* p) { return uint64_t{le32(p)} | (uint64_t{le32(p + 4)} << 32); }

class FileSource : public ByteSource {
 public:
  FileSource(FilePtr f, std::string name) : f_(std::move(f)), name_(std::move(name)) {}
  Result<size_t> read(char* buf, size_t n) override {
    const size_t got = std::fread(buf, 1, n, f_.get());
    if (got < n && std::ferror(f_.get())) return io_error("reading {}: {}", name_, std::strerror(errno));
    pos_ += got;
    return got;
  }
  uint64_t position() const override { return pos_; }
  std::string name() const override { return name_; }

 private:
  FilePtr f_;
  std::string name_;
  uint64_t pos_ = 0;
};

// A zlib stream in a move-only holder: inflateEnd on destruction.
class Inflater {
 public:
  Inflater() = default;
  Inflater(const Inflater&) = delete;
  Inflater& operator=(const Inflater&) = delete;
  ~Inflater() {
    if (initialized_) inflateEnd(&z_);
  }
  Status init() {
    std::memset(&z_, 0, sizeof z_);
    if (inflateInit2(&z_, -MAX_WBITS) != Z_OK) return make_error(ErrorKind::kInternal, "zlib inflateInit2 failed");
    initialized_ = true;
    return {};
  }
  z_stream& z() { return z_; }

 private:
  z_stream z_{};
  bool initialized_ = false;
};

class ZipEntrySource : public ByteSource {
 public:
  ZipEntrySource(FilePtr f, std::string name, uint64_t data_start, uint64_t compressed, int method, size_t buffer)
      : f_(std::move(f)), name_(std::move(name)), start_(data_start), remaining_(compressed), method_(method), in_(buffer) {}
  Status init() { return method_ == 8 ? inflater_.init() : Status{}; }

  Result<size_t> read(char* buf, size_t n) override {
    if (method_ == 0) {  // stored
      const size_t want = static_cast<size_t>(std::min<uint64_t>(n, remaining_));
      const size_t got = std::fread(buf, 1, want, f_.get());
      if (got < want) return corrupt("{}: the archive ends inside the entry (truncated download?)", name_);
      remaining_ -= got;
      consumed_ += got;
      return got;
    }
    if (done_) return size_t{0};
    z_stream& z = inflater_.z();
    z.next_out = reinterpret_cast<Bytef*>(buf);
    z.avail_out = static_cast<uInt>(n);
    while (z.avail_out == n) {
      if (z.avail_in == 0) {
        const size_t want = static_cast<size_t>(std::min<uint64_t>(in_.size(), remaining_));
        if (want == 0) return corrupt("{}: the compressed data ends before the entry does (truncated archive?)", name_);
        const size_t got = std::fread(in_.data(), 1, want, f_.get());
        if (got == 0) return corrupt("{}: the archive ends inside the entry (truncated download?)", name_);
        remaining_ -= got;
        consumed_ += got;
        z.next_in = reinterpret_cast<Bytef*>(in_.data());
        z.avail_in = static_cast<uInt>(got);
      }
      const int rc = inflate(&z, Z_NO_FLUSH);
      if (rc == Z_STREAM_END) {
        done_ = true;
        break;
      }
      if (rc != Z_OK && rc != Z_BUF_ERROR) {
        return corrupt("{}: damaged compressed data near byte {} of the archive ({}); the export cannot be read past it",
                       name_, start_ + consumed_, z.msg ? z.msg : "inflate error");
      }
    }
    return n - z.avail_out;
  }
  uint64_t position() const override { return start_ + consumed_; }
  std::string name() const override { return name_; }

 private:
  FilePtr f_;
  std::string name_;
  uint64_t start_, remaining_, consumed_ = 0;
  int method_;
  std::vector<char> in_;
  Inflater inflater_;
  bool done_ = false;
};

}  // namespace

Result<std::unique_ptr<ByteSource>> open_file(const std::filesystem::path& path, size_t buffer_bytes) {
  FilePtr f(std::fopen(path.c_str(), "rb"));
  if (!f) return Error{ErrorKind::kNotFound, fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)), false};
  std::setvbuf(f.get(), nullptr, _IOFBF, std::max<size_t>(buffer_bytes, 4096));
  return std::unique_ptr<ByteSource>(std::make_unique<FileSource>(std::move(f), path.string()));
}

bool is_zip(const std::filesystem::path& path) {
  FilePtr f(std::fopen(path.c_str(), "rb"));
  unsigned char sig[4] = {};
  return f && std::fread(sig, 1, 4, f.get()) == 4 && le32(sig) == 0x04034b50;
}

Result<std::unique_ptr<ByteSource>> open_zip_entry(const std::filesystem::path& path, const std::string& entry,
                                                   size_t buffer_bytes) {
  FilePtr f(std::fopen(path.c_str(), "rb"));
  if (!f) return Error{ErrorKind::kNotFound, fmt::format("cannot open {}: {}", path.string(), std::strerror(errno)), false};
  const std::string file = path.string();
  auto bad = [&](std::string_view what) {
    return corrupt("{} is not a readable zip archive ({}); unpack it and pass the export.xml instead", file, what);
  };
  // End of central directory: the last 22..65557 bytes.
  if (std::fseek(f.get(), 0, SEEK_END) != 0) return bad("cannot seek");
  const int64_t size = std::ftell(f.get());
  const int64_t tail = std::min<int64_t>(size, 65557);
  std::vector<unsigned char> t(static_cast<size_t>(tail));
  std::fseek(f.get(), size - tail, SEEK_SET);
  if (std::fread(t.data(), 1, t.size(), f.get()) != t.size()) return bad("cannot read its end");
  int64_t eocd = -1;
  for (int64_t i = tail - 22; i >= 0; --i) {
    if (le32(&t[static_cast<size_t>(i)]) == 0x06054b50) {
      eocd = i;
      break;
    }
  }
  if (eocd < 0) return bad("no end-of-central-directory record: truncated?");
  uint64_t entries = le16(&t[static_cast<size_t>(eocd) + 10]);
  uint64_t cd_size = le32(&t[static_cast<size_t>(eocd) + 12]);
  uint64_t cd_offset = le32(&t[static_cast<size_t>(eocd) + 16]);
  if ((cd_offset == 0xFFFFFFFF || entries == 0xFFFF || cd_size == 0xFFFFFFFF) && eocd >= 20 &&
      le32(&t[static_cast<size_t>(eocd) - 20]) == 0x07064b50) {  // zip64 locator
    const uint64_t z64 = le64(&t[static_cast<size_t>(eocd) - 20 + 8]);
    unsigned char r[56];
    std::fseek(f.get(), static_cast<long>(z64), SEEK_SET);
    if (std::fread(r, 1, 56, f.get()) != 56 || le32(r) != 0x06064b50) return bad("damaged zip64 directory");
    entries = le64(r + 32);
    cd_size = le64(r + 40);
    cd_offset = le64(r + 48);
  }
  std::vector<unsigned char> cd(static_cast<size_t>(cd_size));
  std::fseek(f.get(), static_cast<long>(cd_offset), SEEK_SET);
  if (std::fread(cd.data(), 1, cd.size(), f.get()) != cd.size()) return bad("cannot read the central directory");
  size_t p = 0;
  for (uint64_t e = 0; e < entries && p + 46 <= cd.size(); ++e) {
    if (le32(&cd[p]) != 0x02014b50) return bad("damaged central directory");
    const int method = le16(&cd[p + 10]);
    uint64_t comp = le32(&cd[p + 20]), uncomp = le32(&cd[p + 24]);
    const uint16_t name_len = le16(&cd[p + 28]), extra_len = le16(&cd[p + 30]), comment_len = le16(&cd[p + 32]);
    uint64_t local = le32(&cd[p + 42]);
    if (p + 46 + name_len + extra_len > cd.size()) return bad("damaged central directory");
    const std::string name(reinterpret_cast<const char*>(&cd[p + 46]), name_len);
    // zip64 extended information: the 0xFFFFFFFF fields, in order
    for (size_t x = p + 46 + name_len; x + 4 <= p + 46 + name_len + extra_len;) {
      const uint16_t id = le16(&cd[x]), len = le16(&cd[x + 2]);
      if (id == 0x0001) {
        size_t q = x + 4;
        if (uncomp == 0xFFFFFFFF && q + 8 <= x + 4 + len) uncomp = le64(&cd[q]), q += 8;
        if (comp == 0xFFFFFFFF && q + 8 <= x + 4 + len) comp = le64(&cd[q]), q += 8;
        if (local == 0xFFFFFFFF && q + 8 <= x + 4 + len) local = le64(&cd[q]);
      }
      x += 4 + len;
    }
    p += 46 + name_len + extra_len + comment_len;
    const bool match = name == entry || (name.size() > entry.size() && name.compare(name.size() - entry.size() - 1,
                                                                                   std::string::npos, "/" + entry) == 0);
    if (!match) continue;
    if (method != 0 && method != 8) {
      return invalid_argument("{}: entry {} uses compression method {} (only stored and deflate are read); unpack it "
                              "and pass {} instead",
                              file, name, method, entry);
    }
    unsigned char lh[30];
    std::fseek(f.get(), static_cast<long>(local), SEEK_SET);
    if (std::fread(lh, 1, 30, f.get()) != 30 || le32(lh) != 0x04034b50) return bad("damaged local header");
    const uint64_t data = local + 30 + le16(lh + 26) + le16(lh + 28);
    std::fseek(f.get(), static_cast<long>(data), SEEK_SET);
    std::setvbuf(f.get(), nullptr, _IONBF, 0);  // we read in buffer-sized blocks ourselves
    auto src = std::make_unique<ZipEntrySource>(std::move(f), file + ":" + name, data, comp, method,
                                                std::max<size_t>(buffer_bytes, 4096));
    HRFLOW_TRY(src->init());
    return std::unique_ptr<ByteSource>(std::move(src));
  }
  return Error{ErrorKind::kNotFound,
               fmt::format("{} holds no {} (an Apple Health export.zip has apple_health_export/export.xml)", file, entry),
               false};
}

Result<bool> LineReader::next(std::string_view& line) {
  for (;;) {
    const char* nl = static_cast<const char*>(std::memchr(buf_.data() + begin_, '\n', end_ - begin_));
    if (nl || (eof_ && end_ > begin_)) {
      const size_t stop = nl ? static_cast<size_t>(nl - buf_.data()) : end_;
      size_t len = stop - begin_;
      if (len && buf_[begin_ + len - 1] == '\r') --len;
      line = std::string_view(buf_.data() + begin_, len);
      line_off_ = consumed_ + static_cast<int64_t>(begin_);
      ++line_no_;
      begin_ = nl ? stop + 1 : end_;
      return true;
    }
    if (eof_) return false;
    // Keep the partial line, at the start of the buffer; grow when it fills the buffer.
    if (begin_ > 0) {
      std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
      consumed_ += static_cast<int64_t>(begin_);
      end_ -= begin_;
      begin_ = 0;
    }
    if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
    HRFLOW_ASSIGN_OR_RETURN(const size_t n, src_.read(buf_.data() + end_, buf_.size() - end_));
    if (n == 0) eof_ = true;
    end_ += n;
  }
}

}  // namespace hrflow::import
