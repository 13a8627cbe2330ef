#include "stream/kafka.h"

#include <librdkafka/rdkafka.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <mutex>
#include <optional>
#include <thread>

namespace hrflow::stream {
namespace {

struct ConfDeleter {
  void operator()(rd_kafka_conf_t* c) const { rd_kafka_conf_destroy(c); }
};
struct TopicDeleter {
  void operator()(rd_kafka_topic_t* t) const { rd_kafka_topic_destroy(t); }
};
struct PartitionListDeleter {
  void operator()(rd_kafka_topic_partition_list_t* l) const { rd_kafka_topic_partition_list_destroy(l); }
};
struct MetadataDeleter {
  void operator()(const rd_kafka_metadata_t* m) const { rd_kafka_metadata_destroy(m); }
};
using ConfPtr = std::unique_ptr<rd_kafka_conf_t, ConfDeleter>;
using TopicPtr = std::unique_ptr<rd_kafka_topic_t, TopicDeleter>;
using PartitionListPtr = std::unique_ptr<rd_kafka_topic_partition_list_t, PartitionListDeleter>;
using MetadataPtr = std::unique_ptr<const rd_kafka_metadata_t, MetadataDeleter>;
struct QueueDeleter {
  void operator()(rd_kafka_queue_t* q) const { rd_kafka_queue_destroy(q); }
};
using QueuePtr = std::unique_ptr<rd_kafka_queue_t, QueueDeleter>;
struct MessageDeleter {
  void operator()(rd_kafka_message_t* m) const { rd_kafka_message_destroy(m); }
};
using MessagePtr = std::unique_ptr<rd_kafka_message_t, MessageDeleter>;

// Errors librdkafka reports outside of any call (connection refused, authentication failed...). The
// last one makes "cannot reach the cluster" messages say why.
struct ClientErrors {
  std::mutex mu;
  std::string last;
  std::atomic<bool> all_brokers_down{false};
  std::atomic<bool> fatal{false};
  std::string get() {
    std::lock_guard lock(mu);
    return last;
  }
};

void error_cb(rd_kafka_t*, int err, const char* reason, void* opaque) {
  auto* e = static_cast<ClientErrors*>(opaque);
  {
    std::lock_guard lock(e->mu);
    e->last = reason;
  }
  if (err == RD_KAFKA_RESP_ERR__ALL_BROKERS_DOWN || err == RD_KAFKA_RESP_ERR__AUTHENTICATION ||
      err == RD_KAFKA_RESP_ERR__RESOLVE || err == RD_KAFKA_RESP_ERR__SSL) {
    e->all_brokers_down = true;
  }
  if (err == RD_KAFKA_RESP_ERR__FATAL) e->fatal = true;
}

void log_cb(const rd_kafka_t*, int level, const char* fac, const char* buf) {
  if (level <= 3) spdlog::debug("librdkafka {}: {}", fac, buf);  // surfaced through error_cb as well
}

// The client handle; destroying it stops librdkafka's threads.
struct Client {
  rd_kafka_t* rk = nullptr;
  ClientErrors errors;
  ~Client() {
    if (rk) rd_kafka_destroy(rk);
  }
};

Status set(rd_kafka_conf_t* conf, const std::string& name, const std::string& value, bool secret = false) {
  char err[512];
  if (rd_kafka_conf_set(conf, name.c_str(), value.c_str(), err, sizeof err) != RD_KAFKA_CONF_OK) {
    return invalid_argument("Kafka property {}={}: {} (see stream.kafka.properties)", name,
                            secret ? "****" : value, err);
  }
  return {};
}

// hrflow's defaults, then every stream.kafka.properties entry, then the SASL password.
Result<ConfPtr> make_conf(const Config& config, ClientErrors* errors,
                          const std::vector<std::pair<std::string, std::string>>& defaults) {
  ConfPtr conf(rd_kafka_conf_new());
  HRFLOW_TRY(set(conf.get(), "bootstrap.servers", config.get_string("stream.kafka.bootstrap_servers")));
  HRFLOW_TRY(set(conf.get(), "log_level", "3"));
  for (const auto& [k, v] : defaults) HRFLOW_TRY(set(conf.get(), k, v));
  for (const auto& [k, v] : config.get_map("stream.kafka.properties")) {
    HRFLOW_TRY(set(conf.get(), k, v, k.find("password") != std::string::npos || k.find("secret") != std::string::npos));
  }
  if (auto pw = config.get_string("stream.kafka.sasl_password"); !pw.empty()) {
    HRFLOW_TRY(set(conf.get(), "sasl.password", pw, true));
  }
  rd_kafka_conf_set_opaque(conf.get(), errors);
  rd_kafka_conf_set_error_cb(conf.get(), error_cb);
  rd_kafka_conf_set_log_cb(conf.get(), log_cb);
  return conf;
}

// Ask the cluster for its metadata until it answers, a broker error says it cannot, or the deadline.
Result<MetadataPtr> cluster_metadata(Client& c, const std::string& servers) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kKafkaConnectTimeoutMs);
  rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
  for (;;) {
    const rd_kafka_metadata_t* md = nullptr;
    err = rd_kafka_metadata(c.rk, 1, nullptr, &md, 500);
    if (err == RD_KAFKA_RESP_ERR_NO_ERROR) return MetadataPtr(md);
    rd_kafka_poll(c.rk, 0);  // serve error_cb: "connection refused" ends the wait early
    if (c.errors.all_brokers_down || std::chrono::steady_clock::now() >= deadline) break;
  }
  std::string why = c.errors.get();
  return make_error(ErrorKind::kUnavailable,
                    "cannot reach Kafka at {} (waited at most {} s): {}. Check stream.kafka.bootstrap_servers, "
                    "that the brokers run, and for secured clusters security.protocol / sasl.* in "
                    "stream.kafka.properties",
                    servers, kKafkaConnectTimeoutMs / 1000, why.empty() ? rd_kafka_err2str(err) : why);
}

