// The small record structs one line becomes, and the description of the fields the reader fills.
// Records hold views into the line (or the parser's copies of its escaped strings): valid only
// during one step().
#pragma once
#include "core/record_fields.hpp"

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

// Every field the gates read: the rows of core/record_fields.hpp whose `how` is not skip.
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
// The amount of a write as the upstream got it: the request's, or the value a fault that rewrites the
// request (faults/kind_traits.hpp, `mutate`) put in the amount field. `rewritten`: whether any such
// fault was applied to the request, to whatever field.
opt_num applied_amount(exchange const& x, std::string_view amount_field, bool* rewritten = nullptr);
// Insufficient-credit answers (BRAiN: 400 "Insufficient credits: …") are the ledger saying no, not a block.
bool is_insufficient(answer const& a);

}  // namespace stormgate::checks::detail
