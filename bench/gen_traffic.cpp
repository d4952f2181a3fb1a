// Generates a traffic log (docs/formats.md `exchange` records, as the proxy writes them) of N
// records for benchmarking `stormgate check`: consumes, adds, balance reads, duplicates with
// idempotent replays, KARMA calls, a KARMA blackout window with fallback answers, and a final
// balance read per agent. The balances add up, so gates A and B pass on it.
//   gen_traffic N OUT.jsonl [AGENTS]
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <string>
#include <vector>

static std::uint64_t rng_state = 42;
static std::uint64_t next() {
  rng_state ^= rng_state << 13;
  rng_state ^= rng_state >> 7;
  rng_state ^= rng_state << 17;
  return rng_state;
}

static void ts(char* out, std::int64_t us) {
  std::time_t s = static_cast<std::time_t>(us / 1000000);
  std::tm tm;
  gmtime_r(&s, &tm);
  std::snprintf(out, 40, "%04d-%02d-%02dT%02d:%02d:%02d.%06" PRId64 "Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                tm.tm_sec, us % 1000000);
}

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: gen_traffic N OUT.jsonl [AGENTS]\n");
    return 64;
  }
  long long n = std::atoll(argv[1]);
  int agents = argc > 3 ? std::atoi(argv[3]) : 50;
  FILE* f = std::fopen(argv[2], "w");
  if (!f) return 65;
  static char buf[1 << 20];
  std::setvbuf(f, buf, _IOFBF, sizeof buf);
  std::vector<double> bal(agents, 1000000.0);
  std::int64_t t = 1795514400000000LL;  // 2026-11-24T10:00:00Z
  char a[40], b[40];
  long long written = 0, id = 0, op = 0;
  auto line_create = [&](int ag) {
    ts(a, t), ts(b, t + 900);
    std::fprintf(f,
                 "{\"v\":1,\"kind\":\"exchange\",\"id\":\"credits-%lld\",\"route\":\"credits\",\"conn\":1,\"ts\":\"%s\",\"ts_end\":\"%s\","
                 "\"method\":\"POST\",\"target\":\"/api/credits/agents\",\"req\":{\"headers\":{\"x-stormgate-op\":\"credit_storm-c%06d\","
                 "\"idempotency-key\":\"credit_storm-c%06d\",\"x-correlation-id\":\"credit_storm-42\"},\"body\":{\"agent_id\":\"storm-%03d\","
                 "\"skill_level\":1.0}},\"faults\":[],\"upstream\":[{\"n\":1,\"status\":200,\"latency_us\":800,\"body\":{\"agent_id\":\"storm-%03d\","
                 "\"balance\":%.2f,\"balance_after\":%.2f,\"event_id\":\"ev-c%06d\"}}],\"resp\":{\"status\":200},\"latency_us\":900,\"outcome\":\"ok\"}\n",
                 ++id, a, b, ag, ag, ag, ag, bal[ag], bal[ag], ag);
    ++written;
    t += 150;
  };
  for (int ag = 0; ag < agents; ++ag) line_create(ag);
  // a KARMA blackout window in the middle
  long long blackout_from = n / 2, blackout_to = n / 2 + n / 100;
  bool in_blackout = false;
  while (written < n - agents) {
    if (!in_blackout && written >= blackout_from && written < blackout_to) {
      ts(a, t);
      std::fprintf(f, "{\"v\":1,\"kind\":\"control\",\"ts\":\"%s\",\"action\":\"set\",\"fault\":{\"name\":\"karma-down\",\"route\":\"karma\","
                      "\"action\":{\"blackout\":{\"status\":503}}}}\n", a);
      ++written;
      in_blackout = true;
      continue;
    }
    if (in_blackout && written >= blackout_to) {
      ts(a, t);
      std::fprintf(f, "{\"v\":1,\"kind\":\"control\",\"ts\":\"%s\",\"action\":\"clear\",\"fault\":\"karma-down\"}\n", a);
      ++written;
      in_blackout = false;
      continue;
    }
    int ag = static_cast<int>(next() % static_cast<std::uint64_t>(agents));
    auto r = next() % 100;
    ++op;
    std::int64_t lat = 1500 + static_cast<std::int64_t>(next() % 4000);
    ts(a, t), ts(b, t + lat);
    if (r < 10) {
      // balance read
      std::fprintf(f,
                   "{\"v\":1,\"kind\":\"exchange\",\"id\":\"credits-%lld\",\"route\":\"credits\",\"conn\":%d,\"ts\":\"%s\",\"ts_end\":\"%s\","
                   "\"method\":\"GET\",\"target\":\"/api/credits/balance/storm-%03d\",\"req\":{\"headers\":{\"x-stormgate-op\":\"credit_storm-%08lld\","
                   "\"x-correlation-id\":\"credit_storm-42\"}},\"faults\":[],\"upstream\":[{\"n\":1,\"status\":200,\"latency_us\":%" PRId64 ","
                   "\"body\":{\"agent_id\":\"storm-%03d\",\"balance\":%.2f}}],\"resp\":{\"status\":200,\"body\":{\"agent_id\":\"storm-%03d\","
                   "\"balance\":%.2f}},\"latency_us\":%" PRId64 ",\"outcome\":\"ok\"}\n",
                   ++id, ag % 50, a, b, ag, op, lat - 200, ag, bal[ag], ag, bal[ag], lat);
    } else if (r < 20) {
      // the backend's KARMA call for a consume
      std::fprintf(f,
                   "{\"v\":1,\"kind\":\"exchange\",\"id\":\"karma-%lld\",\"route\":\"karma\",\"conn\":%d,\"ts\":\"%s\",\"ts_end\":\"%s\","
                   "\"method\":\"POST\",\"target\":\"/score\",\"req\":{\"headers\":{\"x-stormgate-op\":\"credit_storm-%08lld\","
                   "\"x-correlation-id\":\"credit_storm-42\"},\"body\":{\"agent_id\":\"storm-%03d\",\"amount\":2.5}},\"faults\":[],"
                   "\"upstream\":[{\"n\":1,\"status\":200,\"latency_us\":300,\"body\":{\"ci\":0.52}}],\"resp\":{\"status\":200,\"body\":{\"ci\":0.52}},"
                   "\"latency_us\":400,\"outcome\":\"ok\"}\n",
                   ++id, ag % 50, a, b, op, ag);
    } else {
      bool add = r < 25;
      bool dup = r >= 95;
      double amount = static_cast<double>(1 + next() % 40) * 0.25;
      bal[ag] += add ? amount : -amount;
      double ci = in_blackout && !add ? 0.5 : 0.3 + static_cast<double>(next() % 40) / 100.0;
      char const* karma = in_blackout && !add ? "fallback" : "ok";
      char body[400];
      std::snprintf(body, sizeof body,
                    "{\"event_id\":\"ev-%08lld\",\"balance_after\":%.2f,\"metadata\":{\"ci\":%.2f,\"karma\":\"%s\",\"anomaly_detected\":false,"
                    "\"anomaly_score\":0.%02d}}",
                    op, bal[ag], ci, karma, static_cast<int>(next() % 100));
      std::string ups = "{\"n\":1,\"status\":200,\"latency_us\":" + std::to_string(lat - 300) + ",\"body\":" + body + "}";
      if (dup) ups += ",{\"n\":2,\"status\":200,\"latency_us\":" + std::to_string(lat - 250) + ",\"body\":" + body + ",\"headers\":{\"idempotent-replayed\":\"true\"}}";
      std::fprintf(f,
                   "{\"v\":1,\"kind\":\"exchange\",\"id\":\"credits-%lld\",\"route\":\"credits\",\"conn\":%d,\"ts\":\"%s\",\"ts_end\":\"%s\","
                   "\"method\":\"POST\",\"target\":\"/api/credits/%s\",\"req\":{\"headers\":{\"x-stormgate-op\":\"credit_storm-%08lld\","
                   "\"idempotency-key\":\"credit_storm-%08lld\",\"x-correlation-id\":\"credit_storm-42\"},\"body\":{\"agent_id\":\"storm-%03d\","
                   "\"amount\":%.2f,\"reason\":\"storm\"}},\"faults\":[%s],\"upstream\":[%s],\"resp\":{\"status\":200,\"body\":%s},"
                   "\"latency_us\":%" PRId64 ",\"outcome\":\"ok\"}\n",
                   ++id, ag % 50, a, b, add ? "add" : "consume", op, op, ag, amount,
                   dup ? "{\"kind\":\"duplicate\",\"rule\":\"dup\",\"copies\":2}" : "", ups.c_str(), body, lat);
    }
    ++written;
    t += 200;
  }
  t += 10000;
  for (int ag = 0; ag < agents; ++ag) {
    ts(a, t), ts(b, t + 500);
    std::fprintf(f,
                 "{\"v\":1,\"kind\":\"exchange\",\"id\":\"credits-%lld\",\"route\":\"credits\",\"conn\":1,\"ts\":\"%s\",\"ts_end\":\"%s\","
                 "\"method\":\"GET\",\"target\":\"/api/credits/balance/storm-%03d\",\"req\":{\"headers\":{\"x-stormgate-op\":\"final-%03d\"}},"
                 "\"faults\":[],\"upstream\":[{\"n\":1,\"status\":200,\"latency_us\":400,\"body\":{\"agent_id\":\"storm-%03d\",\"balance\":%.2f}}],"
                 "\"resp\":{\"status\":200},\"latency_us\":500,\"outcome\":\"ok\"}\n",
                 ++id, a, b, ag, ag, ag, bal[ag]);
    ++written;
    t += 1000;
  }
  std::fclose(f);
  std::fprintf(stderr, "gen_traffic: %lld records -> %s\n", written, argv[2]);
  return 0;
}
