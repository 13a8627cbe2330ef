// SCRAM-SHA-256 (RFC 5802 / RFC 7677) as PostgreSQL uses it, server side: the client proves it knows
// the password without sending it; the server proves it knows it too (ServerSignature).
// Channel binding is not offered (the mechanism list is just SCRAM-SHA-256).
//
// Thread-safety: one ScramServer per authentication exchange.
#pragma once

#include <string>

#include "common/status.h"

namespace hrflow::sql {

class ScramServer {
 public:
  explicit ScramServer(std::string password) : password_(std::move(password)) {}
  // client-first-message -> server-first-message.
  Result<std::string> first(const std::string& client_first);
  // client-final-message -> server-final-message ("v=..."), or an error when the proof is wrong.
  Result<std::string> final(const std::string& client_final);

 private:
  std::string password_;
  std::string client_first_bare_, server_first_, nonce_, salt_;
  int iterations_ = 4096;
};

std::string base64_encode(std::string_view in);
Result<std::string> base64_decode(std::string_view in);

}  // namespace hrflow::sql
