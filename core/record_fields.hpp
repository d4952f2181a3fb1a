// The fields of the logs stormgate writes and reads (docs/formats.md), described once. One row is
//   F(name, level, key, how, target, member, src)
// and both sides are generated from the rows:
//   - the writers: the proxy's exchange record (proxy/record.cpp) and the load's history op
//     (load/history_writer.cpp) write each row of their list, in list order, as
//     `put(writer, key, record.src)` (core/json_writer.hpp): the type of `src` decides how, and
//     whether an empty value is left out;
//   - the reader: the checker's record parser (checks/record_parser.cpp) reads every row whose `how`
//     is not `skip` into its record (checks/detail/records.hpp), on its shape path and on its
//     Boost.JSON path alike.
// Columns:
//   name    unique; the reader's field id
//   level   the object (or array) the key sits in: the log's top level (traffic, history,
//           journal), or a part of a record (req, answer, …)
//   key     the JSON key; `p` is the target profile's field names (config::target_profile::fields),
//           if_named(k): none when the profile names none. Written rows have a literal key.
//   how     how the checker reads it: store: the value goes to fill::target::member as the member's
//           type takes it (string, number or boolean; any other JSON type leaves it empty);
//           store_or_null: the same, and member_null tells a null; string, number, boolean: a
//           scalar read by hand in record_parser.cpp (assign_by_hand, by name); object: its keys are
//           read at level `member`; array: each object in it is read at level `member`; skip: not
//           read (a field only a reviewer reads), target and member are `_`
//   target, member  where the checker keeps it (checks/detail/records.hpp, namespace fill)
//   src     the writer's member (or member function) that holds it; `_` in the lists no stormgate
//           writer writes as such: the peers' bodies and headers, written as they came, and the
//           backend's journal
// A field named in two places is two rows; an answer's body and a history op's value share theirs.
// Adding a field is one row in the list of its level, and the value at the writer's `src`.
#pragma once

// ---- the traffic log: written by the proxy (proxy::detail::exchange_record) ------------------

// One exchange, in the order the proxy writes it.
#define STORMGATE_EXCHANGE_FIELDS(F)                                              \
  F(version, traffic, "v", skip, _, _, v)                                         \
  F(kind, traffic, "kind", store, line, kind, kind)                               \
  F(id, traffic, "id", store, x, id, id)                                          \
  F(route, traffic, "route", store, x, route, route)                              \
  F(conn, traffic, "conn", skip, _, _, conn)                                      \
  F(ts, traffic, "ts", store, line, ts, ts)                                       \
  F(ts_end, traffic, "ts_end", store, line, ts_end, ts_end)                       \
  F(method, traffic, "method", store, x, method, method)                          \
  F(target, traffic, "target", store, x, target, target)                          \
  F(req, traffic, "req", object, x, req, req())                                   \
  F(faults, traffic, "faults", array, x, fault, faults)                           \
  F(upstream, traffic, "upstream", array, x, answer, upstream)                    \
  F(resp, traffic, "resp", skip, _, _, resp())                                    \
  F(latency_us, traffic, "latency_us", store, line, latency, latency_us)          \
  F(outcome, traffic, "outcome", store, x, outcome, outcome)                      \
  F(exchange_error, traffic, "error", skip, _, _, error_text())

// One upstream attempt (exchange.upstream[]; proxy::detail::attempt_record), in the order written.
#define STORMGATE_ATTEMPT_FIELDS(F)                                               \
  F(answer_n, answer, "n", skip, _, _, n)                                         \
  F(answer_status, answer, "status", number, a, status, status)                   \
  F(answer_latency_us, answer, "latency_us", skip, _, _, latency_us)              \
  F(answer_error, answer, "error", store, a, error, error_text())                 \
  F(answer_headers, answer, "headers", object, a, answer_headers, headers())      \
  F(answer_body, answer, "body", object, a, reply, logged_body())

