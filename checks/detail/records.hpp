// The small record structs one line becomes, and the description of the fields the reader fills.
// Records hold views into the line (or the parser's copies of its escaped strings): valid only
// during one step().
#pragma once
#include <boost/json/fwd.hpp>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stormgate::checks::detail {

using opt_num = std::optional<double>;

struct source {
  std::string const* file = nullptr;  // stable: owned by the reader's file list
  std::uint64_t line = 0;
};

// ---- records ---------------------------------------------------------------------------

// One entry of a `balances` answer ({agent: balance}); `value` is empty when it is not a number.
struct balance_entry {
  std::string_view agent;
  opt_num value;
};

// What an upstream answer's body says, or a history op's value.
struct reply {
  std::string_view event_id, karma, detail, state_digest, approval_id;
  std::uint64_t event_hash = 0;  // h64(event_id), hashed once for every gate that compares them
  opt_num balance_after, balance, awarded, requested, synergy_total, ci;
  bool balance_after_null = false, balance_null = false;
  std::optional<bool> anomaly_detected, capped;
  std::vector<balance_entry> const* balances = nullptr;  // a balances read, in the answer's key order
};

// An answer: one upstream attempt.
struct answer : reply {
  int status = 0;  // 0: no answer (reset, timeout, hang)
  bool has_body = false;
  bool replayed = false;  // Idempotent-Replayed: true
  std::string_view error;
};

struct fault_applied {
  std::string_view kind, path;
  opt_num value;
  bool applied = true;
};

struct exchange {
  std::string_view id, route, method, target, op_key, idem_key, outcome;
  std::uint64_t op_hash = 0;  // h64(op_key): the key of the gates' per-op state
  std::int64_t ts_us = 0, ts_end_us = 0, latency_us = -1;
  std::string_view f;         // the profile's op name ("consume", …), empty when unknown
  bool write = false, effect = false;  // is_write(f), is_effect_op(f): the reader tells them once per op class
  std::string_view path_id, path_agent;  // views into the classification cache
  std::string_view agent_id;
  opt_num amount;
  std::vector<fault_applied> faults;
  std::vector<answer> upstream;
};

struct control {
  std::int64_t ts_us = 0;
  std::string_view action, name, route, action_kind;  // action_kind: blackout / drop_response / delay / …
  bool total = true;  // no match and probability 1: every request of the route
  opt_num after_s, for_s;
  boost::json::array const* cleared = nullptr;
};

struct run_marker {  // traffic `run` or history `run`
  std::string_view action, mode, target, shard;
  std::int64_t ts_us = 0;
  opt_num planned_duration_s, duration_s, elapsed_s, concurrency, seed, rate, ops;
  bool interrupted = false;
  boost::json::value const* raw = nullptr;
};

struct hist_op : reply {
  std::string_view type, op, scenario, f, error;
  std::string_view cause;  // why it did not end ok (core/causes.hpp); empty for ok and for older histories
  std::int64_t ts_us = 0, latency_us = -1;
  int status = 0;
  int attempt = 1;
  std::string_view agent_id;
  opt_num amount;
};

struct hist_sample {
  std::int64_t ts_us = 0;
  opt_num rss_bytes;
  std::string_view scenario;
  std::string_view process = "backend";  // value.process; a sample without one is the backend's
  std::int64_t pid = 0;                  // value.pid; 0 = not known (sampled through the metrics op)
};

struct hist_scenario {
  std::string_view action, scenario, reason;
  std::int64_t ts_us = 0;
};

struct journal_event {
  std::string_view event_id, event_type, idem_key, correlation_id, causation_id, reason;
  bool correlation_null = false, causation_present = false;
  std::int64_t ts_us = 0;
  std::optional<std::int64_t> schema_version;
  bool schema_missing = false;
  std::string_view entity_id, request_id;
  opt_num amount, balance_after;
  bool balance_after_null = false;
  std::optional<bool> capped;
};

// summary: a documented record the checker does not need (the load's `stats`: latencies are computed
// from the ops themselves); ignored: a type this checker does not know, noted in the report.
enum class record_kind { exchange, control, traffic_run, op, sample, run, scenario, event, summary, ignored };

struct record {
  record_kind kind;
  source src;
  exchange const* x = nullptr;
  control const* c = nullptr;
  run_marker const* run = nullptr;
  hist_op const* h = nullptr;
  hist_sample const* s = nullptr;
  hist_scenario const* sc = nullptr;
  journal_event const* e = nullptr;
  std::string_view ignored_type;  // kind ignored: a record type this checker does not read (e.g. history `stats`)
};

