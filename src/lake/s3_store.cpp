#include "lake/s3_store.h"

#include <curl/curl.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <random>
#include <thread>

#include "common/backoff.h"
#include "lake/file_store.h"

namespace hrflow::lake {
namespace {

std::string xml_decode(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '&') {
      out.push_back(s[i]);
      continue;
    }
    auto end = s.find(';', i);
    if (end == std::string_view::npos) {
      out.push_back(s[i]);
      continue;
    }
    auto ent = s.substr(i + 1, end - i - 1);
    if (ent == "amp") out += '&';
    else if (ent == "lt") out += '<';
    else if (ent == "gt") out += '>';
    else if (ent == "quot") out += '"';
    else if (ent == "apos") out += '\'';
    else if (ent.size() > 1 && ent[0] == '#') {
      unsigned long cp = ent[1] == 'x' ? std::strtoul(std::string(ent.substr(2)).c_str(), nullptr, 16)
                                       : std::strtoul(std::string(ent.substr(1)).c_str(), nullptr, 10);
      if (cp < 0x80) {
        out.push_back(static_cast<char>(cp));
      } else if (cp < 0x800) {
        out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      } else {
        out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
        out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
        out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
      }
    } else {
      out.append(s.substr(i, end - i + 1));
    }
    i = end;
  }
  return out;
}

// Raw (undecoded) contents of every <tag>...</tag>.
std::vector<std::string_view> xml_blocks(std::string_view xml, std::string_view tag) {
  std::vector<std::string_view> out;
  std::string open = fmt::format("<{}>", tag), close = fmt::format("</{}>", tag);
  size_t pos = 0;
  while ((pos = xml.find(open, pos)) != std::string_view::npos) {
    pos += open.size();
    auto end = xml.find(close, pos);
    if (end == std::string_view::npos) break;
    out.push_back(xml.substr(pos, end - pos));
    pos = end + close.size();
  }
  return out;
}

std::string first_value(std::string_view xml, std::string_view tag) {
  auto v = xml_blocks(xml, tag);
  return v.empty() ? std::string() : xml_decode(v.front());
}

// "2024-03-31T12:00:00.000Z" -> epoch ms.
int64_t parse_iso8601_ms(const std::string& s) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(s.c_str(), "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
                  &tm.tm_sec, &ms) < 6) {
    return 0;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return static_cast<int64_t>(timegm(&tm)) * 1000 + ms;
}

size_t write_body(char* ptr, size_t size, size_t n, void* userdata) {
  static_cast<std::string*>(userdata)->append(ptr, size * n);
  return size * n;
}

size_t write_header(char* ptr, size_t size, size_t n, void* userdata) {
  std::string_view line(ptr, size * n);
  auto colon = line.find(':');
  if (colon != std::string_view::npos) {
    std::string name(line.substr(0, colon));
    std::transform(name.begin(), name.end(), name.begin(), [](unsigned char c) { return std::tolower(c); });
    if (name == "etag") {
      auto v = line.substr(colon + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == '\r' || v.back() == '\n' || v.back() == ' ')) v.remove_suffix(1);
      *static_cast<std::string*>(userdata) = std::string(v);
    }
  }
  return size * n;
}

bool retriable_status(long status) { return status >= 500 || status == 429 || status == 408; }

std::once_flag g_curl_init;

}  // namespace

std::vector<std::string> xml_values(std::string_view xml, std::string_view tag) {
  std::vector<std::string> out;
  for (auto b : xml_blocks(xml, tag)) out.push_back(xml_decode(b));
  return out;
}

S3Store::S3Store(S3Options options) : options_(std::move(options)) {}

S3Store::~S3Store() {
  for (void* h : pool_) curl_easy_cleanup(static_cast<CURL*>(h));
}

