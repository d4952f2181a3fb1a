// Lines read from a learnt shape (line_shapes) must give what Boost.JSON's streaming parser gives:
// the same records, field for field and bit for bit, the same errors, on lines that vary every
// scalar (kinds, escapes, non-ASCII, number spellings) and lines broken anywhere.
#include "checks/detail/record_parser.hpp"
#include "tests/checks/context.hpp"
#include "tests/checks/describe_record.hpp"
#include "tests/support/catch.hpp"

#include <cstdio>
#include <cstring>
#include <random>

using namespace stormgate;
using namespace stormgate::checks::detail;
using stormgate::test::describe;

namespace {

// The lines the variations start from: each log's records, with every kind of scalar in places the
// reader keeps and in places it drops.
std::vector<std::pair<log_kind, std::string>> const bases = {
    {log_kind::traffic,
     R"({"v":1,"kind":"exchange","id":"credits-17","route":"credits","conn":4,"ts":"2026-11-24T10:00:00.000001Z","ts_end":"2026-11-24T10:00:00.004120Z",)"
     R"("method":"POST","target":"/api/credits/consume","req":{"headers":{"x-stormgate-op":"credit_storm-000017","idempotency-key":"k:credit_storm-000017",)"
     R"("x-correlation-id":"credit_storm-42"},"body":{"agent_id":"storm-03","amount":12.5,"reason":"storm","flag":true}},)"
     R"("faults":[{"kind":"mutate","rule":"ml","path":"amount","original":12.5,"value":125,"applied":true},{"kind":"delay","rule":"slow","ms":20}],)"
     R"("upstream":[{"n":1,"status":200,"latency_us":2100,"body":{"event_id":"e-17","balance_after":987.5,"balance":null,)"
     R"("metadata":{"ci":0.51,"karma":"ok","anomaly_detected":false,"anomaly_score":0.9}},"headers":{"idempotent-replayed":"true"}},)"
     R"({"n":2,"status":0,"error":"answer: timeout"}],"resp":{"status":200,"body":{"event_id":"e-17","balance_after":987.5}},"latency_us":2400,"outcome":"ok"})"},
    {log_kind::traffic,
     R"({"v":1,"kind":"exchange","id":"credits-9","route":"credits","conn":1,"ts":"2026-11-24T10:00:01.000001Z","ts_end":"2026-11-24T10:00:01.000900Z",)"
     R"("method":"GET","target":"/api/credits/balance/storm-007","req":{"headers":{"x-stormgate-op":"final-007"}},"faults":[],)"
     R"("upstream":[{"n":1,"status":200,"latency_us":400,"body":{"agent_id":"storm-007","balance":1000.25,"balances":{"a":1,"b":null}}}],)"
     R"("resp":{"status":200},"latency_us":500,"outcome":"ok"})"},
    {log_kind::traffic, R"( { "v" : 1 , "kind" : "exchange" , "method" : "POST" , "target" : "/score" , "route" : "karma" , "upstream" : [ ] } )"},
    {log_kind::traffic, R"({"v":1,"kind":"stats","n":[1,2,[3,{"a":[]}]],"x":{}})"},
    {log_kind::history,
     R"({"v":1,"type":"ok","op":"synergy_anti_gaming-000001","scenario":"synergy_anti_gaming","f":"synergy","ts":"2026-11-24T10:00:00.000100Z",)"
     R"("status":200,"latency_us":2400,"attempt":2,"error":"none","value":{"agent_id":"a1","amount":7,"balance_after":10,)"
     R"("balance":null,"event_id":"e-1","approval_id":"ap","state_digest":"d","awarded":5,"requested":7,)"
     R"("synergy_total":12,"capped":true,"detail":"x","balances":{"a1":10},"metadata":{"ci":0.5,"karma":"fallback","anomaly_detected":true}}})"},
    {log_kind::history, R"({"v":1,"type":"sample","ts":"2026-11-24T10:00:05.000000Z","scenario":"soak","value":{"rss_bytes":123456789}})"},
    {log_kind::history, R"({"v":1,"type":"scenario","action":"skip","scenario":"synergy","reason":"no synergy","ts":"2026-11-24T10:00:05.000000Z"})"},
    {log_kind::journal,
     R"({"event_id":"e-2","event_type":"synergie.collaboration_recorded","timestamp":"2026-11-24T10:00:00.5Z","idempotency_key":"k-2",)"
     R"("correlation_id":null,"causation_id":"e-1","schema_version":2,"payload":{"agent_id":"a1","awarded":5,"balance_after":105,)"
     R"("reason":"r","approval_id":"ap","capped":false,"amount":-0.5}})"},
};

// A scalar in place of one of the base line's: of its kind, or of another, or not a scalar at all.
std::string scalar_like(std::mt19937_64& rng, char first) {
  static char const* const numbers[] = {"0", "-0", "7", "-12", "12.5", "-0.0", "0.05", "1000012.50", "1e3", "2.5E-3", "1E+2",
                                        "123456789012345678", "1234567890123456789", "123456789012345678901234567890",
                                        "0.30000000000000004", "987.4999999999999", "9007199254740993.5", "1.7976931348623157e308",
                                        "1e400", "5e-324", "1e-400", "4.35", "0.1", "1e22", "1e23", "3e-22", "3e-23",
                                        "01", "1.", ".5", "-", "1e", "+1", "0x10", "1.5e+"};
  static char const* const strings[] = {"\"\"", "\"plain text\"", "\"storm-003\"", "\"quote \\\" inside\"", "\"tab\\tand\\u0041\"",
                                        "\"caf\xc3\xa9\"", "\"\xff\xfe\"", "\"\\ud83d\\ude00\"", "\"\\ud800\"", "\"ctl\x01\"",
                                        "\"2026-11-24T10:00:00.000777Z\"", "\"2026-11-24T10:00:59.999999Z\"", "\"true\"", "\"/api/credits/add\""};
  static char const* const atoms[] = {"true", "false", "null", "nul", "tru", "[]", "{}", "[1,\"a\"]", "{\"k\":1}"};
  auto pick = [&](auto const& list) { return std::string(list[rng() % std::size(list)]); };
  switch (rng() % 8) {
    case 0: return pick(atoms);
    case 1: return first == '"' ? pick(numbers) : pick(strings);
    default:
      if (first == '"') return pick(strings);
      if (first == 't' || first == 'f' || first == 'n') return pick(atoms);
      return pick(numbers);
  }
}

// The base line with some scalars replaced, and now and then a byte changed, dropped or added.
std::string vary(std::mt19937_64& rng, std::string const& base) {
  std::string out;
  std::size_t i = 0;
  bool key_next = false;
  std::vector<bool> objects;
  while (i < base.size()) {
    char c = base[i];
    if (c == '"') {
      auto j = base.find('"', i + 1);
      auto text = base.substr(i, j + 1 - i);
      i = j + 1;
      bool key = !objects.empty() && objects.back() && key_next;
      key_next = false;
      out += key || rng() % 3 ? text : scalar_like(rng, '"');
      continue;
    }
    if (c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f' || c == 'n') {
      auto j = base.find_first_of(",}] ", i);
      auto text = base.substr(i, j - i);
      i = j;
      out += rng() % 3 ? text : scalar_like(rng, c);
      continue;
    }
    if (c == '{' || c == '[') objects.push_back(c == '{'), key_next = c == '{';
    if (c == '}' || c == ']') objects.pop_back();
    if (c == ',' && !objects.empty() && objects.back()) key_next = true;
    out += c;
    ++i;
  }
  if (rng() % 10 == 0) {
    auto at = rng() % out.size();
    switch (rng() % 3) {
      case 0: out.erase(at, 1); break;
      case 1: out.insert(at, 1, "{}[]:,\" x1\\"[rng() % 11]); break;
      default: out[at] = "{}[]:,\" x1\\"[rng() % 11];
    }
  }
  return out;
}

}  // namespace

