// The lake on a local (or mounted) file system: object key "a/b/c.json" is the file <root>/a/b/c.json.
//
// put() writes a temporary file ".<name>.tmp-<pid>-<n>" in the target directory, fsyncs it, renames
// it over the target and fsyncs the directory, so a reader (or a crash) sees the old object, the new
// one, or none — never a partial file. put_all() does the same for many objects with fewer waits:
// it writes every temporary file, syncs them in parallel (the file system commits them together),
// renames them and syncs each directory once. list() skips temporary files. Stateless apart from the
// root path: safe to use from several threads and processes.
#pragma once

#include <filesystem>

#include "lake/storage.h"

namespace hrflow::lake {

class FileStore final : public ObjectStore {
 public:
  // `root` is created when missing.
  static Result<std::unique_ptr<FileStore>> open(const std::filesystem::path& root);

  Status put(std::string_view key, std::string_view data) override;
  Status put_all(const std::vector<PutRequest>& objects) override;
  Result<std::string> get(std::string_view key) override;
  Status get_into(std::string_view key, std::string& out) override;
  Result<std::vector<ObjectInfo>> list(std::string_view prefix) override;
  Status remove(std::string_view key) override;
  std::string url_of(std::string_view key) const override;
  const std::filesystem::path& root() const { return root_; }

 private:
  explicit FileStore(std::filesystem::path root) : root_(std::move(root)) {}
  struct Staged;
  Status stage(std::string_view key, std::string_view data, Staged& s);
  std::filesystem::path root_;
};

// Keys are relative, '/'-separated, without empty, "." or ".." segments. Shared by both stores.
Status validate_key(std::string_view key);

}  // namespace hrflow::lake
