// Each fixture's service is real: SQL on PostgreSQL, produce/consume with a consumer group through
// the Kafka mock cluster, PUT/LIST/GET on the S3 API server.
#include <curl/curl.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <librdkafka/rdkafka.h>

#include <memory>
#include <set>

#include "support/fixtures.h"

namespace hrflow::testing {
namespace {

TEST(PostgresFixture, SqlRoundTripWithLogicalReplication) {
  HRFLOW_START_OR_SKIP(pg, PostgresInstance::start());
  std::unique_ptr<PGconn, decltype(&PQfinish)> conn(PQconnectdb(pg->url().c_str()), &PQfinish);
  ASSERT_EQ(PQstatus(conn.get()), CONNECTION_OK) << PQerrorMessage(conn.get());
  auto exec = [&](const char* sql) {
    std::unique_ptr<PGresult, decltype(&PQclear)> r(PQexec(conn.get(), sql), &PQclear);
    auto st = PQresultStatus(r.get());
    EXPECT_TRUE(st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK) << sql << ": " << PQerrorMessage(conn.get());
    return std::string(PQntuples(r.get()) > 0 ? PQgetvalue(r.get(), 0, 0) : "");
  };
  exec("CREATE TABLE t (id int primary key, name text)");
  exec("INSERT INTO t VALUES (1, 'a'), (2, 'b')");
  EXPECT_EQ(exec("SELECT string_agg(name, ',' ORDER BY id) FROM t"), "a,b");
  EXPECT_EQ(exec("SHOW wal_level"), "logical");
}

TEST(KafkaFixture, ProduceAndConsumeWithAConsumerGroup) {
  HRFLOW_START_OR_SKIP(kafka, KafkaInstance::start(6, "fixture-topic"));
  char err[512];
  rd_kafka_conf_t* pconf = rd_kafka_conf_new();
  rd_kafka_conf_set(pconf, "bootstrap.servers", kafka->bootstrap_servers().c_str(), err, sizeof err);
  rd_kafka_conf_set(pconf, "enable.idempotence", "true", err, sizeof err);
  rd_kafka_t* producer = rd_kafka_new(RD_KAFKA_PRODUCER, pconf, err, sizeof err);
  ASSERT_NE(producer, nullptr) << err;
  constexpr int kMessages = 200;
  for (int i = 0; i < kMessages; ++i) {
    std::string key = std::to_string(10001 + i % 17), value = "{\"n\":" + std::to_string(i) + "}";
    auto e = rd_kafka_producev(producer, RD_KAFKA_V_TOPIC("fixture-topic"),
                               RD_KAFKA_V_KEY(key.data(), key.size()),
                               RD_KAFKA_V_VALUE(value.data(), value.size()), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                               RD_KAFKA_V_END);
    ASSERT_EQ(e, RD_KAFKA_RESP_ERR_NO_ERROR) << rd_kafka_err2str(e);
  }
  ASSERT_EQ(rd_kafka_flush(producer, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_destroy(producer);

  rd_kafka_conf_t* cconf = rd_kafka_conf_new();
  rd_kafka_conf_set(cconf, "bootstrap.servers", kafka->bootstrap_servers().c_str(), err, sizeof err);
  rd_kafka_conf_set(cconf, "group.id", "fixture-group", err, sizeof err);
  rd_kafka_conf_set(cconf, "auto.offset.reset", "earliest", err, sizeof err);
  rd_kafka_t* consumer = rd_kafka_new(RD_KAFKA_CONSUMER, cconf, err, sizeof err);
  ASSERT_NE(consumer, nullptr) << err;
  rd_kafka_poll_set_consumer(consumer);
  rd_kafka_topic_partition_list_t* topics = rd_kafka_topic_partition_list_new(1);
  rd_kafka_topic_partition_list_add(topics, "fixture-topic", RD_KAFKA_PARTITION_UA);
  ASSERT_EQ(rd_kafka_subscribe(consumer, topics), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_topic_partition_list_destroy(topics);
  std::set<std::string> seen;
  std::set<int32_t> partitions;
  wait_until(
      [&] {
        rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer, 100);
        if (m != nullptr) {
          if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            seen.insert(std::string(static_cast<char*>(m->payload), m->len));
            partitions.insert(m->partition);
          }
          rd_kafka_message_destroy(m);
        }
        return seen.size() == kMessages;
      },
      std::chrono::seconds(30), std::chrono::milliseconds(0));
  EXPECT_EQ(rd_kafka_commit(consumer, nullptr, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
  rd_kafka_consumer_close(consumer);
  rd_kafka_destroy(consumer);
  EXPECT_EQ(seen.size(), static_cast<size_t>(kMessages));
  EXPECT_GT(partitions.size(), 1u) << "keys spread over several partitions";
}

size_t append_body(char* data, size_t size, size_t n, void* out) {
  static_cast<std::string*>(out)->append(data, size * n);
  return size * n;
}

// One signed S3 request with libcurl's SigV4; returns (HTTP status, body).
std::pair<long, std::string> s3_request(const std::string& method, const std::string& url, const std::string& body = "") {
  CURL* curl = curl_easy_init();
  std::string response;
  curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method.c_str());
  curl_easy_setopt(curl, CURLOPT_AWS_SIGV4, "aws:amz:us-east-1:s3");
  curl_easy_setopt(curl, CURLOPT_USERPWD, "testing:testing");
  curl_easy_setopt(curl, CURLOPT_TIMEOUT, 20L);
  curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, append_body);
  curl_easy_setopt(curl, CURLOPT_WRITEDATA, &response);
  struct curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/octet-stream");
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (method == "PUT") {
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body.c_str());
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  }
  long status = 0;
  auto rc = curl_easy_perform(curl);
  if (rc == CURLE_OK) curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
  curl_easy_cleanup(curl);
  curl_slist_free_all(headers);
  return {status, response};
}

TEST(S3Fixture, PutListGet) {
  HRFLOW_START_OR_SKIP(s3, S3Instance::start());
  std::string base = s3->endpoint() + "/lake-bucket";
  EXPECT_EQ(s3_request("PUT", base).first, 200);
  std::string key = "topics/hr-data-topic/year=2025/month=01/day=01/hour=00/hr-data-topic+0+0000000000.json";
  std::string line = "{\"user_id\":10001,\"heart_rate\":61,\"timestamp\":1735689600}\n";
  EXPECT_EQ(s3_request("PUT", base + "/" + key, line).first, 200);
  auto list = s3_request("GET", base + "?list-type=2&prefix=topics/");
  EXPECT_EQ(list.first, 200);
  EXPECT_NE(list.second.find(key), std::string::npos) << list.second;
  auto get = s3_request("GET", base + "/" + key);
  EXPECT_EQ(get.first, 200);
  EXPECT_EQ(get.second, line);
}

}  // namespace
}  // namespace hrflow::testing