TEST_CASE("line_shapes: lines read from a shape give Boost.JSON's records, field for field", "[checks][line_shapes]") {
  // each profile names its fields: the reader keeps other tokens
  auto target = GENERATE(std::string("reference"), std::string("brain"));
  auto ctx = test::profile_context(target);
  record_parser shaped(ctx), plain(ctx, false);
  std::string file = "t.jsonl";
  std::mt19937_64 rng(20261202);
  std::size_t compared = 0, valid = 0;
  for (int round = 0; round < 4000; ++round) {
    for (auto const& [kind, base] : bases) {
      // the base line again and again (its shape is learnt and used), and variations of it
      auto line = round % 4 == 0 ? base : vary(rng, base);
      record a{}, b{};
      std::string ea, eb;
      bool oa = shaped.parse(kind, line, {&file, 1}, a, ea);
      auto da = describe(oa, a, ea);
      bool ob = plain.parse(kind, line, {&file, 1}, b, eb);
      auto db = describe(ob, b, eb);
      INFO(line);
      REQUIRE(da == db);
      ++compared;
      valid += ob;
    }
  }
  CHECK(compared == 4000 * bases.size());
  CHECK(valid > compared / 3);  // the variations are not all broken lines
  CHECK(valid < compared);      // and some are
  // most valid lines were read from a shape
  CHECK(shaped.shape_hits() > valid / 4);
  CHECK(plain.shape_hits() == 0);
}