const rd_kafka_metadata_topic_t* find_topic(const rd_kafka_metadata_t* md, const std::string& topic) {
  for (int i = 0; i < md->topic_cnt; ++i) {
    if (topic == md->topics[i].topic && md->topics[i].err == RD_KAFKA_RESP_ERR_NO_ERROR) return &md->topics[i];
  }
  return nullptr;
}

Status create_topic(Client& c, const Config& config, const std::string& topic) {
  char err[512];
  const auto partitions = static_cast<int>(config.get_int("stream.partitions"));
  rd_kafka_NewTopic_t* nt = rd_kafka_NewTopic_new(topic.c_str(), partitions, -1, err, sizeof err);
  if (nt == nullptr) return invalid_argument("cannot describe topic {}: {}", topic, err);
  rd_kafka_NewTopic_set_config(nt, "retention.ms", std::to_string(config.get_duration_ms("stream.retention")).c_str());
  rd_kafka_queue_t* q = rd_kafka_queue_new(c.rk);
  rd_kafka_AdminOptions_t* opts = rd_kafka_AdminOptions_new(c.rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
  rd_kafka_AdminOptions_set_request_timeout(opts, kKafkaConnectTimeoutMs, err, sizeof err);
  rd_kafka_CreateTopics(c.rk, &nt, 1, opts, q);
  rd_kafka_event_t* ev = rd_kafka_queue_poll(q, kKafkaConnectTimeoutMs + 2000);
  Status st;
  if (ev == nullptr) {
    st = make_error(ErrorKind::kUnavailable, "creating topic {} timed out", topic);
  } else if (rd_kafka_event_error(ev)) {
    st = io_error("cannot create topic {}: {}", topic, rd_kafka_event_error_string(ev));
  } else {
    size_t n = 0;
    const rd_kafka_topic_result_t** res = rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    for (size_t i = 0; i < n; ++i) {
      auto e = rd_kafka_topic_result_error(res[i]);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR && e != RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        const char* msg = rd_kafka_topic_result_error_string(res[i]);
        st = io_error("cannot create topic {} ({} partitions): {}. Create it yourself or allow topic creation",
                      topic, partitions, msg ? msg : rd_kafka_err2str(e));
      }
    }
    if (st.ok()) spdlog::info("created Kafka topic {} with {} partitions", topic, partitions);
  }
  if (ev) rd_kafka_event_destroy(ev);
  rd_kafka_AdminOptions_destroy(opts);
  rd_kafka_NewTopic_destroy(nt);
  rd_kafka_queue_destroy(q);
  return st;
}

