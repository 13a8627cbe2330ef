// The lake in an S3 bucket (AWS or any S3-compatible server), over libcurl with SigV4 signing.
//
// Objects up to `multipart_threshold` go up in one PUT; larger ones as a multipart upload that is
// completed only at the end (aborted on failure), so readers never see a partial object. Every
// request has a connect timeout and a total timeout, and is retried with exponential backoff (plus
// jitter) on connection failures, timeouts, 5xx and throttling (429/503 SlowDown); other errors are
// returned at once, marked not retriable. Errors name the method, URL, HTTP status and S3's code.
//
// Thread-safety: safe to use from several threads (idle curl handles are pooled under a mutex).
#pragma once

#include <mutex>

#include "lake/sigv4.h"
#include "lake/storage.h"

namespace hrflow::lake {

struct S3Options {
  std::string endpoint;  // "http://127.0.0.1:9000"; empty = https://s3.<region>.amazonaws.com
  std::string region = "us-east-1";
  std::string bucket;
  std::string prefix;  // key prefix inside the bucket, without leading or trailing '/'
  sigv4::Credentials credentials;
  bool path_style = true;
  int64_t connect_timeout_ms = 5000;
  int64_t request_timeout_ms = 60000;  // per attempt; large uploads get more (see s3_store.cpp)
  int max_attempts = 5;
  int64_t backoff_initial_ms = 100;
  int64_t backoff_max_ms = 5000;
  uint64_t multipart_threshold = 64ull << 20;
  uint64_t part_size = 16ull << 20;  // S3 needs >= 5 MiB for every part but the last
  int list_page_size = 1000;         // max-keys per ListObjectsV2 page
};

class S3Store final : public ObjectStore {
 public:
  // Parses "s3://bucket/prefix" into options.bucket/prefix when `url` is not empty.
  static Result<std::unique_ptr<S3Store>> open(S3Options options, std::string_view url = {});
  ~S3Store() override;

  Status put(std::string_view key, std::string_view data) override;
  Result<std::string> get(std::string_view key) override;
  Result<std::vector<ObjectInfo>> list(std::string_view prefix) override;
  Status remove(std::string_view key) override;
  std::string url_of(std::string_view key) const override;

  // Create the bucket when it does not exist (development servers, tests).
  Status ensure_bucket();
  const S3Options& options() const { return options_; }

  struct Response {
    long status = 0;
    std::string body;
    std::string etag;
  };

 private:
  explicit S3Store(S3Options options);
  // One signed request with retries. `object_key` is the full key inside the bucket ("" = bucket).
  Result<Response> request(const std::string& method, const std::string& object_key,
                           const std::vector<std::pair<std::string, std::string>>& query, std::string_view body);
  Result<Response> attempt(void* curl, const std::string& method, const std::string& object_key,
                           const std::vector<std::pair<std::string, std::string>>& query, std::string_view body);
  Status multipart_put(const std::string& full_key, std::string_view data);
  std::string full_key(std::string_view key) const;
  void* acquire_handle();
  void release_handle(void* handle);

  S3Options options_;
  std::string scheme_, host_;  // from the endpoint; host includes ":port" when given
  std::mutex pool_mutex_;
  std::vector<void*> pool_;
};

// Extract the text of every <tag>...</tag> in `xml` (XML entities decoded). Exposed for tests.
std::vector<std::string> xml_values(std::string_view xml, std::string_view tag);

}  // namespace hrflow::lake
