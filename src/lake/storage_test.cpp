// One conformance suite for every ObjectStore: the file system, and S3 through moto_server.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "lake/file_store.h"
#include "lake/s3_store.h"
#include "support/fixtures.h"

namespace hrflow::lake {
namespace {
using hrflow::testing::S3Instance;
using hrflow::testing::TempDir;

// A store under test with whatever keeps its backing service alive.
struct StoreUnderTest {
  std::shared_ptr<void> keep_alive;
  std::unique_ptr<ObjectStore> store;
};

// One moto_server for the whole suite (each test uses its own bucket).
S3Instance* shared_s3(std::string* why) {
  static std::unique_ptr<S3Instance> instance;
  static std::string error;
  static bool tried = false;
  if (!tried) {
    tried = true;
    auto s = S3Instance::start();
    if (s.ok()) instance = std::move(s).value();
    else error = s.error().message;
  }
  *why = error;
  return instance.get();
}

S3Options s3_options(const S3Instance& s3) {
  S3Options o;
  o.endpoint = s3.endpoint();
  o.credentials = {S3Instance::kAccessKey, S3Instance::kSecretKey, ""};
  o.list_page_size = 2;  // every list with more than two keys walks continuation tokens
  o.multipart_threshold = 6 << 20;
  o.part_size = 5 << 20;
  return o;
}

using Factory = std::function<Result<StoreUnderTest>(std::string* skip)>;
struct StoreKind {
  std::string name;
  Factory make;
  friend void PrintTo(const StoreKind& k, std::ostream* os) { *os << k.name; }
};

class ObjectStoreConformance : public ::testing::TestWithParam<StoreKind> {
 protected:
  void SetUp() override {
    std::string skip;
    auto s = GetParam().make(&skip);
    if (!skip.empty()) GTEST_SKIP() << "service unavailable: " << skip;
    ASSERT_TRUE(s.ok()) << s.error().message;
    under_test_ = std::move(s).value();
    store_ = under_test_.store.get();
  }
  StoreUnderTest under_test_;
  ObjectStore* store_ = nullptr;
};

const std::string kLakeKey = "topics/hr-data-topic/year=2024/month=04/day=01/hour=03/hr-data-topic+3+0000000042.json";

TEST_P(ObjectStoreConformance, PutThenGetReturnsTheSameBytes) {
  std::string binary("a\0b\xff\n{\"x\":1}", 12);
  ASSERT_TRUE(store_->put(kLakeKey, binary).ok());
  auto got = store_->get(kLakeKey);
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_EQ(*got, binary);
  ASSERT_TRUE(store_->put("empty", "").ok());
  EXPECT_EQ(*store_->get("empty"), "");
}

TEST_P(ObjectStoreConformance, PutReplacesTheWholeObject) {
  ASSERT_TRUE(store_->put("k/v.json", std::string(1000, 'a')).ok());
  ASSERT_TRUE(store_->put("k/v.json", "short").ok());
  EXPECT_EQ(*store_->get("k/v.json"), "short");
  auto l = store_->list("k/");
  ASSERT_TRUE(l.ok());
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].size, 5u);
}

// A loader reads object after object into one buffer: each read holds exactly that object's bytes,
// whether the buffer held a longer or a shorter one before, and a failed read says why.
TEST_P(ObjectStoreConformance, GetIntoAReusedBufferHoldsExactlyTheObject) {
  ASSERT_TRUE(store_->put("a/long.json", std::string(5000, 'x')).ok());
  ASSERT_TRUE(store_->put("a/short.json", "{\"y\":2}\n").ok());
  ASSERT_TRUE(store_->put("a/empty.json", "").ok());
  std::string buf = "stale";
  for (const char* key : {"a/long.json", "a/short.json", "a/empty.json", "a/long.json"}) {
    ASSERT_TRUE(store_->get_into(key, buf).ok()) << key;
    EXPECT_EQ(buf, *store_->get(key)) << key;
  }
  EXPECT_EQ(buf.size(), 5000u);
  auto missing = store_->get_into("a/none.json", buf);
  ASSERT_FALSE(missing.ok());
  EXPECT_EQ(missing.error().kind, ErrorKind::kNotFound);
}

TEST_P(ObjectStoreConformance, GetOfAMissingKeyIsNotFound) {
  auto got = store_->get("no/such/key.json");
  ASSERT_FALSE(got.ok());
  EXPECT_EQ(got.error().kind, ErrorKind::kNotFound);
  EXPECT_FALSE(got.error().retriable);
}

