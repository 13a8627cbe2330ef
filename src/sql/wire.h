// The PostgreSQL v3 wire format: a client connection (plain TCP or TLS through OpenSSL), the message
// reader and the buffered message writer. Integers are big-endian; strings are NUL-terminated.
//
// Thread-safety: a Conn belongs to the session thread that reads and writes it; TlsContext is shared
// read-only by every session.
#pragma once

#include <openssl/ssl.h>

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"

namespace hrflow::sql {

// A server certificate and key (PEM files), loaded once.
class TlsContext {
 public:
  static Result<std::shared_ptr<TlsContext>> load(const std::string& cert_file, const std::string& key_file);
  ~TlsContext();
  TlsContext(const TlsContext&) = delete;
  TlsContext& operator=(const TlsContext&) = delete;
  SSL_CTX* get() const { return ctx_; }

 private:
  explicit TlsContext(SSL_CTX* ctx) : ctx_(ctx) {}
  SSL_CTX* ctx_;
};

// One accepted socket, owned (closed on destruction), optionally upgraded to TLS.
class Conn {
 public:
  explicit Conn(int fd) : fd_(fd) {}
  ~Conn();
  Conn(const Conn&) = delete;
  Conn& operator=(const Conn&) = delete;

  Status start_tls(const TlsContext& tls);
  bool tls() const { return ssl_ != nullptr; }
  // Exactly n bytes, or an error (peer closed, timeout, TLS failure).
  Status read_exact(char* out, size_t n);
  Status write_all(std::string_view data);
  int fd() const { return fd_; }
  // Bytes already read from the socket but not yet consumed (a client may not pipeline data right
  // after SSLRequest: that would be a downgrade attack).
  bool has_buffered() const;

 private:
  int fd_;
  SSL* ssl_ = nullptr;
};

// A message body being read: bounds-checked accessors, errors as the protocol violations they are.
class Reader {
 public:
  explicit Reader(std::string_view body) : b_(body) {}
  Result<int32_t> i32();
  Result<int16_t> i16();
  Result<uint8_t> byte();
  Result<std::string> cstr();
  Result<std::string_view> bytes(size_t n);
  size_t remaining() const { return b_.size() - at_; }

 private:
  std::string_view b_;
  size_t at_ = 0;
};

// Messages are appended to one buffer and sent by flush(): a result of many rows goes out in few
// writes, and the buffer stays below `flush_at` bytes (the caller flushes when full()).
class Writer {
 public:
  explicit Writer(size_t flush_at = 256 * 1024) : flush_at_(flush_at) {}
  // Start a message of `type` ('\0' for the untyped SSL answer bytes is not used: see raw()).
  void begin(char type);
  void i32(int32_t v);
  void i16(int16_t v);
  void byte(uint8_t v) { buf_.push_back(static_cast<char>(v)); }
  void cstr(std::string_view s);
  void bytes(std::string_view s) { buf_.append(s); }
  void end();  // patches the length of the message begun last
  void raw(std::string_view s) { buf_.append(s); }
  bool full() const { return buf_.size() >= flush_at_; }
  Status flush(Conn& conn);
  size_t size() const { return buf_.size(); }
  // Direct access for encoders that append a value and patch its length afterwards.
  std::string& buffer() { return buf_; }
  void patch_i32(size_t at, int32_t v) {
    uint32_t u = static_cast<uint32_t>(v);
    buf_[at] = char(u >> 24);
    buf_[at + 1] = char(u >> 16);
    buf_[at + 2] = char(u >> 8);
    buf_[at + 3] = char(u);
  }

 private:
  std::string buf_;
  size_t start_ = 0;
  size_t flush_at_;
};

// SQLSTATE-carrying error as sent in ErrorResponse.
struct SqlError {
  std::string sqlstate;  // e.g. 42601
  std::string message;
  std::string hint;
  std::string severity = "ERROR";
};
void write_error(Writer& w, const SqlError& e);
void write_notice(Writer& w, const std::string& message);

}  // namespace hrflow::sql
