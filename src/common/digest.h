// SHA-256 and HMAC-SHA-256 (OpenSSL), shared by S3 request signing (SigV4), the SQL endpoint's
// SCRAM-SHA-256 and the keyed pseudonyms of imports and exports. Raw bytes in and out; hex() for
// the lowercase text form. Pure functions; thread-safe.
#pragma once

#include <string>
#include <string_view>

namespace hrflow {

std::string sha256(std::string_view data);                         // 32 raw bytes
std::string hmac_sha256(std::string_view key, std::string_view data);  // 32 raw bytes
std::string hex(std::string_view bytes);                           // lowercase, two digits a byte

}  // namespace hrflow