Result<std::unique_ptr<S3Store>> S3Store::open(S3Options options, std::string_view url) {
  std::call_once(g_curl_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  if (!url.empty()) {
    if (!url.starts_with("s3://")) return invalid_argument("lake URL '{}' is not s3://bucket/prefix", url);
    std::string_view rest = url.substr(5);
    auto slash = rest.find('/');
    options.bucket = std::string(rest.substr(0, slash));
    options.prefix = slash == std::string_view::npos ? "" : std::string(rest.substr(slash + 1));
    while (!options.prefix.empty() && options.prefix.back() == '/') options.prefix.pop_back();
  }
  if (options.bucket.empty()) return invalid_argument("lake URL '{}' names no bucket: use s3://bucket/prefix", url);
  if (options.region.empty()) options.region = "us-east-1";
  std::string endpoint = options.endpoint.empty() ? fmt::format("https://s3.{}.amazonaws.com", options.region)
                                                  : options.endpoint;
  auto sep = endpoint.find("://");
  if (sep == std::string::npos) {
    return invalid_argument("lake.s3.endpoint '{}' is not a URL such as http://127.0.0.1:9000", endpoint);
  }
  if (options.credentials.access_key_id.empty() || options.credentials.secret_access_key.empty()) {
    return invalid_argument(
        "no S3 credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (lake.s3.access_key_id, "
        "lake.s3.secret_access_key)");
  }
  std::unique_ptr<S3Store> store(new S3Store(std::move(options)));
  store->scheme_ = endpoint.substr(0, sep);
  store->host_ = endpoint.substr(sep + 3);
  while (!store->host_.empty() && store->host_.back() == '/') store->host_.pop_back();
  if (store->host_.empty()) return invalid_argument("lake.s3.endpoint '{}' has no host", endpoint);
  return store;
}

std::string S3Store::full_key(std::string_view key) const {
  return options_.prefix.empty() ? std::string(key) : fmt::format("{}/{}", options_.prefix, key);
}

std::string S3Store::url_of(std::string_view key) const {
  return fmt::format("s3://{}/{}", options_.bucket, full_key(key));
}

void* S3Store::acquire_handle() {
  {
    std::lock_guard lock(pool_mutex_);
    if (!pool_.empty()) {
      void* h = pool_.back();
      pool_.pop_back();
      return h;
    }
  }
  return curl_easy_init();
}

void S3Store::release_handle(void* handle) {
  std::lock_guard lock(pool_mutex_);
  pool_.push_back(handle);
}

Result<S3Store::Response> S3Store::attempt(void* handle, const std::string& method, const std::string& object_key,
                                           const std::vector<std::pair<std::string, std::string>>& query,
                                           std::string_view body) {
  CURL* curl = static_cast<CURL*>(handle);
  curl_easy_reset(curl);
  std::string host = options_.path_style ? host_ : fmt::format("{}.{}", options_.bucket, host_);
  std::string path = options_.path_style ? "/" + sigv4::uri_encode(options_.bucket, false) : "";
  if (!object_key.empty()) path += "/" + sigv4::uri_encode(object_key, true);
  if (path.empty()) path = "/";
  std::string qs = sigv4::canonical_query(query);
  std::string url = fmt::format("{}://{}{}{}{}", scheme_, host, path, qs.empty() ? "" : "?", qs);

  sigv4::Request req;
  req.method = method;
  req.canonical_uri = path;
  req.query = query;
  std::string date = sigv4::amz_date(std::chrono::duration_cast<std::chrono::seconds>(
                                         std::chrono::system_clock::now().time_since_epoch())
                                         .count());
  req.payload_sha256 = sigv4::sha256_hex(body);
  req.headers = {{"host", host}, {"x-amz-content-sha256", req.payload_sha256}, {"x-amz-date", date}};
  if (!options_.credentials.session_token.empty()) {
    req.headers["x-amz-security-token"] = options_.credentials.session_token;
  }
  std::string auth = sigv4::authorization(req, options_.credentials, options_.region, date);

  struct SlistDeleter {
    void operator()(curl_slist* l) const { curl_slist_free_all(l); }
  };
  std::unique_ptr<curl_slist, SlistDeleter> headers;
  auto add = [&](const std::string& h) { headers.reset(curl_slist_append(headers.release(), h.c_str())); };
  for (const auto& [k, v] : req.headers) add(fmt::format("{}: {}", k, v));
  add("Authorization: " + auth);
  add("Expect:");
  add("Content-Type: application/octet-stream");

  Response resp;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(options_.connect_timeout_ms));
  // Large bodies get extra time: at least 10 MB/s on top of the base timeout.
  int64_t timeout = options_.request_timeout_ms + static_cast<int64_t>(body.size() / 10000);
  curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout));
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, write_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &resp.body);
  curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, write_header);
  curl_easy_setopt(curl, CURLOPT_HEADERDATA, &resp.etag);
  if (method == "HEAD") {
    curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
  } else if (method != "GET") {
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  }
  if (method == "PUT" || method == "POST") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.data());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(body.size()));
  }
  CURLcode rc = curl_easy_perform(curl);
  if (rc != CURLE_OK) {
    return Error{ErrorKind::kUnavailable,
                 fmt::format("S3 {} {}: {} (is lake.s3.endpoint reachable?)", method, url, curl_easy_strerror(rc)),
                 true};
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &resp.status);
  if (resp.status >= 200 && resp.status < 300) return resp;
  std::string code = first_value(resp.body, "Code"), message = first_value(resp.body, "Message");
  std::string what = fmt::format("S3 {} {}: HTTP {}{}{}{}", method, url, resp.status, code.empty() ? "" : " ", code,
                                 message.empty() ? "" : ": " + message);
  if (resp.status == 404) return Error{ErrorKind::kNotFound, what, false};
  if (resp.status == 403) {
    return Error{ErrorKind::kInvalidArgument, what + " (check lake.s3.access_key_id/secret_access_key and region)",
                 false};
  }
  bool retry = retriable_status(resp.status) || code == "SlowDown" || code == "RequestTimeout" ||
               code == "InternalError";
  return Error{retry ? ErrorKind::kUnavailable : ErrorKind::kIo, what, retry};
}