TEST_CASE("line_shapes: numbers the reader keeps are Boost.JSON's doubles, bit for bit", "[checks][line_shapes]") {
  auto ctx = test::profile_context();
  record_parser shaped(ctx), plain(ctx, false);
  std::string file = "t.jsonl";
  std::mt19937_64 rng(7);
  auto line_with = [](std::string const& amount) {
    return R"({"v":1,"kind":"exchange","method":"POST","target":"/api/credits/consume","req":{"body":{"agent_id":"a","amount":)" + amount + "}}}";
  };
  record a{}, b{};
  std::string ea, eb;
  REQUIRE(shaped.parse(log_kind::traffic, line_with("1.5"), {&file, 1}, a, ea));
  std::size_t from_shape = shaped.shape_hits();
  char buf[80];
  for (int k = 0; k < 200000; ++k) {
    auto r = rng();
    switch (k % 5) {
      case 0: std::snprintf(buf, sizeof buf, "%.2f", static_cast<double>(r % 100000000000ull) / 100.0); break;
      case 1: std::snprintf(buf, sizeof buf, "%.*f", static_cast<int>(r % 17), static_cast<double>(r % 1000000000ull) / 997.0); break;
      case 2: std::snprintf(buf, sizeof buf, "%llue%d", static_cast<unsigned long long>(r % 100000000000000000ull), static_cast<int>(r % 50) - 25); break;
      case 3: std::snprintf(buf, sizeof buf, "-%llu.%llu", static_cast<unsigned long long>(r % 10000000),
                            static_cast<unsigned long long>((r >> 24) % 100000000000ull)); break;
      default: std::snprintf(buf, sizeof buf, "%.17g", std::ldexp(static_cast<double>(r >> 11), static_cast<int>(r % 120) - 60));
    }
    auto line = line_with(buf);
    bool oa = shaped.parse(log_kind::traffic, line, {&file, 1}, a, ea);
    bool ob = plain.parse(log_kind::traffic, line, {&file, 1}, b, eb);
    INFO(line);
    REQUIRE(oa == ob);
    REQUIRE(oa);
    REQUIRE(a.x->amount.has_value());
    REQUIRE(std::memcmp(&*a.x->amount, &*b.x->amount, sizeof(double)) == 0);
  }
  // every line came from the shape, long numbers and all
  CHECK(shaped.shape_hits() - from_shape == 200000);
}