// An attempt's headers: the ones the gates read, as the upstream sent them.
#define STORMGATE_ATTEMPT_HEADER_FIELDS(F)                                        \
  F(replayed, answer_headers, "idempotent-replayed", string, a, replayed, replayed)

// The parts of an exchange written as the client and the upstream sent them.
#define STORMGATE_EXCHANGE_PEER_FIELDS(F)                                         \
  /* exchange.req */                                                              \
  F(req_headers, req, "headers", object, x, req_headers, _)                       \
  F(req_body, req, "body", object, x, req_body, _)                                \
  F(op_header, req_headers, "x-stormgate-op", store, x, op_key, _)                \
  F(idempotency_header, req_headers, "idempotency-key", store, x, idem_key, _)    \
  F(agent_id, req_body, p.agent_id, store, x, agent_id, _)                        \
  F(amount, req_body, p.amount, store, x, amount, _)                              \
  /* exchange.faults[]: the fault's effect as faults/ records it (faults::effect) */ \
  F(fault_kind, fault, "kind", store, fault, kind, _)                             \
  F(fault_path, fault, "path", store, fault, path, _)                             \
  F(fault_value, fault, "value", store, fault, value, _)                          \
  F(fault_applied, fault, "applied", boolean, fault, applied, _)                  \
  /* an answer's body */                                                          \
  STORMGATE_REPLY_FIELDS(F, reply)                                                \
  F(reply_event_id, reply, if_named(p.event_id), string, r, event_id, _)

