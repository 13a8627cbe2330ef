// Object storage under the lake: a file system directory (file://) or an S3 bucket (s3://), behind
// one small interface. Both implementations pass the same conformance suite.
//
// Contract: put() is atomic — readers see the whole object or nothing (file system: write to a temporary
// name, fsync, rename; S3: single PUT or multipart upload completed at the end). list() returns keys
// under a prefix in lexicographic order with size and last-modified time. Keys use '/' separators.
// Errors say whether retrying can help (5xx, throttling, timeouts are retriable).
// Thread-safety: implementations may be used from several threads.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "common/status.h"

namespace hrflow::lake {

struct ObjectInfo {
  std::string key;
  uint64_t size = 0;
  int64_t last_modified_ms = 0;
  std::string etag;  // S3 ETag, or a size/mtime fingerprint on the file system
};

struct PutRequest {
  std::string_view key;
  std::string_view data;
};

class ObjectStore {
 public:
  virtual ~ObjectStore() = default;
  virtual Status put(std::string_view key, std::string_view data) = 0;
  // Store several objects, each atomically as put() does (not all-or-nothing: after a failure some
  // may be stored). Returns when all are stored. By default put() one after the other; the file
  // system writes them all and then syncs them together.
  virtual Status put_all(const std::vector<PutRequest>& objects) {
    for (const auto& o : objects) HRFLOW_TRY(put(o.key, o.data));
    return {};
  }
  virtual Result<std::string> get(std::string_view key) = 0;
  // get() into `out`, whose memory may be reused: a loader reading many objects in turn spares an
  // allocation (and the page faults of fresh memory) per object. By default a plain get().
  virtual Status get_into(std::string_view key, std::string& out) {
    HRFLOW_ASSIGN_OR_RETURN(out, get(key));
    return {};
  }
  virtual Result<std::vector<ObjectInfo>> list(std::string_view prefix) = 0;
  virtual Status remove(std::string_view key) = 0;
  // URL of an object as users see it (file:///abs/path/key, s3://bucket/prefix/key).
  virtual std::string url_of(std::string_view key) const = 0;
};

// The configured lake (lake.url and lake.s3.*).
Result<std::unique_ptr<ObjectStore>> open_lake(const Config& config);

}  // namespace hrflow::lake