TEST_CASE("line_shapes: a log of ever new shapes still reads right, and no line takes another's shape", "[checks][line_shapes]") {
  auto ctx = test::profile_context();
  record_parser shaped(ctx), plain(ctx, false);
  std::string file = "t.jsonl";
  for (int k = 0; k < 3000; ++k) {
    // a balances answer keyed by ever new agents: every line a shape of its own
    auto line = R"({"v":1,"kind":"exchange","method":"GET","target":"/api/credits/balances","upstream":[{"status":200,"body":{"balances":{"a)" +
                std::to_string(k) + R"(":1.5,"b":2}}}]})";
    record a{}, b{};
    std::string ea, eb;
    bool oa = shaped.parse(log_kind::traffic, line, {&file, 1}, a, ea);
    bool ob = plain.parse(log_kind::traffic, line, {&file, 1}, b, eb);
    REQUIRE(describe(oa, a, ea) == describe(ob, b, eb));
    REQUIRE(oa);
  }
  // no line matched another agent's shape: each was read by Boost.JSON, or by the shape it taught
  CHECK(shaped.shape_hits() == 0);
}

TEST_CASE("line_shapes: shapes that share their first part read right in any order, and skip what a line failed before", "[checks][line_shapes]") {
  auto ctx = test::profile_context();
  record_parser shaped(ctx), plain(ctx, false);
  std::string file = "t.jsonl";
  // one layout up to its faults, then without, with one, or with two; and one that parts earlier
  std::string const head =
      R"({"v":1,"kind":"exchange","id":"credits-3","route":"credits","ts":"2026-11-24T10:00:00.000001Z","method":"POST",)"
      R"("target":"/api/credits/consume","req":{"headers":{"x-stormgate-op":"op-3","idempotency-key":"op-3"},)"
      R"("body":{"agent_id":"storm-1","amount":2.5}},"faults":)";
  std::string const tail = R"(,"upstream":[{"n":1,"status":200,"body":{"event_id":"e-3","balance_after":97.5}}],"latency_us":90,"outcome":"ok"})";
  std::vector<std::string> const layouts = {
      head + "[]" + tail,
      head + R"([{"kind":"duplicate","rule":"dup","copies":2}])" + tail,
      head + R"([{"kind":"mutate","rule":"m","path":"amount","value":25},{"kind":"delay","rule":"d","ms":5}])" + tail,
      R"({"v":1,"kind":"exchange","id":"credits-4","route":"credits","ts":"2026-11-24T10:00:00.000002Z","method":"GET",)"
      R"("target":"/api/credits/balance/storm-1","req":{"headers":{"x-stormgate-op":"final-1"}},"faults":[],)"
      R"("upstream":[{"n":1,"status":200,"body":{"agent_id":"storm-1","balance":97.5}}],"outcome":"ok"})",
  };
  std::mt19937_64 rng(11);
  std::size_t valid = 0;
  for (int k = 0; k < 20000; ++k) {
    auto const& base = layouts[rng() % layouts.size()];
    auto line = rng() % 2 ? base : vary(rng, base);
    record a{}, b{};
    std::string ea, eb;
    bool oa = shaped.parse(log_kind::traffic, line, {&file, 1}, a, ea);
    bool ob = plain.parse(log_kind::traffic, line, {&file, 1}, b, eb);
    INFO(line);
    REQUIRE(describe(oa, a, ea) == describe(ob, b, eb));
    valid += ob;
  }
  CHECK(valid > 10000);
  CHECK(shaped.shape_hits() > 10000);
  // a line that failed one layout at its faults was not compared with the other layouts that
  // hold the same bytes up to there
  CHECK(shaped.shape_skips() > 1000);
}
