// The logs' writers and the checker's reader, both generated from core/record_fields.hpp, agree:
// a record the proxy (format_exchange) or the load (format_op) writes is read back by the
// checker's record parser, on its shape path and on its Boost.JSON path, into the values written.
#include "checks/detail/record_parser.hpp"
#include "checks/detail/records.hpp"
#include "core/jsonl.hpp"
#include "core/record_fields.hpp"
#include "load/detail/history_writer.hpp"
#include "proxy/detail/record.hpp"
#include "tests/checks/context.hpp"
#include "tests/support/catch.hpp"

#include <chrono>
#include <set>
#include <string>

using namespace stormgate;
namespace cd = stormgate::checks::detail;

namespace {

// The keys each list writes, from the description.
std::set<std::string> keys_of_exchange() {
  std::set<std::string> k;
#define KEY(name, lv, key, how, target, member, src) k.insert(key);
  STORMGATE_EXCHANGE_FIELDS(KEY)
  return k;
}
std::set<std::string> keys_of_attempt() {
  std::set<std::string> k;
  STORMGATE_ATTEMPT_FIELDS(KEY)
  return k;
}
std::set<std::string> keys_of_op() {
  std::set<std::string> k;
  STORMGATE_HISTORY_OP_FIELDS(KEY)
#undef KEY
  return k;
}

std::set<std::string> keys_in(boost::json::object const& o) {
  std::set<std::string> k;
  for (auto const& kv : o) k.insert(std::string(kv.key()));
  return k;
}

}  // namespace

