// Builders for hand-written log lines (traffic exchanges, control records, history ops, journal
// events) in the formats of docs/formats.md, for the checker's tests.
#pragma once
#include "core/time.hpp"

#include <boost/json.hpp>
#include <cstdint>
#include <fstream>
#include <string>
#include <vector>

namespace stormgate::test {

namespace json = boost::json;

// A fixed origin (2026-11-24T10:00:00Z) plus milliseconds.
inline std::string at_ms(std::int64_t ms) {
  return core::rfc3339_us(core::sys_us(std::chrono::microseconds(1795514400000000LL + ms * 1000)));
}

// One upstream attempt / the client's answer.
inline json::object answer(int status, json::object body = {}, bool replayed = false) {
  json::object a{{"status", status}};
  if (!body.empty()) a["body"] = std::move(body);
  if (replayed) a["headers"] = json::object{{"idempotent-replayed", "true"}};
  return a;
}
inline json::object no_answer(char const* error = "timeout") { return json::object{{"status", 0}, {"error", error}}; }

inline json::object write_body(double balance_after, std::string const& event_id, double ci = 0.5, char const* karma = "ok",
                               bool anomaly = false) {
  return json::object{{"event_id", event_id},
                      {"balance_after", balance_after},
                      {"metadata", json::object{{"ci", ci}, {"karma", karma}, {"anomaly_detected", anomaly}, {"anomaly_score", 0.1}}}};
}

struct exchange_line {
  std::string id = "credits-1", route = "credits", method = "POST", target = "/api/credits/consume", op, outcome = "ok";
  std::int64_t t_ms = 0, dur_ms = 5;
  json::object body;
  json::array upstream, faults;
  bool has_resp = true;
  json::object resp;  // default: the last upstream answer

  std::string str() const {
    json::object headers{{"x-stormgate-op", op}, {"idempotency-key", op}, {"x-correlation-id", "test-42"}};
    json::object req{{"headers", headers}};
    if (!body.empty()) req["body"] = body;
    json::array ups;
    int n = 0;
    for (auto const& u : upstream) {
      auto o = u.as_object();
      o["n"] = ++n;
      o["latency_us"] = dur_ms * 1000;
      ups.push_back(o);
    }
    json::object o{{"v", 1}, {"kind", "exchange"}, {"id", id}, {"route", route}, {"conn", 1}, {"ts", at_ms(t_ms)},
                   {"ts_end", at_ms(t_ms + dur_ms)}, {"method", method}, {"target", target}, {"req", req}, {"faults", faults},
                   {"upstream", ups}, {"latency_us", dur_ms * 1000}, {"outcome", outcome}};
    if (has_resp) o["resp"] = !resp.empty() ? resp : (upstream.empty() ? json::object{{"status", 503}} : upstream.back().as_object());
    return json::serialize(o);
  }
};

inline std::string consume(std::string const& op, std::string const& agent, double amount, double balance_after,
                           std::string const& event_id, std::int64_t t_ms, double ci = 0.5, char const* karma = "ok") {
  exchange_line x;
  x.id = "credits-" + op;
  x.op = op;
  x.t_ms = t_ms;
  x.body = {{"agent_id", agent}, {"amount", amount}, {"reason", "test"}};
  x.upstream.push_back(answer(200, write_body(balance_after, event_id, ci, karma)));
  return x.str();
}
inline std::string create(std::string const& op, std::string const& agent, double balance, std::int64_t t_ms) {
  exchange_line x;
  x.id = "credits-" + op;
  x.op = op;
  x.t_ms = t_ms;
  x.target = "/api/credits/agents";
  x.body = {{"agent_id", agent}, {"skill_level", balance / 100}};
  x.upstream.push_back(answer(200, json::object{{"agent_id", agent}, {"balance", balance}, {"balance_after", balance}, {"event_id", "e-" + op}}));
  return x.str();
}
inline std::string balance_read(std::string const& agent, double balance, std::int64_t t_ms) {
  exchange_line x;
  x.id = "credits-read-" + agent + std::to_string(t_ms);
  x.op = "read-" + std::to_string(t_ms);
  x.method = "GET";
  x.target = "/api/credits/balance/" + agent;
  x.t_ms = t_ms;
  x.upstream.push_back(answer(200, json::object{{"agent_id", agent}, {"balance", balance}}));
  return x.str();
}
inline std::string control(std::string const& action, json::value fault, std::int64_t t_ms) {
  json::object o{{"v", 1}, {"kind", "control"}, {"ts", at_ms(t_ms)}, {"action", action}};
  if (!fault.is_null()) o["fault"] = fault;
  return json::serialize(o);
}

inline std::string hist(std::string const& type, std::string const& op, std::string const& scenario, std::string const& f,
                        std::int64_t t_ms, json::object value = {}, int status = 0, std::int64_t latency_us = 2000) {
  json::object o{{"v", 1}, {"type", type}, {"op", op}, {"scenario", scenario}, {"f", f}, {"process", 0}, {"ts", at_ms(t_ms)}, {"value", value}};
  if (type != "invoke") {
    o["status"] = status;
    o["latency_us"] = latency_us;
  }
  return json::serialize(o);
}
inline std::string hist_run(std::string const& action, std::int64_t t_ms, double planned_s, double elapsed_s = 0) {
  json::object o{{"v", 1}, {"type", "run"}, {"action", action}, {"ts", at_ms(t_ms)}, {"seed", 42}, {"target", "reference"},
                 {"concurrency", 50}, {"duration_s", planned_s}, {"planned_duration_s", planned_s}, {"mode", "closed"}};
  if (action == "stop") o["elapsed_s"] = elapsed_s;
  return json::serialize(o);
}
inline std::string hist_scenario(std::string const& action, std::string const& scenario, std::int64_t t_ms, std::string const& reason = {}) {
  json::object o{{"v", 1}, {"type", "scenario"}, {"action", action}, {"scenario", scenario}, {"ts", at_ms(t_ms)}};
  if (!reason.empty()) o["reason"] = reason;
  return json::serialize(o);
}
inline std::string hist_sample(std::int64_t t_ms, double rss_mb) {
  return json::serialize(json::object{{"v", 1}, {"type", "sample"}, {"f", "memory"}, {"ts", at_ms(t_ms)},
                                      {"value", json::object{{"rss_bytes", static_cast<std::int64_t>(rss_mb * 1024 * 1024)}, {"source", "metrics"}}}});
}

// A journal event in BRAiN's envelope (brain-credit-api.md §2.2), written as the raw text `extra`
// allows (e.g. NaN); `payload` is JSON text.
inline std::string event(std::string const& id, std::string const& type, std::string const& payload, std::string const& idem,
                         std::string const& correlation = "\"c-1\"", std::string const& causation = "null", int schema = 1) {
  return "{\"event_id\":\"" + id + "\",\"event_type\":\"" + type + "\",\"timestamp\":\"2026-11-24T10:00:00.000001+00:00\",\"actor_id\":\"system\"," +
         "\"correlation_id\":" + correlation + ",\"causation_id\":" + causation + ",\"payload\":" + payload +
         ",\"schema_version\":" + std::to_string(schema) + ",\"idempotency_key\":\"" + idem + "\"}";
}

inline void write_lines(std::string const& path, std::vector<std::string> const& lines, bool final_newline = true) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    out << lines[i];
    if (i + 1 < lines.size() || final_newline) out << '\n';
  }
}

}  // namespace stormgate::test