// What an answer's body says (level reply), or a history op's value (level value).
#define STORMGATE_REPLY_FIELDS(F, lv)                                             \
  F(lv##_balance_after, lv, p.balance_after, store_or_null, r, balance_after, _)  \
  F(lv##_balance, lv, "balance", store_or_null, r, balance, _)                    \
  F(lv##_awarded, lv, "awarded", store, r, awarded, _)                            \
  F(lv##_requested, lv, "requested", store, r, requested, _)                      \
  F(lv##_synergy_total, lv, "synergy_total", store, r, synergy_total, _)          \
  F(lv##_capped, lv, "capped", store, r, capped, _)                               \
  F(lv##_state_digest, lv, "state_digest", store, r, state_digest, _)             \
  F(lv##_approval_id, lv, "approval_id", store, r, approval_id, _)                \
  F(lv##_detail, lv, "detail", store, r, detail, _)                               \
  F(lv##_balances, lv, "balances", object, r, balances, _)                        \
  F(lv##_metadata, lv, "metadata", object, r, metadata, _)

// ---- the history: op records written by the load (load::op_line) -----------------------------

// One op's invocation or completion, in the order the load writes it.
#define STORMGATE_HISTORY_OP_FIELDS(F)                                            \
  F(history_version, history, "v", skip, _, _, v)                                 \
  F(type, history, "type", store, h, type, type)                                  \
  F(op, history, "op", store, h, op, op)                                          \
  F(scenario, history, "scenario", store, h, scenario, scenario)                  \
  F(f, history, "f", store, h, f, f)                                              \
  F(process, history, "process", skip, _, _, process)                             \
  F(history_ts, history, "ts", store, line, ts, ts)                               \
  F(status, history, "status", store, line, status, status)                       \
  F(history_latency_us, history, "latency_us", store, line, latency, latency_us)  \
  F(value, history, "value", object, h, value, value)                             \
  F(error, history, "error", store, h, error, error)                              \
  F(cause, history, "cause", store, h, cause, cause)                              \
  F(attempt, history, "attempt", store, line, attempt, attempt)                   \
  F(op_replayed, history, "replayed", skip, _, _, replayed)

// The history's other records (run, scenario, sample; load/driver.cpp) as the checker reads them,
// and an op's value.
#define STORMGATE_HISTORY_OTHER_FIELDS(F)                                         \
  F(action, history, "action", store, line, action, _)                            \
  F(reason, history, "reason", store, line, reason, _)                            \
  /* a history op's value, or a memory sample's */                                \
  STORMGATE_REPLY_FIELDS(F, value)                                                \
  F(value_event_id, value, "event_id", string, r, event_id, _)                    \
  F(value_agent_id, value, p.agent_id, store, h, agent_id, _)                     \
  F(value_amount, value, p.amount, store, h, amount, _)                           \
  F(rss_bytes, value, "rss_bytes", store, line, rss, _)                           \
  F(sample_process, value, "process", store, line, sample_process, _)            \
  F(sample_pid, value, "pid", store, line, pid, _)                                \
  /* a reply's metadata */                                                        \
  F(ci, metadata, "ci", store, r, ci, _)                                          \
  F(karma, metadata, "karma", store, r, karma, _)                                 \
  F(anomaly_detected, metadata, "anomaly_detected", store, r, anomaly_detected, _)

// ---- the event journal: written by the target (the reference backend, or BRAiN) -------------

#define STORMGATE_JOURNAL_FIELDS(F)                                               \
  F(event_id, journal, "event_id", store, e, event_id, _)                         \
  F(event_type, journal, "event_type", store, e, event_type, _)                   \
  F(idempotency_key, journal, "idempotency_key", store, e, idem_key, _)           \
  F(correlation_id, journal, "correlation_id", string, e, correlation_id, _)      \
  F(causation_id, journal, "causation_id", string, e, causation_id, _)            \
  F(journal_ts, journal, "timestamp", store, line, ts, _)                         \
  F(schema_version, journal, "schema_version", number, e, schema_version, _)      \
  F(payload, journal, "payload", object, e, payload, _)                           \
  /* a journal event's payload */                                                 \
  F(entity_id, payload, "entity_id", store, line, entity_id, _)                   \
  F(payload_agent_id, payload, "agent_id", store, line, payload_agent, _)         \
  F(payload_amount, payload, "amount", store, line, payload_amount, _)            \
  F(payload_awarded, payload, "awarded", store, line, payload_awarded, _)         \
  F(payload_balance_after, payload, "balance_after", store_or_null, e, balance_after, _) \
  F(payload_reason, payload, "reason", store, e, reason, _)                       \
  F(request_id, payload, "request_id", store, line, request_id, _)                \
  F(payload_approval_id, payload, "approval_id", store, line, payload_approval, _) \
  F(payload_capped, payload, "capped", store, e, capped, _)

// Every row, for the reader.
#define STORMGATE_RECORD_FIELDS(F)     \
  STORMGATE_EXCHANGE_FIELDS(F)         \
  STORMGATE_ATTEMPT_FIELDS(F)          \
  STORMGATE_ATTEMPT_HEADER_FIELDS(F)   \
  STORMGATE_EXCHANGE_PEER_FIELDS(F)    \
  STORMGATE_HISTORY_OP_FIELDS(F)       \
  STORMGATE_HISTORY_OTHER_FIELDS(F)    \
  STORMGATE_JOURNAL_FIELDS(F)

// A row's text when the reader reads it (`how` is not skip), else nothing:
// STORMGATE_IF_READ_##how(text…)
#define STORMGATE_IF_READ_store(...) __VA_ARGS__
#define STORMGATE_IF_READ_store_or_null(...) __VA_ARGS__
#define STORMGATE_IF_READ_string(...) __VA_ARGS__
#define STORMGATE_IF_READ_number(...) __VA_ARGS__
#define STORMGATE_IF_READ_boolean(...) __VA_ARGS__
#define STORMGATE_IF_READ_object(...) __VA_ARGS__
#define STORMGATE_IF_READ_array(...) __VA_ARGS__
#define STORMGATE_IF_READ_skip(...)

// The writers' row: `put(o, key, rec.src);` (o: the object writer, rec: the record).
#define STORMGATE_PUT_FIELD(name, level, key, how, target, member, src) put(o, key, rec.src);