// Reach the cluster and make sure the topic exists (creating it when allowed); its partition count.
Result<int> prepare_topic(Client& c, const Config& config) {
  const std::string servers = config.get_string("stream.kafka.bootstrap_servers");
  const std::string topic = config.get_string("stream.topic");
  HRFLOW_ASSIGN_OR_RETURN(MetadataPtr md, cluster_metadata(c, servers));
  if (const auto* t = find_topic(md.get(), topic)) return t->partition_cnt;
  if (!config.get_bool("stream.kafka.create_topic")) {
    return make_error(ErrorKind::kNotFound,
                      "topic {} does not exist on Kafka at {} and stream.kafka.create_topic is false: create it "
                      "({} partitions) or allow hrflow to",
                      topic, servers, config.get_int("stream.partitions"));
  }
  HRFLOW_TRY(create_topic(c, config, topic));
  // Wait until the new topic's leaders are known, so the first records do not wait on metadata.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kKafkaConnectTimeoutMs);
  while (std::chrono::steady_clock::now() < deadline) {
    HRFLOW_ASSIGN_OR_RETURN(md, cluster_metadata(c, servers));
    if (const auto* t = find_topic(md.get(), topic)) return t->partition_cnt;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return make_error(ErrorKind::kUnavailable, "topic {} was created but does not show up in the metadata of {}",
                    topic, servers);
}

// --- producer ------------------------------------------------------------------------------------

class KafkaProducer final : public StreamProducer {
 public:
  static Result<std::unique_ptr<StreamProducer>> open(const Config& config) {
    std::unique_ptr<KafkaProducer> p(new KafkaProducer());
    p->config_ = config;
    p->topic_name_ = config.get_string("stream.topic");
    // Throughput: large, lz4-compressed batches gathered for a few ms; a generous local queue.
    // Idempotence keeps retries free of duplicates and reordering (acks=all, in-flight <= 5).
    HRFLOW_ASSIGN_OR_RETURN(ConfPtr conf, make_conf(config, &p->client_.errors,
                                                    {{"enable.idempotence", "true"},
                                                     {"compression.type", "lz4"},
                                                     {"linger.ms", "20"},
                                                     {"batch.size", "1000000"},
                                                     {"batch.num.messages", "100000"},
                                                     {"queue.buffering.max.messages", "1000000"},
                                                     {"queue.buffering.max.kbytes", "524288"},
                                                     {"message.timeout.ms", "120000"},
                                                     {"partitioner", "murmur2_random"}}));
    rd_kafka_conf_set_dr_msg_cb(conf.get(), &KafkaProducer::delivered);
    char err[512];
    p->client_.rk = rd_kafka_new(RD_KAFKA_PRODUCER, conf.get(), err, sizeof err);
    if (p->client_.rk == nullptr) return invalid_argument("cannot create the Kafka producer: {}", err);
    (void)conf.release();  // owned by rk now
    HRFLOW_TRY(prepare_topic(p->client_, config));
    p->topic_.reset(rd_kafka_topic_new(p->client_.rk, p->topic_name_.c_str(), nullptr));
    if (!p->topic_) return io_error("cannot open topic {}: {}", p->topic_name_, rd_kafka_err2str(rd_kafka_last_error()));
    return std::unique_ptr<StreamProducer>(std::move(p));
  }

  ~KafkaProducer() override {
    if (client_.rk == nullptr) return;  // opening failed before the client existed
    if (Status st = flush(); !st.ok()) spdlog::error("closing the Kafka producer: {}", st.error().message);
    topic_.reset();
  }

  Status send(std::string_view key, std::string_view value, int64_t timestamp_ms) override {
    if (failed_) return first_error();
    for (;;) {
      rd_kafka_resp_err_t err = rd_kafka_producev(
          client_.rk, RD_KAFKA_V_RKT(topic_.get()), RD_KAFKA_V_KEY(key.data(), key.size()),
          RD_KAFKA_V_VALUE(const_cast<char*>(value.data()), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
          RD_KAFKA_V_TIMESTAMP(timestamp_ms), RD_KAFKA_V_OPAQUE(this), RD_KAFKA_V_END);
      if (err == RD_KAFKA_RESP_ERR_NO_ERROR) break;
      if (err != RD_KAFKA_RESP_ERR__QUEUE_FULL) {
        return io_error("cannot queue a record for Kafka topic {}: {}", topic_name_, rd_kafka_err2str(err));
      }
      rd_kafka_poll(client_.rk, 100);  // the local queue is full: serve delivery reports, then retry
      if (failed_) return first_error();
    }
    if ((++sent_ & 1023) == 0) rd_kafka_poll(client_.rk, 0);
    return {};
  }

  Status flush() override {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(130);  // > message.timeout.ms
    while (rd_kafka_outq_len(client_.rk) > 0) {
      rd_kafka_flush(client_.rk, 500);
      if (client_.errors.fatal) {
        char why[512];
        rd_kafka_fatal_error(client_.rk, why, sizeof why);
        record_error(io_error("the Kafka producer hit a fatal error: {}", why));
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        return make_error(ErrorKind::kUnavailable, "Kafka did not acknowledge {} records of topic {} in time",
                          rd_kafka_outq_len(client_.rk), topic_name_);
      }
    }
    if (failed_) return first_error();
    return {};
  }

  uint64_t acknowledged() const override { return acked_.load(); }

  // The high watermark of a partition is one past its newest acknowledged record. A short-lived
  // consumer without a group (the simple-consumer API: no group.id, no rebalance, nothing committed)
  // fetches the record at high - 1 of every non-empty partition, within a bounded time.
  Result<StreamEnd> last_records() override {
    HRFLOW_TRY(flush());
    const std::string servers = config_.get_string("stream.kafka.bootstrap_servers");
    HRFLOW_ASSIGN_OR_RETURN(MetadataPtr md, cluster_metadata(client_, servers));
    const rd_kafka_metadata_topic_t* topic = find_topic(md.get(), topic_name_);
    if (topic == nullptr) {
      return make_error(ErrorKind::kNotFound, "topic {} disappeared from Kafka at {}", topic_name_, servers);
    }
    StreamEnd end;
    end.partitions = topic->partition_cnt;
    std::map<int32_t, int64_t> wanted;  // partition -> offset of its newest record
    for (int32_t p = 0; p < end.partitions; ++p) {
      int64_t lo = 0, hi = 0;
      auto e = rd_kafka_query_watermark_offsets(client_.rk, topic_name_.c_str(), p, &lo, &hi, kKafkaConnectTimeoutMs);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return make_error(ErrorKind::kUnavailable, "cannot read the end offset of topic {} partition {}: {}",
                          topic_name_, p, rd_kafka_err2str(e));
      }
      if (hi > lo) wanted[p] = hi - 1;
    }
    if (wanted.empty()) return end;

    Client reader;
    HRFLOW_ASSIGN_OR_RETURN(ConfPtr conf, make_conf(config_, &reader.errors, {{"enable.partition.eof", "false"}}));
    char err[512];
    reader.rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof err);
    if (reader.rk == nullptr) return invalid_argument("cannot create a Kafka consumer to read the topic's end: {}", err);
    (void)conf.release();
    TopicPtr rkt(rd_kafka_topic_new(reader.rk, topic_name_.c_str(), nullptr));
    QueuePtr queue(rd_kafka_queue_new(reader.rk));
    std::vector<int32_t> started;
    Status st;
    for (auto [p, offset] : wanted) {
      if (rd_kafka_consume_start_queue(rkt.get(), p, offset, queue.get()) != 0) {
        st = io_error("cannot read topic {} partition {} at offset {}: {}", topic_name_, p, offset,
                      rd_kafka_err2str(rd_kafka_last_error()));
        break;
      }
      started.push_back(p);
    }
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(kKafkaConnectTimeoutMs);
    while (st.ok() && end.last.size() < wanted.size() && std::chrono::steady_clock::now() < deadline) {
      MessagePtr m(rd_kafka_consume_queue(queue.get(), 200));
      if (!m) continue;
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        st = make_error(ErrorKind::kIo, "reading the newest record of topic {} partition {}: {}", topic_name_,
                        m->partition, rd_kafka_message_errstr(m.get()));
        break;
      }
      if (m->offset != wanted[m->partition]) continue;  // only the newest record matters
      Record r;
      r.partition = m->partition;
      r.offset = m->offset;
      r.timestamp_ms = rd_kafka_message_timestamp(m.get(), nullptr);
      if (m->key) r.key.assign(static_cast<const char*>(m->key), m->key_len);
      if (m->payload) r.value.assign(static_cast<const char*>(m->payload), m->len);
      end.last[r.partition] = std::move(r);
    }
    for (int32_t p : started) rd_kafka_consume_stop(rkt.get(), p);
    HRFLOW_TRY(st);
    if (end.last.size() < wanted.size()) {
      for (auto [p, offset] : wanted) {
        if (!end.last.count(p)) {
          return make_error(ErrorKind::kUnavailable,
                            "Kafka did not return the newest record of topic {} partition {} (offset {}) within {} s",
                            topic_name_, p, offset, kKafkaConnectTimeoutMs / 1000);
        }
      }
    }
    return end;
  }

 private:
  KafkaProducer() = default;

  static void delivered(rd_kafka_t*, const rd_kafka_message_t* m, void*) {
    auto* self = static_cast<KafkaProducer*>(m->_private);
    if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
      self->acked_.fetch_add(1, std::memory_order_relaxed);
    } else {
      self->record_error(io_error("Kafka did not take a record of topic {} partition {}: {}", self->topic_name_,
                                  m->partition, rd_kafka_err2str(m->err)));
    }
  }

  void record_error(Error e) {
    std::lock_guard lock(mu_);
    if (!error_) error_ = std::move(e);
    failed_ = true;
  }
  Status first_error() {
    std::lock_guard lock(mu_);
    return *error_;
  }

  Client client_;
  TopicPtr topic_;
  Config config_;  // to open the short-lived reader of last_records() with the same properties
  std::string topic_name_;
  uint64_t sent_ = 0;
  std::atomic<uint64_t> acked_{0};
  std::atomic<bool> failed_{false};
  std::mutex mu_;
  std::optional<Error> error_;
};

