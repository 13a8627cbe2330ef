// AWS Signature Version 4 for S3 requests, over OpenSSL's SHA-256 and HMAC.
//
// sign() takes a request (method, URI path already percent-encoded, query parameters, headers that
// will be sent, payload hash) and returns the Authorization header value. The caller sends exactly
// the headers it passed (plus Authorization). Pure functions; thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace hrflow::lake::sigv4 {

struct Credentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // optional (temporary credentials)
};

struct Request {
  std::string method;                                      // GET, PUT, POST, DELETE, HEAD
  std::string canonical_uri;                               // "/bucket/key", each segment URI-encoded
  std::vector<std::pair<std::string, std::string>> query;  // raw (unencoded) names and values
  std::map<std::string, std::string> headers;              // lower-case names; must include host, x-amz-date
  std::string payload_sha256;                              // hex, or "UNSIGNED-PAYLOAD"
};

// Hex SHA-256 of `data`.
std::string sha256_hex(std::string_view data);
// RFC 3986 encoding as S3 wants it: unreserved characters kept, everything else %XX; '/' kept when
// `keep_slash`.
std::string uri_encode(std::string_view s, bool keep_slash);
// "20130524T000000Z" for an epoch time in seconds.
std::string amz_date(int64_t epoch_seconds);
// The canonical query string (sorted, encoded), also usable as the request's query string.
std::string canonical_query(const std::vector<std::pair<std::string, std::string>>& query);
// Authorization header value for `request`, signed at `amz_date` (x-amz-date) for `region`/s3.
std::string authorization(const Request& request, const Credentials& creds, std::string_view region,
                          std::string_view amz_date_value);

}  // namespace hrflow::lake::sigv4
