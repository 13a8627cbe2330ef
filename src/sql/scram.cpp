#include "sql/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "common/digest.h"

namespace hrflow::sql {

namespace {

std::string random_bytes(size_t n) {
  std::string s(n, '\0');
  RAND_bytes(reinterpret_cast<unsigned char*>(s.data()), static_cast<int>(n));
  return s;
}

// The value of attribute `name` ("r=...") in a comma-separated SCRAM message.
std::string attribute(const std::string& msg, char name) {
  size_t at = 0;
  while (at <= msg.size()) {
    size_t end = msg.find(',', at);
    if (end == std::string::npos) end = msg.size();
    if (end - at >= 2 && msg[at] == name && msg[at + 1] == '=') return msg.substr(at + 2, end - at - 2);
    at = end + 1;
  }
  return "";
}

}  // namespace

std::string base64_encode(std::string_view in) {
  std::string out(4 * ((in.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  out.resize(static_cast<size_t>(n));
  return out;
}

Result<std::string> base64_decode(std::string_view in) {
  if (in.size() % 4 != 0) return invalid_argument("SCRAM: invalid base64");
  std::string out(in.size() / 4 * 3, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()), reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return invalid_argument("SCRAM: invalid base64");
  size_t pad = 0;
  for (size_t i = in.size(); i > 0 && in[i - 1] == '='; --i) pad++;
  out.resize(static_cast<size_t>(n) - pad);
  return out;
}

Result<std::string> ScramServer::first(const std::string& client_first) {
  // gs2 header: "n,," (no channel binding) or "y,," (client could, server does not offer it).
  if (client_first.size() < 3 || (client_first[0] != 'n' && client_first[0] != 'y') || client_first[1] != ',') {
    return invalid_argument("SCRAM: unsupported channel binding in the client's first message");
  }
  size_t bare = client_first.find(',', 2);
  if (bare == std::string::npos) return invalid_argument("SCRAM: malformed client-first-message");
  client_first_bare_ = client_first.substr(bare + 1);
  std::string client_nonce = attribute(client_first_bare_, 'r');
  if (client_nonce.empty()) return invalid_argument("SCRAM: the client sent no nonce");
  nonce_ = client_nonce + base64_encode(random_bytes(18));
  salt_ = random_bytes(16);
  server_first_ = "r=" + nonce_ + ",s=" + base64_encode(salt_) + ",i=" + std::to_string(iterations_);
  return server_first_;
}

Result<std::string> ScramServer::final(const std::string& client_final) {
  size_t proof_at = client_final.rfind(",p=");
  if (proof_at == std::string::npos) return invalid_argument("SCRAM: the client sent no proof");
  std::string without_proof = client_final.substr(0, proof_at);
  if (attribute(without_proof, 'r') != nonce_) return invalid_argument("SCRAM: nonce mismatch");
  auto proof = base64_decode(client_final.substr(proof_at + 3));
  if (!proof.ok() || proof->size() != SHA256_DIGEST_LENGTH) return invalid_argument("SCRAM: malformed proof");

  unsigned char salted[SHA256_DIGEST_LENGTH];
  PKCS5_PBKDF2_HMAC(password_.data(), static_cast<int>(password_.size()),
                    reinterpret_cast<const unsigned char*>(salt_.data()), static_cast<int>(salt_.size()), iterations_,
                    EVP_sha256(), sizeof salted, salted);
  std::string salted_password(reinterpret_cast<char*>(salted), sizeof salted);
  std::string client_key = hmac_sha256(salted_password, "Client Key");
  std::string stored_key = sha256(client_key);
  std::string auth_message = client_first_bare_ + "," + server_first_ + "," + without_proof;
  std::string client_signature = hmac_sha256(stored_key, auth_message);
  std::string recovered(SHA256_DIGEST_LENGTH, '\0');
  for (size_t i = 0; i < recovered.size(); ++i) recovered[i] = static_cast<char>((*proof)[i] ^ client_signature[i]);
  std::string check = sha256(recovered);
  if (CRYPTO_memcmp(check.data(), stored_key.data(), stored_key.size()) != 0) {
    return invalid_argument("password authentication failed");
  }
  std::string server_key = hmac_sha256(salted_password, "Server Key");
  return "v=" + base64_encode(hmac_sha256(server_key, auth_message));
}

}  // namespace hrflow::sql
