#include "sql/wire.h"

#include <openssl/err.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace hrflow::sql {

namespace {
std::string openssl_error() {
  unsigned long e = ERR_get_error();
  if (e == 0) return "no detail";
  char buf[256];
  ERR_error_string_n(e, buf, sizeof buf);
  return buf;
}
}  // namespace

Result<std::shared_ptr<TlsContext>> TlsContext::load(const std::string& cert_file, const std::string& key_file) {
  SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
  if (!ctx) return make_error(ErrorKind::kInternal, "OpenSSL: cannot create a TLS context: {}", openssl_error());
  std::shared_ptr<TlsContext> out(new TlsContext(ctx));
  SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
  if (SSL_CTX_use_certificate_chain_file(ctx, cert_file.c_str()) != 1) {
    return invalid_argument("serve.sql.tls_cert: cannot load certificate '{}': {}", cert_file, openssl_error());
  }
  if (SSL_CTX_use_PrivateKey_file(ctx, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    return invalid_argument("serve.sql.tls_key: cannot load private key '{}': {}", key_file, openssl_error());
  }
  if (SSL_CTX_check_private_key(ctx) != 1) {
    return invalid_argument("serve.sql.tls_key '{}' does not match serve.sql.tls_cert '{}'", key_file, cert_file);
  }
  return out;
}

TlsContext::~TlsContext() { SSL_CTX_free(ctx_); }

Conn::~Conn() {
  if (ssl_) {
    SSL_shutdown(ssl_);
    SSL_free(ssl_);
  }
  if (fd_ >= 0) ::close(fd_);
}

Status Conn::start_tls(const TlsContext& tls) {
  ssl_ = SSL_new(tls.get());
  if (!ssl_) return make_error(ErrorKind::kInternal, "OpenSSL: {}", openssl_error());
  SSL_set_fd(ssl_, fd_);
  if (SSL_accept(ssl_) != 1) return io_error("TLS handshake failed: {}", openssl_error());
  return {};
}

bool Conn::has_buffered() const { return ssl_ && SSL_pending(ssl_) > 0; }

Status Conn::read_exact(char* out, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r;
    if (ssl_) {
      r = SSL_read(ssl_, out + got, static_cast<int>(n - got));
      if (r <= 0) return io_error("client connection closed (TLS)");
    } else {
      r = ::recv(fd_, out + got, n - got, 0);
      if (r < 0 && errno == EINTR) continue;
      if (r == 0) return io_error("client closed the connection");
      if (r < 0) return io_error("reading from the client: {}", std::strerror(errno));
    }
    got += static_cast<size_t>(r);
  }
  return {};
}

Status Conn::write_all(std::string_view data) {
  size_t sent = 0;
  while (sent < data.size()) {
    ssize_t r;
    if (ssl_) {
      r = SSL_write(ssl_, data.data() + sent, static_cast<int>(data.size() - sent));
      if (r <= 0) return io_error("writing to the client failed (TLS)");
    } else {
      r = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) return io_error("writing to the client: {}", std::strerror(errno));
    }
    sent += static_cast<size_t>(r);
  }
  return {};
}

Result<int32_t> Reader::i32() {
  if (remaining() < 4) return corrupt("protocol violation: message too short (int32 expected)");
  auto p = reinterpret_cast<const unsigned char*>(b_.data() + at_);
  at_ += 4;
  return static_cast<int32_t>((uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3]);
}

Result<int16_t> Reader::i16() {
  if (remaining() < 2) return corrupt("protocol violation: message too short (int16 expected)");
  auto p = reinterpret_cast<const unsigned char*>(b_.data() + at_);
  at_ += 2;
  return static_cast<int16_t>((p[0] << 8) | p[1]);
}

Result<uint8_t> Reader::byte() {
  if (remaining() < 1) return corrupt("protocol violation: message too short (byte expected)");
  return static_cast<uint8_t>(b_[at_++]);
}

Result<std::string> Reader::cstr() {
  size_t end = b_.find('\0', at_);
  if (end == std::string_view::npos) return corrupt("protocol violation: unterminated string");
  std::string s(b_.substr(at_, end - at_));
  at_ = end + 1;
  return s;
}

Result<std::string_view> Reader::bytes(size_t n) {
  if (remaining() < n) return corrupt("protocol violation: value longer than its message");
  auto s = b_.substr(at_, n);
  at_ += n;
  return s;
}

void Writer::begin(char type) {
  buf_.push_back(type);
  start_ = buf_.size();
  buf_.append(4, '\0');
}

void Writer::i32(int32_t v) {
  uint32_t u = static_cast<uint32_t>(v);
  char b[4] = {char(u >> 24), char(u >> 16), char(u >> 8), char(u)};
  buf_.append(b, 4);
}

void Writer::i16(int16_t v) {
  uint16_t u = static_cast<uint16_t>(v);
  char b[2] = {char(u >> 8), char(u)};
  buf_.append(b, 2);
}

void Writer::cstr(std::string_view s) {
  buf_.append(s);
  buf_.push_back('\0');
}

void Writer::end() {
  uint32_t len = static_cast<uint32_t>(buf_.size() - start_);
  buf_[start_] = char(len >> 24);
  buf_[start_ + 1] = char(len >> 16);
  buf_[start_ + 2] = char(len >> 8);
  buf_[start_ + 3] = char(len);
}

Status Writer::flush(Conn& conn) {
  if (buf_.empty()) return {};
  auto st = conn.write_all(buf_);
  buf_.clear();
  return st;
}

void write_error(Writer& w, const SqlError& e) {
  w.begin('E');
  w.byte('S');
  w.cstr(e.severity);
  w.byte('V');
  w.cstr(e.severity);
  w.byte('C');
  w.cstr(e.sqlstate);
  w.byte('M');
  w.cstr(e.message);
  if (!e.hint.empty()) {
    w.byte('H');
    w.cstr(e.hint);
  }
  w.byte(0);
  w.end();
}

void write_notice(Writer& w, const std::string& message) {
  w.begin('N');
  w.byte('S');
  w.cstr("NOTICE");
  w.byte('V');
  w.cstr("NOTICE");
  w.byte('C');
  w.cstr("00000");
  w.byte('M');
  w.cstr(message);
  w.byte(0);
  w.end();
}

}  // namespace hrflow::sql
