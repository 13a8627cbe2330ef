#include "lake/sigv4.h"

#include <algorithm>
#include <ctime>

#include <fmt/format.h>

#include "common/digest.h"

namespace hrflow::lake::sigv4 {
std::string sha256_hex(std::string_view data) {
  return hex(sha256(data));
}

std::string uri_encode(std::string_view s, bool keep_slash) {
  std::string out;
  out.reserve(s.size() + 16);
  for (unsigned char c : s) {
    if ((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
        c == '.' || c == '~' || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string amz_date(int64_t epoch_seconds) {
  std::time_t t = static_cast<std::time_t>(epoch_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y%m%dT%H%M%SZ", &tm);
  return buf;
}

std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query) {
  std::vector<std::pair<std::string, std::string>> enc;
  enc.reserve(query.size());
  for (const auto& [k, v] : query) enc.emplace_back(uri_encode(k, false), uri_encode(v, false));
  std::sort(enc.begin(), enc.end());
  std::string out;
  for (const auto& [k, v] : enc) {
    if (!out.empty()) out += '&';
    out += k;
    out += '=';
    out += v;
  }
  return out;
}

std::string authorization(const Request& request, const Credentials& creds, std::string_view region,
                          std::string_view amz_date_value) {
  std::string signed_headers, canonical_headers;
  for (const auto& [name, value] : request.headers) {  // std::map: sorted by (lower-case) name
    if (!signed_headers.empty()) signed_headers += ';';
    signed_headers += name;
    // Trim surrounding spaces; S3 values we send never contain runs of inner spaces.
    auto b = value.find_first_not_of(' ');
    auto e = value.find_last_not_of(' ');
    canonical_headers += fmt::format("{}:{}\n", name, b == std::string::npos ? "" : value.substr(b, e - b + 1));
  }
  std::string canonical_request =
      fmt::format("{}\n{}\n{}\n{}\n{}\n{}", request.method, request.canonical_uri, canonical_query(request.query),
                  canonical_headers, signed_headers, request.payload_sha256);
  std::string date(amz_date_value.substr(0, 8));
  std::string scope = fmt::format("{}/{}/s3/aws4_request", date, region);
  std::string string_to_sign =
      fmt::format("AWS4-HMAC-SHA256\n{}\n{}\n{}", amz_date_value, scope, sha256_hex(canonical_request));
  std::string key = hmac_sha256("AWS4" + creds.secret_access_key, date);
  key = hmac_sha256(key, region);
  key = hmac_sha256(key, "s3");
  key = hmac_sha256(key, "aws4_request");
  std::string sig = hmac_sha256(key, string_to_sign);
  return fmt::format("AWS4-HMAC-SHA256 Credential={}/{},SignedHeaders={},Signature={}", creds.access_key_id, scope,
                     signed_headers, hex(sig));
}

}  // namespace hrflow::lake::sigv4