// --- consumer ------------------------------------------------------------------------------------

class KafkaConsumer final : public StreamConsumer {
 public:
  static constexpr size_t kMaxPollRecords = 4096;

  static Result<std::unique_ptr<StreamConsumer>> open(const Config& config, const std::string& group) {
    std::unique_ptr<KafkaConsumer> c(new KafkaConsumer());
    c->topic_name_ = config.get_string("stream.topic");
    HRFLOW_ASSIGN_OR_RETURN(ConfPtr conf, make_conf(config, &c->client_.errors,
                                                    {{"group.id", group},
                                                     {"enable.auto.commit", "false"},
                                                     {"enable.auto.offset.store", "false"},
                                                     {"auto.offset.reset", "earliest"},
                                                     {"fetch.max.bytes", "52428800"},
                                                     // Keep fetching while records wait to be polled: with the
                                                     // default (100,000) the sink's polls came back empty for up
                                                     // to half a second at a time while it wrote (seen with
                                                     // strace on bench/sink.sh's Kafka run, which measures the
                                                     // gain). Memory stays bounded by queued.max.messages.kbytes.
                                                     {"queued.min.messages", "1000000"}}));
    char err[512];
    c->client_.rk = rd_kafka_new(RD_KAFKA_CONSUMER, conf.get(), err, sizeof err);
    if (c->client_.rk == nullptr) return invalid_argument("cannot create the Kafka consumer: {}", err);
    (void)conf.release();
    // Before the main queue goes to the consumer queue.
    HRFLOW_ASSIGN_OR_RETURN(const int partition_count, prepare_topic(c->client_, config));
    rd_kafka_poll_set_consumer(c->client_.rk);
    const std::string assignment = config.get_string("stream.kafka.assignment");
    if (assignment == "group") {
      PartitionListPtr topics(rd_kafka_topic_partition_list_new(1));
      rd_kafka_topic_partition_list_add(topics.get(), c->topic_name_.c_str(), RD_KAFKA_PARTITION_UA);
      if (auto e = rd_kafka_subscribe(c->client_.rk, topics.get()); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return io_error("cannot subscribe to Kafka topic {}: {}", c->topic_name_, rd_kafka_err2str(e));
      }
    } else {
      // Static assignment, as stream processors that keep their own positions do: no group membership,
      // so no wait for the group to settle. Each partition starts at the group's committed position
      // (RD_KAFKA_OFFSET_INVALID), or at auto.offset.reset when there is none.
      HRFLOW_ASSIGN_OR_RETURN(auto partitions, parse_partition_list(assignment, partition_count));
      PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(partitions.size())));
      for (int32_t p : partitions) {
        rd_kafka_topic_partition_list_add(list.get(), c->topic_name_.c_str(), p)->offset = RD_KAFKA_OFFSET_INVALID;
      }
      if (auto e = rd_kafka_assign(c->client_.rk, list.get()); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return io_error("cannot assign partitions {} of Kafka topic {}: {}", assignment, c->topic_name_,
                        rd_kafka_err2str(e));
      }
    }
    c->consuming_ = true;
    return std::unique_ptr<StreamConsumer>(std::move(c));
  }

  ~KafkaConsumer() override {
    if (consuming_) rd_kafka_consumer_close(client_.rk);
  }

  Result<std::vector<Record>> poll(size_t max_records, int timeout_ms) override {
    // At most a few thousand records per call: a batch that stays in the CPU caches between being read
    // here and written by the caller. With 50,000 per call, filling the vector took a tenth of the
    // sink's samples under perf, and bench/sink.sh's Kafka run went from 0.82 to 0.89 of kcat -C with
    // this cap. Whatever is left waits, already fetched, for the next call.
    max_records = std::min<size_t>(max_records, kMaxPollRecords);
    std::vector<Record> out;
    out.reserve(max_records);
    int wait = timeout_ms;
    while (out.size() < max_records) {
      rd_kafka_message_t* m = rd_kafka_consumer_poll(client_.rk, wait);
      if (m == nullptr) break;
      std::unique_ptr<rd_kafka_message_t, void (*)(rd_kafka_message_t*)> guard(m, rd_kafka_message_destroy);
      if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) continue;
      if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return make_error(ErrorKind::kIo, "Kafka topic {} partition {} offset {}: {}", topic_name_, m->partition,
                          m->offset, rd_kafka_message_errstr(m));
      }
      Record r;
      r.partition = m->partition;
      r.offset = m->offset;
      r.timestamp_ms = rd_kafka_message_timestamp(m, nullptr);
      if (m->key) r.key.assign(static_cast<const char*>(m->key), m->key_len);
      if (m->payload) r.value.assign(static_cast<const char*>(m->payload), m->len);
      positions_[r.partition] = r.offset + 1;
      out.push_back(std::move(r));
      wait = 0;  // the first record came: take what is already fetched, without waiting more
    }
    return out;
  }

  Status commit(const Positions& positions) override {
    auto assigned = assignment();
    PartitionListPtr list(rd_kafka_topic_partition_list_new(static_cast<int>(positions.size())));
    for (auto [p, off] : positions) {
      if (std::find(assigned.begin(), assigned.end(), p) == assigned.end()) continue;  // revoked meanwhile
      rd_kafka_topic_partition_list_add(list.get(), topic_name_.c_str(), p)->offset = off;
    }
    if (list->cnt == 0) return {};
    if (auto e = rd_kafka_commit(client_.rk, list.get(), 0); e != RD_KAFKA_RESP_ERR_NO_ERROR) {
      return make_error(ErrorKind::kIo, "cannot commit positions of topic {} for the consumer group: {}",
                        topic_name_, rd_kafka_err2str(e));
    }
    return {};
  }

  std::vector<int32_t> assignment() const override {
    rd_kafka_topic_partition_list_t* raw = nullptr;
    std::vector<int32_t> out;
    if (rd_kafka_assignment(client_.rk, &raw) != RD_KAFKA_RESP_ERR_NO_ERROR || raw == nullptr) return out;
    PartitionListPtr list(raw);
    for (int i = 0; i < list->cnt; ++i) out.push_back(list->elems[i].partition);
    std::sort(out.begin(), out.end());
    return out;
  }

  Result<std::map<int32_t, int64_t>> lag() override {
    std::map<int32_t, int64_t> out;
    for (int32_t p : assignment()) {
      int64_t lo = 0, hi = 0;
      // The watermarks the last fetch response carried cost nothing; asking the broker waits behind
      // the connection's pending fetch (up to fetch.wait.max.ms), so only ask when none are cached.
      auto e = rd_kafka_get_watermark_offsets(client_.rk, topic_name_.c_str(), p, &lo, &hi);
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR || hi < 0 || lo < 0) {
        e = rd_kafka_query_watermark_offsets(client_.rk, topic_name_.c_str(), p, &lo, &hi, 5000);
      }
      if (e != RD_KAFKA_RESP_ERR_NO_ERROR) {
        return make_error(ErrorKind::kIo, "cannot read the end offset of topic {} partition {}: {}", topic_name_, p,
                          rd_kafka_err2str(e));
      }
      int64_t pos = lo;
      if (auto it = positions_.find(p); it != positions_.end()) {
        pos = it->second;
      } else {
        PartitionListPtr list(rd_kafka_topic_partition_list_new(1));
        rd_kafka_topic_partition_list_add(list.get(), topic_name_.c_str(), p);
        if (rd_kafka_committed(client_.rk, list.get(), 5000) == RD_KAFKA_RESP_ERR_NO_ERROR &&
            list->elems[0].offset >= 0) {
          pos = list->elems[0].offset;
        }
      }
      out[p] = std::max<int64_t>(0, hi - pos);
    }
    return out;
  }

 private:
  KafkaConsumer() = default;
  Client client_;
  std::string topic_name_;
  bool consuming_ = false;  // subscribed or assigned: close the consumer
  Positions positions_;
};

}  // namespace