TEST_CASE("records: an exchange the proxy writes reads back into what it holds", "[records]") {
  auto ctx = test::profile_context("reference");
  proxy::detail::exchange_record x;
  x.id = "px-41";
  x.route = "credits";
  x.conn = 7;
  x.ts = core::sys_us(std::chrono::microseconds(1'796'000'000'123'456));
  x.ts_end = x.ts + std::chrono::microseconds(2100);
  x.method = "POST";
  x.target = "/api/credits/consume";
  x.req_headers = {{"x-stormgate-op", "credit_storm-000017"}, {"idempotency-key", "k-17"}};
  x.req_body = R"({"agent_id":"storm-03","amount":12.5})";
  x.faults.push_back(boost::json::object{{"kind", "mutate"}, {"name", "ml"}, {"path", "amount"}, {"value", 125}, {"applied", true}});
  std::string_view body = R"({"balance_after":987.5,"event_id":"ev-1"})";
  x.upstream.push_back({1, 200, 1900, "", body});
  x.upstream.push_back({2, 200, 800, "", body, "true"});  // the duplicate: the target's stored answer
  x.upstream.push_back({3, 0, 5, "answer: end of stream", std::nullopt});
  x.has_resp = true;
  x.resp_status = 200;
  x.resp_is_upstream = true;
  x.latency_us = 2100;
  x.outcome = "ok";
  std::string line;
  proxy::detail::format_exchange(line, x, 4096);
  INFO(line);

  std::string err;
  auto parsed = core::parse_json(line, err);
  REQUIRE(parsed);
  auto const& o = parsed->as_object();
  auto written = keys_in(o);
  CHECK_FALSE(written.count("error"));  // an exchange without an error leaves it out
  written.insert("error");
  CHECK(written == keys_of_exchange());  // every row of the list written, nothing else
  auto const& up = o.at("upstream").as_array();
  REQUIRE(up.size() == 3);
  std::set<std::string> in_attempts;
  for (auto const& a : up) {
    auto k = keys_in(a.as_object());
    in_attempts.insert(k.begin(), k.end());
  }
  CHECK(in_attempts == keys_of_attempt());
  CHECK_FALSE(up[0].as_object().contains("headers"));  // no header the gates read
  CHECK_FALSE(up[0].as_object().contains("error"));    // an empty error is left out
  CHECK_FALSE(up[2].as_object().contains("body"));
  CHECK(o.at("resp").at("body") == up[0].at("body"));

  std::string file = "traffic.jsonl";
  cd::record_parser shaped(ctx), plain(ctx, false);
  for (auto* p : {&plain, &shaped, &shaped}) {  // the second shaped pass reads from the learnt shape
    cd::record r{};
    REQUIRE(p->parse(cd::log_kind::traffic, line, {&file, 1}, r, err));
    REQUIRE(r.kind == cd::record_kind::exchange);
    auto const& e = *r.x;
    CHECK(e.id == "px-41");
    CHECK(e.route == "credits");
    CHECK(e.method == "POST");
    CHECK(e.target == "/api/credits/consume");
    CHECK(e.outcome == "ok");
    CHECK(e.op_key == "credit_storm-000017");
    CHECK(e.idem_key == "k-17");
    CHECK(e.agent_id == "storm-03");
    CHECK(e.amount == 12.5);
    CHECK(e.ts_us == 1'796'000'000'123'456);
    CHECK(e.ts_end_us == e.ts_us + 2100);
    CHECK(e.latency_us == 2100);
    REQUIRE(e.faults.size() == 1);
    CHECK(e.faults[0].kind == "mutate");
    CHECK(e.faults[0].path == "amount");
    CHECK(e.faults[0].value == 125);
    CHECK(e.faults[0].applied);
    REQUIRE(e.upstream.size() == 3);
    CHECK(e.upstream[0].status == 200);
    CHECK(e.upstream[0].balance_after == 987.5);
    CHECK(e.upstream[0].event_id == "ev-1");
    CHECK_FALSE(e.upstream[0].replayed);
    CHECK(e.upstream[1].replayed);  // the gates tell a replayed duplicate from a second effect
    CHECK(e.upstream[2].status == 0);
    CHECK(e.upstream[2].error == "answer: end of stream");
    CHECK_FALSE(e.upstream[2].has_body);
  }
  CHECK(shaped.shape_hits() >= 1);
}

TEST_CASE("records: a history op the load writes reads back into what it holds", "[records]") {
  auto ctx = test::profile_context("reference");
  std::string ts = core::rfc3339_us(core::sys_us(std::chrono::microseconds(1'796'000'000'654'321)));
  load::op_line op{.type = "fail", .op = "approval_race-000005", .scenario = "approval_race", .f = "approve",
                   .process = 3, .ts = ts, .status = 409, .latency_us = 4501,
                   .value = {R"({"approval_id":"ap-9","balance_after":12.5})"}, .error = "already decided",
                   .cause = "http 409", .attempt = 2, .replayed = true};
  std::string line;
  load::format_op(line, op);
  INFO(line);
  std::string err;
  auto parsed = core::parse_json(line, err);
  REQUIRE(parsed);
  CHECK(keys_in(parsed->as_object()) == keys_of_op());

  load::op_line bare{.type = "invoke", .op = "x-1", .f = "balance", .ts = ts, .value = {"{}"}};
  std::string short_line;
  load::format_op(short_line, bare);
  CHECK(short_line == R"({"v":1,"type":"invoke","op":"x-1","scenario":"","f":"balance","process":0,"ts":")" + ts +
                          R"(","value":{}})");  // what is not set is left out

  std::string file = "history.jsonl";
  cd::record_parser shaped(ctx), plain(ctx, false);
  for (auto* p : {&plain, &shaped, &shaped}) {
    cd::record r{};
    REQUIRE(p->parse(cd::log_kind::history, line, {&file, 1}, r, err));
    REQUIRE(r.kind == cd::record_kind::op);
    auto const& h = *r.h;
    CHECK(h.type == "fail");
    CHECK(h.op == "approval_race-000005");
    CHECK(h.scenario == "approval_race");
    CHECK(h.f == "approve");
    CHECK(h.status == 409);
    CHECK(h.latency_us == 4501);
    CHECK(h.ts_us == 1'796'000'000'654'321);
    CHECK(h.error == "already decided");
    CHECK(h.cause == "http 409");
    CHECK(h.attempt == 2);
    CHECK(h.approval_id == "ap-9");
    CHECK(h.balance_after == 12.5);
  }
}
