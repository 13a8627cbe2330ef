#include <filesystem>

#include "lake/file_store.h"
#include "lake/s3_store.h"
#include "lake/storage.h"

namespace hrflow::lake {

Result<std::unique_ptr<ObjectStore>> open_lake(const Config& config) {
  std::string url = config.get_string("lake.url");
  if (url.starts_with("file://")) {
    std::string path = url.substr(7);
    if (path.empty()) return invalid_argument("lake.url '{}' names no directory: use file:///abs/path", url);
    HRFLOW_ASSIGN_OR_RETURN(auto store, FileStore::open(std::filesystem::path(path)));
    return std::unique_ptr<ObjectStore>(std::move(store));
  }
  if (url.starts_with("s3://")) {
    S3Options o;
    o.endpoint = config.get_string("lake.s3.endpoint");
    o.region = config.get_string("lake.s3.region");
    o.credentials.access_key_id = config.get_string("lake.s3.access_key_id");
    o.credentials.secret_access_key = config.get_string("lake.s3.secret_access_key");
    o.credentials.session_token = config.get_string("lake.s3.session_token");
    o.path_style = config.get_bool("lake.s3.path_style");
    o.request_timeout_ms = config.get_duration_ms("lake.s3.timeout");
    o.max_attempts = static_cast<int>(config.get_int("lake.s3.max_attempts"));
    HRFLOW_ASSIGN_OR_RETURN(auto store, S3Store::open(std::move(o), url));
    return std::unique_ptr<ObjectStore>(std::move(store));
  }
  return invalid_argument("lake.url '{}' is neither file://path nor s3://bucket/prefix", url);
}

}  // namespace hrflow::lake