Result<std::vector<int32_t>> parse_partition_list(std::string_view text, int partition_count) {
  auto bad = [&](std::string_view why) {
    return invalid_argument("stream.kafka.assignment '{}': {}; use group, all, or partitions such as 0-5,9 "
                            "(the topic has partitions 0-{})",
                            text, why, partition_count - 1);
  };
  std::vector<int32_t> out;
  if (text == "all") {
    for (int32_t p = 0; p < partition_count; ++p) out.push_back(p);
    return out;
  }
  auto number = [](std::string_view s, int32_t& v) {
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    return ec == std::errc() && end == s.data() + s.size() && v >= 0;
  };
  size_t pos = 0;
  while (pos <= text.size()) {
    size_t comma = text.find(',', pos);
    std::string_view item = text.substr(pos, comma == std::string_view::npos ? std::string_view::npos : comma - pos);
    while (!item.empty() && item.front() == ' ') item.remove_prefix(1);
    while (!item.empty() && item.back() == ' ') item.remove_suffix(1);
    size_t dash = item.find('-');
    int32_t lo = 0, hi = 0;
    if (dash == std::string_view::npos ? !number(item, lo) : !number(item.substr(0, dash), lo) || !number(item.substr(dash + 1), hi)) {
      return bad(fmt::format("'{}' is not a partition number or range", item));
    }
    if (dash == std::string_view::npos) hi = lo;
    if (hi < lo) return bad(fmt::format("range '{}' runs backwards", item));
    if (hi >= partition_count) return bad(fmt::format("partition {} does not exist", hi));
    for (int32_t p = lo; p <= hi; ++p) out.push_back(p);
    if (comma == std::string_view::npos) break;
    pos = comma + 1;
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<std::unique_ptr<StreamProducer>> open_kafka_producer(const Config& config) {
  return KafkaProducer::open(config);
}

Result<std::unique_ptr<StreamConsumer>> open_kafka_consumer(const Config& config, const std::string& group) {
  return KafkaConsumer::open(config, group);
}

}  // namespace hrflow::stream