// ---- what the reader fills from a line ---------------------------------------------------

// Where a key sits in a line: the object (or array) whose keys the reader reads; `skip` drops a
// subtree. faults and upstream are arrays of objects at `fault` and `answer`.
enum class field_level : std::uint8_t {
  skip, traffic, history, journal, req, req_headers, req_body, faults, fault, upstream, answer, answer_headers,
  reply, value, metadata, balances, payload,
  count
};

// What a line holds that no record keeps as it is: read before the record's kind is known, or
// combined into one of its fields at the end (record_parser.cpp, finish_*).
struct line_fields {
  std::string_view kind, ts, ts_end, action, reason, sample_process;
  std::string_view entity_id, payload_agent, request_id, payload_approval;
  opt_num latency, status, attempt, rss, pid, payload_amount, payload_awarded;
};

// The record each `target` of the description names: the one being read (x: the exchange, h: the
// history op, e: the journal event, line: line_fields), or the part of it being read (r: the reply
// of the answer or op value, a: the answer, fault: the fault).
namespace fill {
using x = exchange;
using h = hist_op;
using e = journal_event;
using line = line_fields;
using r = reply;
using a = answer;
using fault = fault_applied;
}  // namespace fill

// Every field the gates read, once: F(name, level, key, how, target, member).
//   key: the JSON key; `p` is the target profile's field names (config::target_profile::fields);
//        if_named(k): none when the profile names none.
//   how: store: the value goes to fill::target::member as the member's type takes it (string,
//        number or boolean; any other JSON type leaves it empty); store_or_null: the same, and
//        member_null tells a null; string, number, boolean: a scalar read by hand in
//        record_parser.cpp (assign_by_hand, by name); object: its keys are read at level `member`;
//        array: each object in it is read at level `member`.
// A field named in two places is two rows; an answer's body and a history op's value share theirs.
#define STORMGATE_REPLY_FIELDS(F, lv)                                  \
  F(lv##_balance_after, lv, p.balance_after, store_or_null, r, balance_after) \
  F(lv##_balance, lv, "balance", store_or_null, r, balance)            \
  F(lv##_awarded, lv, "awarded", store, r, awarded)                    \
  F(lv##_requested, lv, "requested", store, r, requested)              \
  F(lv##_synergy_total, lv, "synergy_total", store, r, synergy_total)  \
  F(lv##_capped, lv, "capped", store, r, capped)                       \
  F(lv##_state_digest, lv, "state_digest", store, r, state_digest)     \
  F(lv##_approval_id, lv, "approval_id", store, r, approval_id)        \
  F(lv##_detail, lv, "detail", store, r, detail)                       \
  F(lv##_balances, lv, "balances", object, r, balances)                \
  F(lv##_metadata, lv, "metadata", object, r, metadata)

#define STORMGATE_RECORD_FIELDS(F)                                                  \
  /* a traffic record */                                                            \
  F(kind, traffic, "kind", store, line, kind)                                       \
  F(id, traffic, "id", store, x, id)                                                \
  F(route, traffic, "route", store, x, route)                                       \
  F(method, traffic, "method", store, x, method)                                    \
  F(target, traffic, "target", store, x, target)                                    \
  F(outcome, traffic, "outcome", store, x, outcome)                                 \
  F(ts, traffic, "ts", store, line, ts)                                             \
  F(ts_end, traffic, "ts_end", store, line, ts_end)                                 \
  F(latency_us, traffic, "latency_us", store, line, latency)                        \
  F(req, traffic, "req", object, x, req)                                            \
  F(faults, traffic, "faults", array, x, fault)                                     \
  F(upstream, traffic, "upstream", array, x, answer)                                \
  /* exchange.req */                                                                \
  F(req_headers, req, "headers", object, x, req_headers)                            \
  F(req_body, req, "body", object, x, req_body)                                     \
  F(op_header, req_headers, "x-stormgate-op", store, x, op_key)                     \
  F(idempotency_header, req_headers, "idempotency-key", store, x, idem_key)         \
  F(agent_id, req_body, p.agent_id, store, x, agent_id)                             \
  F(amount, req_body, p.amount, store, x, amount)                                   \
  /* exchange.faults[] */                                                           \
  F(fault_kind, fault, "kind", store, fault, kind)                                  \
  F(fault_path, fault, "path", store, fault, path)                                  \
  F(fault_value, fault, "value", store, fault, value)                               \
  F(fault_applied, fault, "applied", boolean, fault, applied)                       \
  /* an upstream answer (exchange.upstream[]) */                                    \
  F(answer_status, answer, "status", number, a, status)                             \
  F(answer_error, answer, "error", store, a, error)                                 \
  F(answer_body, answer, "body", object, a, reply)                                  \
  F(answer_headers, answer, "headers", object, a, answer_headers)                   \
  F(replayed, answer_headers, "idempotent-replayed", string, a, replayed)           \
  /* an answer's body */                                                            \
  STORMGATE_REPLY_FIELDS(F, reply)                                                  \
  F(reply_event_id, reply, if_named(p.event_id), string, r, event_id)               \
  /* a history record */                                                            \
  F(type, history, "type", store, h, type)                                          \
  F(op, history, "op", store, h, op)                                                \
  F(scenario, history, "scenario", store, h, scenario)                              \
  F(f, history, "f", store, h, f)                                                   \
  F(error, history, "error", store, h, error)                                       \
  F(cause, history, "cause", store, h, cause)                                       \
  F(history_ts, history, "ts", store, line, ts)                                     \
  F(history_latency_us, history, "latency_us", store, line, latency)                \
  F(status, history, "status", store, line, status)                                 \
  F(attempt, history, "attempt", store, line, attempt)                              \
  F(value, history, "value", object, h, value)                                      \
  F(action, history, "action", store, line, action)                                 \
  F(reason, history, "reason", store, line, reason)                                 \
  /* a history op's value, or a memory sample's */                                  \
  STORMGATE_REPLY_FIELDS(F, value)                                                  \
  F(value_event_id, value, "event_id", string, r, event_id)                         \
  F(value_agent_id, value, p.agent_id, store, h, agent_id)                          \
  F(value_amount, value, p.amount, store, h, amount)                                \
  F(rss_bytes, value, "rss_bytes", store, line, rss)                                \
  F(sample_process, value, "process", store, line, sample_process)                 \
  F(sample_pid, value, "pid", store, line, pid)                                     \
  /* a reply's metadata */                                                          \
  F(ci, metadata, "ci", store, r, ci)                                               \
  F(karma, metadata, "karma", store, r, karma)                                      \
  F(anomaly_detected, metadata, "anomaly_detected", store, r, anomaly_detected)     \
  /* a journal event */                                                             \
  F(event_id, journal, "event_id", store, e, event_id)                              \
  F(event_type, journal, "event_type", store, e, event_type)                        \
  F(idempotency_key, journal, "idempotency_key", store, e, idem_key)                \
  F(correlation_id, journal, "correlation_id", string, e, correlation_id)           \
  F(causation_id, journal, "causation_id", string, e, causation_id)                 \
  F(journal_ts, journal, "timestamp", store, line, ts)                              \
  F(schema_version, journal, "schema_version", number, e, schema_version)           \
  F(payload, journal, "payload", object, e, payload)                                \
  /* a journal event's payload */                                                   \
  F(entity_id, payload, "entity_id", store, line, entity_id)                        \
  F(payload_agent_id, payload, "agent_id", store, line, payload_agent)              \
  F(payload_amount, payload, "amount", store, line, payload_amount)                 \
  F(payload_awarded, payload, "awarded", store, line, payload_awarded)              \
  F(payload_balance_after, payload, "balance_after", store_or_null, e, balance_after) \
  F(payload_reason, payload, "reason", store, e, reason)                            \
  F(request_id, payload, "request_id", store, line, request_id)                     \
  F(payload_approval_id, payload, "approval_id", store, line, payload_approval)     \
  F(payload_capped, payload, "capped", store, e, capped)

// A key the profile may leave unnamed: none when empty.
inline std::optional<std::string_view> if_named(std::string const& key) {
  return key.empty() ? std::nullopt : std::optional<std::string_view>(key);
}

// ---- helpers on records ------------------------------------------------------------------

inline std::uint64_t h64(std::string_view s) { return std::hash<std::string_view>{}(s); }
inline bool is_write(std::string_view f) {
  return f == "create" || f == "add" || f == "consume" || f == "refund" || f == "synergy";
}
// An op that takes effect on the target: a write, or an approval's request or decision. These are
// the ops of the op book (gate B reads the writes among them).
inline bool is_effect_op(std::string_view f) {
  return is_write(f) || f == "request_approval" || f == "approve" || f == "deny";
}
inline bool ok2xx(int s) { return s >= 200 && s < 300; }
// "s1of2-credit_storm-000123" / "credit_storm-000123" -> "credit_storm"
std::string_view scenario_of_op(std::string_view op);
// Insufficient-credit answers (BRAiN: 400 "Insufficient credits: …") are the ledger saying no, not a block.
bool is_insufficient(answer const& a);

}  // namespace stormgate::checks::detail
