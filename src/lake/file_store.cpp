#include "lake/file_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <set>
#include <thread>

namespace hrflow::lake {
namespace fs = std::filesystem;
namespace {

// RAII file descriptor.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  int get() const { return fd_; }
  int release() { return std::exchange(fd_, -1); }

 private:
  int fd_;
};

bool is_temp_name(std::string_view name) { return name.starts_with('.') && name.find(".tmp-") != std::string_view::npos; }

Error errno_error(std::string_view what, const fs::path& path) {
  int e = errno;
  auto kind = e == ENOENT ? ErrorKind::kNotFound : ErrorKind::kIo;
  // Full disks and permission problems do not go away by retrying at once.
  bool retriable = e == EINTR || e == EAGAIN || e == EIO;
  return Error{kind, fmt::format("{} {}: {}", what, path.string(), std::strerror(e)), retriable};
}

Status fsync_dir(const fs::path& dir) {
  Fd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return errno_error("opening directory", dir);
  if (::fsync(fd.get()) != 0) return errno_error("syncing directory", dir);
  return {};
}

// Create `dir` and its missing parents, fsyncing each parent that got a new entry so the new
// directories survive a crash together with the file put into them.
Status make_dirs(const fs::path& dir) {
  if (fs::is_directory(dir)) return {};
  HRFLOW_TRY(make_dirs(dir.parent_path()));
  if (::mkdir(dir.c_str(), 0755) != 0 && errno != EEXIST) return errno_error("creating directory", dir);
  return fsync_dir(dir.parent_path());
}

}  // namespace

Status validate_key(std::string_view key) {
  if (key.empty()) return invalid_argument("empty object key");
  if (key.front() == '/') return invalid_argument("object key '{}' must not start with '/'", key);
  size_t start = 0;
  while (start <= key.size()) {
    size_t end = key.find('/', start);
    if (end == std::string_view::npos) end = key.size();
    auto seg = key.substr(start, end - start);
    if (seg.empty() || seg == "." || seg == "..") {
      return invalid_argument("object key '{}' has an empty, '.' or '..' segment", key);
    }
    start = end + 1;
  }
  return {};
}

Result<std::unique_ptr<FileStore>> FileStore::open(const fs::path& root) {
  std::error_code ec;
  fs::path abs = fs::absolute(root, ec);
  if (ec) return io_error("lake directory {}: {}", root.string(), ec.message());
  abs = abs.lexically_normal();
  if (abs.has_filename() == false) abs = abs.parent_path();
  HRFLOW_TRY(make_dirs(abs));
  return std::unique_ptr<FileStore>(new FileStore(abs));
}

// One object on its way into place: written under a temporary name, then synced, then renamed.
struct FileStore::Staged {
  fs::path target;
  fs::path tmp;
  int fd = -1;
  ~Staged() {
    if (fd >= 0) ::close(fd);
    if (!tmp.empty()) ::unlink(tmp.c_str());  // not renamed into place: leave nothing behind
  }
};

// Create the temporary file of `key` and write `data` into it (not yet synced).
Status FileStore::stage(std::string_view key, std::string_view data, Staged& s) {
  HRFLOW_TRY(validate_key(key));
  s.target = root_ / fs::path(std::string(key));
  fs::path dir = s.target.parent_path();
  HRFLOW_TRY(make_dirs(dir));
  static std::atomic<uint64_t> counter{0};
  fs::path tmp = dir / fmt::format(".{}.tmp-{}-{}", s.target.filename().string(), ::getpid(), counter++);
  s.fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (s.fd < 0) return errno_error("creating", tmp);
  s.tmp = std::move(tmp);
  size_t done = 0;
  while (done < data.size()) {
    ssize_t n = ::write(s.fd, data.data() + done, data.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno_error("writing", s.tmp);
    }
    done += static_cast<size_t>(n);
  }
  return {};
}

// fsync and close the temporary file.
static Status sync_staged(int& fd, const fs::path& tmp) {
  if (::fsync(fd) != 0) return errno_error("syncing", tmp);
  int rc = ::close(std::exchange(fd, -1));
  if (rc != 0) return errno_error("closing", tmp);
  return {};
}

Status FileStore::put(std::string_view key, std::string_view data) {
  Staged s;
  HRFLOW_TRY(stage(key, data, s));
  HRFLOW_TRY(sync_staged(s.fd, s.tmp));
  if (::rename(s.tmp.c_str(), s.target.c_str()) != 0) return errno_error("renaming into place", s.target);
  s.tmp.clear();
  return fsync_dir(s.target.parent_path());
}