Result<S3Store::Response> S3Store::request(const std::string& method, const std::string& object_key,
                                           const std::vector<std::pair<std::string, std::string>>& query,
                                           std::string_view body) {
  void* handle = acquire_handle();
  if (handle == nullptr) return make_error(ErrorKind::kInternal, "curl_easy_init failed");
  Backoff backoff({options_.backoff_initial_ms, options_.backoff_max_ms});
  for (int i = 1;; ++i) {
    auto r = attempt(handle, method, object_key, query, body);
    if (r.ok() || !r.error().retriable || i >= std::max(1, options_.max_attempts)) {
      release_handle(handle);
      if (!r.ok() && r.error().retriable && i > 1) return r.error().with_context(fmt::format("after {} attempts", i));
      return r;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(backoff.next_ms()));
  }
}

Status S3Store::ensure_bucket() {
  auto head = request("HEAD", "", {}, {});
  if (head.ok()) return {};
  if (head.error().kind != ErrorKind::kNotFound) return head.error();
  std::string body;
  if (options_.region != "us-east-1") {
    body = fmt::format(
        "<CreateBucketConfiguration xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><LocationConstraint>{}"
        "</LocationConstraint></CreateBucketConfiguration>",
        options_.region);
  }
  auto r = request("PUT", "", {}, body);
  if (!r.ok()) return r.error();
  return {};
}

Status S3Store::put(std::string_view key, std::string_view data) {
  HRFLOW_TRY(validate_key(key));
  std::string k = full_key(key);
  if (data.size() > options_.multipart_threshold) return multipart_put(k, data);
  auto r = request("PUT", k, {}, data);
  if (!r.ok()) return r.error();
  return {};
}

Status S3Store::multipart_put(const std::string& k, std::string_view data) {
  auto init = request("POST", k, {{"uploads", ""}}, {});
  if (!init.ok()) return init.error();
  std::string upload_id = first_value(init->body, "UploadId");
  if (upload_id.empty()) return io_error("S3 multipart upload of {}: no UploadId in the answer", url_of(k));
  auto abort = [&](const Error& e) -> Status {
    (void)request("DELETE", k, {{"uploadId", upload_id}}, {});  // best effort; lifecycle rules clean the rest
    return e;
  };
  std::string complete = "<CompleteMultipartUpload>";
  uint64_t part_size = std::max<uint64_t>(options_.part_size, 5ull << 20);
  int part = 1;
  for (uint64_t off = 0; off < data.size(); off += part_size, ++part) {
    auto chunk = data.substr(off, part_size);
    auto r = request("PUT", k, {{"partNumber", std::to_string(part)}, {"uploadId", upload_id}}, chunk);
    if (!r.ok()) return abort(r.error());
    if (r->etag.empty()) return abort(io_error("S3 part {} of {}: no ETag in the answer", part, url_of(k)));
    complete += fmt::format("<Part><PartNumber>{}</PartNumber><ETag>{}</ETag></Part>", part, r->etag);
  }
  complete += "</CompleteMultipartUpload>";
  auto done = request("POST", k, {{"uploadId", upload_id}}, complete);
  if (!done.ok()) return abort(done.error());
  // S3 can answer 200 with an error document when completion fails late.
  if (done->body.find("<Error>") != std::string::npos) {
    return abort(io_error("S3 completing upload of {}: {}", url_of(k), first_value(done->body, "Message")));
  }
  return {};
}

Result<std::string> S3Store::get(std::string_view key) {
  HRFLOW_TRY(validate_key(key));
  auto r = request("GET", full_key(key), {}, {});
  if (!r.ok()) return r.error();
  return std::move(r->body);
}

Status S3Store::remove(std::string_view key) {
  HRFLOW_TRY(validate_key(key));
  auto r = request("DELETE", full_key(key), {}, {});
  if (!r.ok() && r.error().kind != ErrorKind::kNotFound) return r.error();
  return {};
}

Result<std::vector<ObjectInfo>> S3Store::list(std::string_view prefix) {
  std::vector<ObjectInfo> out;
  std::string full_prefix = options_.prefix.empty() ? std::string(prefix) : fmt::format("{}/{}", options_.prefix, prefix);
  size_t strip = options_.prefix.empty() ? 0 : options_.prefix.size() + 1;
  std::string token;
  for (;;) {
    std::vector<std::pair<std::string, std::string>> q = {
        {"list-type", "2"}, {"prefix", full_prefix}, {"max-keys", std::to_string(options_.list_page_size)}};
    if (!token.empty()) q.emplace_back("continuation-token", token);
    auto r = request("GET", "", q, {});
    if (!r.ok()) return r.error();
    for (auto block : xml_blocks(r->body, "Contents")) {
      ObjectInfo info;
      std::string key = first_value(block, "Key");
      if (key.size() < strip) continue;
      info.key = key.substr(strip);
      info.size = std::strtoull(first_value(block, "Size").c_str(), nullptr, 10);
      info.last_modified_ms = parse_iso8601_ms(first_value(block, "LastModified"));
      info.etag = first_value(block, "ETag");
      out.push_back(std::move(info));
    }
    if (first_value(r->body, "IsTruncated") != "true") break;
    token = first_value(r->body, "NextContinuationToken");
    if (token.empty()) return io_error("S3 list of {}: truncated answer without a continuation token", url_of(prefix));
  }
  std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

}  // namespace hrflow::lake
