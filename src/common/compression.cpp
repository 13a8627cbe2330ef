#include "common/compression.h"

#include <zlib.h>
#include <zstd.h>

#include <memory>

namespace hrflow {
namespace {

Result<std::string> gzip(std::string_view data, int level) {
  z_stream zs{};
  // windowBits 15 + 16: a gzip header, written by zlib without a modification time.
  if (deflateInit2(&zs, level > 0 ? level : Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK) {
    return make_error(ErrorKind::kInternal, "gzip: deflateInit2 failed");
  }
  std::string out(deflateBound(&zs, data.size()) + 32, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  if (rc != Z_STREAM_END) return make_error(ErrorKind::kInternal, "gzip: deflate failed ({})", rc);
  return out;
}

Decompressed gunzip(std::string_view data) {
  Decompressed r;
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) {
    r.damage = "cannot initialise gzip";
    return r;
  }
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  char buf[1 << 16];
  int rc = Z_OK;
  while (rc == Z_OK) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof buf;
    rc = inflate(&zs, Z_NO_FLUSH);
    r.data.append(buf, sizeof buf - zs.avail_out);
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;
    // Concatenated gzip members (allowed by the format): continue with the next one.
    if (rc == Z_STREAM_END && zs.avail_in > 0) rc = inflateReset(&zs);
  }
  if (rc != Z_STREAM_END) {
    r.damage = fmt::format("gzip stream is truncated or damaged at byte {} ({})", data.size() - zs.avail_in,
                           zs.msg ? zs.msg : "unexpected end");
  }
  inflateEnd(&zs);
  return r;
}

Decompressed unzstd(std::string_view data) {
  Decompressed r;
  std::unique_ptr<ZSTD_DCtx, size_t (*)(ZSTD_DCtx*)> dctx(ZSTD_createDCtx(), ZSTD_freeDCtx);
  ZSTD_inBuffer in{data.data(), data.size(), 0};
  std::string buf(ZSTD_DStreamOutSize(), '\0');
  size_t ret = 1;
  while (in.pos < in.size) {
    ZSTD_outBuffer o{buf.data(), buf.size(), 0};
    ret = ZSTD_decompressStream(dctx.get(), &o, &in);
    if (ZSTD_isError(ret)) {
      r.damage = fmt::format("zstd stream is damaged at byte {} ({})", in.pos, ZSTD_getErrorName(ret));
      return r;
    }
    r.data.append(buf.data(), o.pos);
    if (o.pos == 0 && in.pos == in.size) break;
  }
  for (int i = 0; ret != 0 && i < 1 << 20; ++i) {  // flush what the decoder still holds
    ZSTD_outBuffer o{buf.data(), buf.size(), 0};
    ret = ZSTD_decompressStream(dctx.get(), &o, &in);
    if (ZSTD_isError(ret)) break;
    r.data.append(buf.data(), o.pos);
    if (o.pos == 0) break;
  }
  if (ret != 0) r.damage = fmt::format("zstd stream is truncated after byte {}", data.size());
  return r;
}

}  // namespace

Result<std::string> compress(std::string_view data, Codec codec, int level) {
  switch (codec) {
    case Codec::kNone:
      return std::string(data);
    case Codec::kGzip:
      return gzip(data, level);
    case Codec::kZstd: {
      std::string out(ZSTD_compressBound(data.size()), '\0');
      size_t n = ZSTD_compress(out.data(), out.size(), data.data(), data.size(), level > 0 ? level : 3);
      if (ZSTD_isError(n)) return make_error(ErrorKind::kInternal, "zstd: {}", ZSTD_getErrorName(n));
      out.resize(n);
      return out;
    }
  }
  return make_error(ErrorKind::kInternal, "unknown codec");
}

Decompressed decompress(std::string_view data, Codec codec) {
  switch (codec) {
    case Codec::kGzip:
      return gunzip(data);
    case Codec::kZstd:
      return unzstd(data);
    case Codec::kNone:
      break;
  }
  return Decompressed{std::string(data), std::nullopt};
}

Result<std::string> decompress_all(std::string_view data, Codec codec) {
  Decompressed d = decompress(data, codec);
  if (d.damaged()) return corrupt("{}", *d.damage);
  return std::move(d.data);
}

}  // namespace hrflow