TEST_P(ObjectStoreConformance, ListByPrefixIsSortedWithSizeTimeAndEtag) {
  std::vector<std::string> keys = {
      "topics/t/year=2024/month=04/day=01/hour=10/t+0+0000000010.json",
      "topics/t/year=2024/month=04/day=01/hour=03/t+1+0000000000.json",
      "topics/t/year=2024/month=04/day=01/hour=03/t+0+0000000000.json",
      "topics/t/year=2024/month=05/day=01/hour=00/t+0+0000000100.json",
      "topics/u/year=2024/month=04/day=01/hour=03/u+0+0000000000.json",
      "errors/t/partition=0/t+0+0000000005.json",
  };
  for (size_t i = 0; i < keys.size(); ++i) ASSERT_TRUE(store_->put(keys[i], std::string(i + 1, 'x')).ok());
  auto all = store_->list("topics/t/");
  ASSERT_TRUE(all.ok()) << all.error().message;
  std::vector<std::string> got;
  for (const auto& o : *all) got.push_back(o.key);
  EXPECT_EQ(got, (std::vector<std::string>{keys[2], keys[1], keys[0], keys[3]}));
  for (const auto& o : *all) {
    size_t index = std::find(keys.begin(), keys.end(), o.key) - keys.begin();
    EXPECT_EQ(o.size, index + 1) << o.key;
    EXPECT_FALSE(o.etag.empty());
    EXPECT_GT(o.last_modified_ms, 1'600'000'000'000);  // a real wall-clock time
  }
  // A prefix that ends inside a path segment.
  auto april = store_->list("topics/t/year=2024/month=0");
  ASSERT_TRUE(april.ok());
  EXPECT_EQ(april->size(), 4u);
  auto hour3 = store_->list("topics/t/year=2024/month=04/day=01/hour=03/t+0");
  ASSERT_TRUE(hour3.ok());
  ASSERT_EQ(hour3->size(), 1u);
  EXPECT_EQ((*hour3)[0].key, keys[2]);
  EXPECT_EQ(store_->list("")->size(), keys.size());
  EXPECT_TRUE(store_->list("nothing/here/")->empty());
}

TEST_P(ObjectStoreConformance, EtagChangesWhenTheObjectChanges) {
  ASSERT_TRUE(store_->put("e.json", "one").ok());
  auto a = store_->list("e.json");
  ASSERT_TRUE(store_->put("e.json", "two!").ok());
  auto b = store_->list("e.json");
  ASSERT_EQ(a->size(), 1u);
  ASSERT_EQ(b->size(), 1u);
  EXPECT_NE((*a)[0].etag, (*b)[0].etag);
}

TEST_P(ObjectStoreConformance, RemoveDeletesAndIsIdempotent) {
  ASSERT_TRUE(store_->put("r/a.json", "a").ok());
  ASSERT_TRUE(store_->put("r/b.json", "b").ok());
  ASSERT_TRUE(store_->remove("r/a.json").ok());
  EXPECT_EQ(store_->get("r/a.json").error().kind, ErrorKind::kNotFound);
  EXPECT_TRUE(store_->remove("r/a.json").ok());
  auto l = store_->list("r/");
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].key, "r/b.json");
}

TEST_P(ObjectStoreConformance, RejectsKeysThatEscapeTheLake) {
  for (const char* bad : {"", "/abs", "a/../b", "a//b", "./a", "a/"}) {
    auto st = store_->put(bad, "x");
    ASSERT_FALSE(st.ok()) << bad;
    EXPECT_EQ(st.error().kind, ErrorKind::kInvalidArgument) << bad;
  }
}