Status FileStore::put_all(const std::vector<PutRequest>& objects) {
  if (objects.size() == 1) return put(objects[0].key, objects[0].data);
  std::vector<Staged> staged(objects.size());
  for (size_t i = 0; i < objects.size(); ++i) HRFLOW_TRY(stage(objects[i].key, objects[i].data, staged[i]));
  // Sync from a few threads at once: the journal commits concurrent syncs together, so N files cost
  // little more than one.
  const size_t threads = std::min<size_t>(objects.size(), 8);
  std::vector<Status> results(threads);
  std::vector<std::thread> pool;
  std::atomic<size_t> next{0};
  for (size_t t = 0; t < threads; ++t) {
    pool.emplace_back([&, t] {
      for (size_t i = next++; i < staged.size(); i = next++) {
        if (Status st = sync_staged(staged[i].fd, staged[i].tmp); !st.ok()) {
          results[t] = st;
          return;
        }
      }
    });
  }
  for (auto& th : pool) th.join();
  for (auto& r : results) HRFLOW_TRY(r);
  std::set<fs::path> dirs;
  for (auto& s : staged) {
    if (::rename(s.tmp.c_str(), s.target.c_str()) != 0) return errno_error("renaming into place", s.target);
    s.tmp.clear();
    dirs.insert(s.target.parent_path());
  }
  for (const auto& d : dirs) HRFLOW_TRY(fsync_dir(d));
  return {};
}

Result<std::string> FileStore::get(std::string_view key) {
  std::string out;
  HRFLOW_TRY(get_into(key, out));
  return out;
}

Status FileStore::get_into(std::string_view key, std::string& out) {
  HRFLOW_TRY(validate_key(key));
  fs::path path = root_ / fs::path(std::string(key));
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return errno_error("reading", path);
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return errno_error("reading", path);
  if (S_ISDIR(st.st_mode)) return Error{ErrorKind::kNotFound, fmt::format("{} is a directory", path.string()), false};
  out.resize(static_cast<size_t>(st.st_size));  // reuses out's memory; only growth is zero-filled
  size_t done = 0;
  while (done < out.size()) {
    ssize_t n = ::read(fd.get(), out.data() + done, out.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return errno_error("reading", path);
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return {};
}

Result<std::vector<ObjectInfo>> FileStore::list(std::string_view prefix) {
  // Walk only the deepest directory the prefix names, then filter by the full prefix.
  std::string_view dir_part = prefix.substr(0, prefix.rfind('/') == std::string_view::npos ? 0 : prefix.rfind('/'));
  fs::path start = dir_part.empty() ? root_ : root_ / fs::path(std::string(dir_part));
  std::vector<ObjectInfo> out;
  std::error_code ec;
  if (!fs::is_directory(start, ec)) return out;
  const std::string root_str = root_.string() + "/";
  for (auto it = fs::recursive_directory_iterator(start, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const auto& entry = *it;
    if (!entry.is_regular_file(ec)) continue;
    std::string name = entry.path().filename().string();
    if (is_temp_name(name)) continue;
    std::string key = entry.path().string().substr(root_str.size());
    if (!key.starts_with(prefix)) continue;
    struct stat st {};
    if (::stat(entry.path().c_str(), &st) != 0) continue;  // removed meanwhile
    ObjectInfo info;
    info.key = std::move(key);
    info.size = static_cast<uint64_t>(st.st_size);
    int64_t mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    info.last_modified_ms = mtime_ns / 1000000;
    info.etag = fmt::format("{:x}-{:x}-{:x}", info.size, mtime_ns, static_cast<uint64_t>(st.st_ino));
    out.push_back(std::move(info));
  }
  if (ec) return io_error("listing {}: {}", start.string(), ec.message());
  std::sort(out.begin(), out.end(), [](const ObjectInfo& a, const ObjectInfo& b) { return a.key < b.key; });
  return out;
}

Status FileStore::remove(std::string_view key) {
  HRFLOW_TRY(validate_key(key));
  fs::path path = root_ / fs::path(std::string(key));
  if (::unlink(path.c_str()) != 0 && errno != ENOENT) return errno_error("removing", path);
  return {};
}

std::string FileStore::url_of(std::string_view key) const { return fmt::format("file://{}/{}", root_.string(), key); }

}  // namespace hrflow::lake