TEST_P(ObjectStoreConformance, LargeObjectsRoundTrip) {
  // Above the S3 multipart threshold of this suite (6 MiB; 5 MiB parts): three parts.
  std::string big(11 * 1024 * 1024 + 123, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>((i * 2654435761u) >> 13);
  ASSERT_TRUE(store_->put("big/object.bin", big).ok());
  auto got = store_->get("big/object.bin");
  ASSERT_TRUE(got.ok()) << got.error().message;
  EXPECT_TRUE(*got == big);
  EXPECT_EQ((*store_->list("big/"))[0].size, big.size());
}

TEST_P(ObjectStoreConformance, ConcurrentPutsFromSeveralThreads) {
  std::vector<std::thread> threads;
  std::atomic<int> failures{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        if (!store_->put(fmt::format("c/{}/{}.json", t, i), fmt::format("{}-{}", t, i)).ok()) ++failures;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(failures.load(), 0);
  auto l = store_->list("c/");
  ASSERT_TRUE(l.ok());
  EXPECT_EQ(l->size(), 40u);
  EXPECT_EQ(*store_->get("c/3/7.json"), "3-7");
}

TEST_P(ObjectStoreConformance, UrlOfNamesTheObject) {
  std::string url = store_->url_of(kLakeKey);
  EXPECT_TRUE(url.starts_with("file:///") || url.starts_with("s3://")) << url;
  EXPECT_TRUE(url.ends_with("/" + kLakeKey)) << url;
}

Result<StoreUnderTest> make_file_store(std::string*) {
  auto dir = std::make_shared<TempDir>();
  HRFLOW_ASSIGN_OR_RETURN(auto store, FileStore::open(dir->path() / "lake"));
  return StoreUnderTest{dir, std::move(store)};
}

Result<StoreUnderTest> make_s3_store(std::string* skip) {
  static int bucket_counter = 0;
  S3Instance* s3 = shared_s3(skip);
  if (s3 == nullptr) return StoreUnderTest{};
  S3Options o = s3_options(*s3);
  HRFLOW_ASSIGN_OR_RETURN(auto store, S3Store::open(o, fmt::format("s3://bucket-{}/lake/prefix", ++bucket_counter)));
  HRFLOW_TRY(store->ensure_bucket());
  return StoreUnderTest{nullptr, std::move(store)};
}

INSTANTIATE_TEST_SUITE_P(Stores, ObjectStoreConformance,
                         ::testing::Values(StoreKind{"file", make_file_store}, StoreKind{"s3", make_s3_store}),
                         [](const auto& info) { return info.param.name; });

TEST(FileStore, LeavesNoTemporaryFilesAndResolvesRelativeRoots) {
  TempDir dir;
  auto store = FileStore::open(dir.path() / "a" / "lake");
  ASSERT_TRUE(store.ok());
  ASSERT_TRUE((*store)->put(kLakeKey, "x\n").ok());
  int files = 0;
  for (auto& e : std::filesystem::recursive_directory_iterator(dir.path())) {
    if (e.is_regular_file()) {
      ++files;
      EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
    }
  }
  EXPECT_EQ(files, 1);
  EXPECT_EQ((*store)->url_of("k"), "file://" + (dir.path() / "a" / "lake").string() + "/k");

  auto cfg = Config::defaults();
  ASSERT_TRUE(cfg.set("lake.url", "file://" + (dir.path() / "a" / "lake").string()).ok());
  auto lake = open_lake(cfg);
  ASSERT_TRUE(lake.ok()) << lake.error().message;
  EXPECT_EQ(*(*lake)->get(kLakeKey), "x\n");
}

TEST(FileStore, ListIgnoresTemporaryFilesOfInterruptedPuts) {
  TempDir dir;
  auto store = FileStore::open(dir.path());
  ASSERT_TRUE((*store)->put("d/a.json", "a").ok());
  // What a crash between write and rename leaves behind.
  std::ofstream(dir.path() / "d" / ".b.json.tmp-123-0") << "partial";
  auto l = (*store)->list("d/");
  ASSERT_EQ(l->size(), 1u);
  EXPECT_EQ((*l)[0].key, "d/a.json");
}

TEST(S3Store, UnreachableEndpointIsAClearRetriableError) {
  S3Options o;
  o.endpoint = fmt::format("http://127.0.0.1:{}", hrflow::testing::free_port());
  o.credentials = {"k", "s", ""};
  o.max_attempts = 3;
  o.backoff_initial_ms = 10;
  auto store = S3Store::open(o, "s3://bucket/p");
  ASSERT_TRUE(store.ok());
  auto st = (*store)->put("a.json", "x");
  ASSERT_FALSE(st.ok());
  EXPECT_TRUE(st.error().retriable);
  EXPECT_NE(st.error().message.find("after 3 attempts"), std::string::npos) << st.error().message;
  EXPECT_NE(st.error().message.find(o.endpoint), std::string::npos) << st.error().message;
}

TEST(S3Store, MissingBucketAndCredentialsAreExplained) {
  std::string skip;
  S3Instance* s3 = shared_s3(&skip);
  if (s3 == nullptr) GTEST_SKIP() << "service unavailable: " << skip;
  auto store = S3Store::open(s3_options(*s3), "s3://no-such-bucket");
  ASSERT_TRUE(store.ok());
  auto st = (*store)->put("a.json", "x");
  ASSERT_FALSE(st.ok());
  EXPECT_FALSE(st.error().retriable);
  EXPECT_NE(st.error().message.find("NoSuchBucket"), std::string::npos) << st.error().message;

  S3Options no_creds;
  no_creds.endpoint = s3->endpoint();
  auto bad = S3Store::open(no_creds, "s3://b");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.error().message.find("AWS_ACCESS_KEY_ID"), std::string::npos);
}

TEST(S3Store, OpenLakeReadsTheS3Settings) {
  std::string skip;
  S3Instance* s3 = shared_s3(&skip);
  if (s3 == nullptr) GTEST_SKIP() << "service unavailable: " << skip;
  auto cfg = Config::defaults();
  ASSERT_TRUE(cfg.set("lake.url", "s3://cfg-bucket/pre").ok());
  ASSERT_TRUE(cfg.set("lake.s3.endpoint", s3->endpoint()).ok());
  ASSERT_TRUE(cfg.set("lake.s3.access_key_id", "testing").ok());
  ASSERT_TRUE(cfg.set("lake.s3.secret_access_key", "testing").ok());
  auto lake = open_lake(cfg);
  ASSERT_TRUE(lake.ok()) << lake.error().message;
  ASSERT_TRUE(static_cast<S3Store&>(**lake).ensure_bucket().ok());
  ASSERT_TRUE((*lake)->put(kLakeKey, "line\n").ok());
  EXPECT_EQ((*lake)->url_of(kLakeKey), "s3://cfg-bucket/pre/" + kLakeKey);
  // The object really sits under the prefix in the bucket.
  S3Options o = s3_options(*s3);
  auto raw = S3Store::open(o, "s3://cfg-bucket");
  EXPECT_EQ(*(*raw)->get("pre/" + kLakeKey), "line\n");
}

}  // namespace
}  // namespace hrflow::lake
