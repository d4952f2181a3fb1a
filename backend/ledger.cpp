#include "backend/detail/ledger.hpp"

#include "backend/detail/json_out.hpp"
#include "core/hash.hpp"
#include "core/jsonl.hpp"
#include "core/time.hpp"

#include <cmath>
#include <cstdio>

namespace stormgate::backend::detail {

namespace json = boost::json;

answer json_answer(unsigned status, json::value const& v) { return answer{status, to_json(v), false}; }
answer detail_answer(unsigned status, std::string_view detail) {
  return json_answer(status, json::object{{"detail", detail}});
}

std::string brain_timestamp() {
  auto s = core::now_rfc3339();
  if (!s.empty() && s.back() == 'Z') {
    s.pop_back();
    s += "+00:00";
  }
  return s;
}

// ---- validation (FastAPI-like 422 answers) ----------------------------------------------

namespace {

class body_reader {
 public:
  explicit body_reader(std::string_view body) {
    std::string err;
    auto v = core::parse_json(body, err);
    if (!v) {
      fail({"body", 0}, body.empty() ? "field required" : "JSON decode error: " + err,
           body.empty() ? "value_error.missing" : "value_error.jsondecode");
      return;
    }
    if (!v->is_object()) {
      fail({"body"}, "value is not a valid dict", "type_error.dict");
      return;
    }
    obj_ = std::move(v->as_object());
  }

  bool ok() const { return errors_.empty(); }
  answer error() const { return json_answer(422, json::object{{"detail", errors_}}); }

  std::optional<std::string> str(std::string_view name, bool required) {
    if (!object_ok()) return std::nullopt;
    auto it = obj_.find(name);
    if (it == obj_.end() || it->value().is_null()) {
      if (required) fail({"body", name}, "field required", "value_error.missing");
      return std::nullopt;
    }
    if (!it->value().is_string()) {
      fail({"body", name}, "str type expected", "type_error.str");
      return std::nullopt;
    }
    return std::string(it->value().get_string());
  }

  // A finite number (numeric strings are accepted, as pydantic does); `gt` / `le` bounds.
  std::optional<double> num(std::string_view name, bool required, std::optional<double> gt,
                            std::optional<double> ge = {}, std::optional<double> le = {}) {
    if (!object_ok()) return std::nullopt;
    auto it = obj_.find(name);
    if (it == obj_.end() || it->value().is_null()) {
      if (required) fail({"body", name}, "field required", "value_error.missing");
      return std::nullopt;
    }
    std::optional<double> d;
    if (it->value().is_string()) {
      auto s = std::string(it->value().get_string());
      char* end = nullptr;
      double x = std::strtod(s.c_str(), &end);
      if (!s.empty() && end == s.c_str() + s.size()) d = x;
    } else if (!it->value().is_bool()) {
      d = core::as_number(it->value());
    }
    if (!d) {
      fail({"body", name}, "value is not a valid float", "type_error.float");
      return std::nullopt;
    }
    if (!std::isfinite(*d)) {
      fail({"body", name}, "ensure this value is a finite number", "value_error.number.not_finite");
      return std::nullopt;
    }
    if (gt && !(*d > *gt)) {
      fail({"body", name}, "ensure this value is greater than " + py_float(*gt), "value_error.number.not_gt");
      return std::nullopt;
    }
    if (ge && !(*d >= *ge)) {
      fail({"body", name}, "ensure this value is greater than or equal to " + py_float(*ge), "value_error.number.not_ge");
      return std::nullopt;
    }
    if (le && !(*d <= *le)) {
      fail({"body", name}, "ensure this value is less than or equal to " + py_float(*le), "value_error.number.not_le");
      return std::nullopt;
    }
    return d;
  }

 private:
  bool object_ok() const { return parsed_ok_; }
  void fail(json::array loc, std::string msg, std::string type) {
    if (loc.size() == 1 || (loc.size() == 2 && loc[1].is_int64())) parsed_ok_ = false;
    errors_.push_back(json::object{{"loc", std::move(loc)}, {"msg", std::move(msg)}, {"type", std::move(type)}});
  }

  json::object obj_;
  json::array errors_;
  bool parsed_ok_ = true;
};

}  // namespace

parsed<agent_input> parse_agent(std::string_view body) {
  body_reader r(body);
  agent_input in;
  auto id = r.str("agent_id", true);
  auto skill = r.num("skill_level", true, {}, 0.0, 1.0);
  auto actor = r.str("actor_id", false);
  if (!r.ok()) return r.error();
  in.agent_id = *id;
  in.skill_level = *skill;
  if (actor) in.actor_id = *actor;
  return in;
}

parsed<amount_input> parse_amount(std::string_view body, bool with_mission) {
  body_reader r(body);
  amount_input in;
  auto id = r.str("agent_id", true);
  auto amount = r.num("amount", true, 0.0);
  auto reason = r.str("reason", true);
  std::optional<std::string> mission;
  if (with_mission) mission = r.str("mission_id", false);
  auto actor = r.str("actor_id", false);
  if (!r.ok()) return r.error();
  in.agent_id = *id;
  in.amount = *amount;
  in.reason = *reason;
  if (mission && !mission->empty()) in.mission_id = *mission;
  if (actor) in.actor_id = *actor;
  return in;
}

parsed<approval_input> parse_approval(std::string_view body) {
  body_reader r(body);
  approval_input in;
  auto id = r.str("agent_id", true);
  auto amount = r.num("amount", true, 0.0);
  auto reason = r.str("reason", false);
  auto requester = r.str("requester_id", false);
  auto actor = r.str("actor_id", false);
  if (!r.ok()) return r.error();
  in.agent_id = *id;
  in.amount = *amount;
  if (reason) in.reason = *reason;
  if (requester) in.requester_id = *requester;
  else if (actor) in.requester_id = *actor;
  return in;
}

parsed<decision_input> parse_decision(std::string_view body) {
  body_reader r(body);
  decision_input in;
  auto approver = r.str("approver_id", true);
  auto why = r.str("justification", false);
  if (!r.ok()) return r.error();
  in.approver_id = *approver;
  if (why) in.justification = *why;
  return in;
}

parsed<synergy_input> parse_synergy(std::string_view body) {
  body_reader r(body);
  synergy_input in;
  auto team = r.str("team_id", true);
  auto id = r.str("agent_id", true);
  auto amount = r.num("amount", true, 0.0);
  auto collab = r.str("collaboration_id", true);
  auto actor = r.str("actor_id", false);
  if (!r.ok()) return r.error();
  in.team_id = *team;
  in.agent_id = *id;
  in.amount = *amount;
  in.collaboration_id = *collab;
  if (actor) in.actor_id = *actor;
  return in;
}

// ---- answers from events ------------------------------------------------------------------

namespace {

json::value field(json::object const& o, std::string_view key) {
  auto it = o.find(key);
  return it == o.end() ? json::value() : it->value();
}

}  // namespace

std::optional<answer> answer_of(json::object const& event) {
  auto type = text_of(event, "event_type");
  auto pit = event.find("payload");
  if (pit == event.end() || !pit->value().is_object()) return std::nullopt;
  auto const& p = pit->value().get_object();
  auto event_id = field(event, "event_id");
  if (type == event_type::allocated && p.contains("skill_level")) {
    return json_answer(200, json::object{{"agent_id", field(p, "entity_id")},
                                         {"initial_credits", field(p, "amount")},
                                         {"balance", field(p, "balance_after")},
                                         {"skill_level", field(p, "skill_level")},
                                         {"balance_after", field(p, "balance_after")},
                                         {"event_id", event_id}});
  }
  if (type == event_type::allocated || type == event_type::consumed || type == event_type::refunded) {
    json::object o{{"agent_id", field(p, "entity_id")},
                   {"amount", field(p, "amount")},
                   {"balance_after", field(p, "balance_after")},
                   {"reason", field(p, "reason")}};
    if (type != event_type::allocated) o["mission_id"] = field(p, "mission_id");
    o["event_id"] = event_id;
    o["metadata"] = field(p, "metadata");
    return json_answer(200, o);
  }
  if (type == event_type::approval_requested) {
    auto ctx = field(p, "action_context");
    json::object c = ctx.is_object() ? ctx.get_object() : json::object{};
    return json_answer(201, json::object{{"approval_id", field(p, "request_id")},
                                         {"status", "pending"},
                                         {"version", field(p, "version")},
                                         {"agent_id", field(c, "agent_id")},
                                         {"amount", field(c, "amount")},
                                         {"event_id", event_id}});
  }
  if (type == event_type::approval_approved || type == event_type::approval_rejected) {
    return json_answer(200, json::object{{"approval_id", field(p, "request_id")},
                                         {"status", type == event_type::approval_approved ? "approved" : "rejected"},
                                         {"version", field(p, "version")},
                                         {"approver_id", field(p, "approver_id")},
                                         {"event_id", event_id}});
  }
  if (type == event_type::synergy_recorded) {
    return json_answer(200, json::object{{"agent_id", field(p, "entity_id")},
                                         {"requested", field(p, "requested")},
                                         {"awarded", field(p, "amount")},
                                         {"capped", field(p, "capped")},
                                         {"synergy_total", field(p, "synergy_total")},
                                         {"balance_after", field(p, "balance_after")},
                                         {"event_id", event_id}});
  }
  return std::nullopt;
}

// ---- the ledger -------------------------------------------------------------------------

ledger::ledger(settings s) : settings_(s), rng_(std::random_device{}() ^ static_cast<std::uint64_t>(core::mono_us())) {}

void ledger::reset() {
  state_ = projection{};
  key_seqs_.clear();
  event_ids_.clear();
}

namespace {
std::uint64_t key_hash(std::string_view s) { return core::hash64(0x1de, {s}); }
}  // namespace

bool is_primary(std::string_view t) {
  return t == event_type::allocated || t == event_type::consumed || t == event_type::refunded ||
         t == event_type::approval_requested || t == event_type::approval_approved ||
         t == event_type::approval_rejected || t == event_type::synergy_recorded;
}

void ledger::remember_key(std::string_view key, std::uint64_t seq) {
  key_seqs_.insert(key_hash(key), seq);
}

void ledger::on_event(json::object const& event, std::uint64_t seq) {
  apply(state_, event);
  if (auto id = text_of(event, "event_id"); !id.empty()) {
    event_ids_.insert(key_hash(id), seq);
  }
  auto key = text_of(event, "idempotency_key");
  if (!key.empty() && is_primary(text_of(event, "event_type"))) remember_key(key, seq);
}

bool ledger::knows_event(std::string const& event_id) const { return event_ids_.contains(key_hash(event_id)); }

std::optional<std::uint64_t> ledger::replay_seq(std::string const& key) const {
  if (key.empty()) return std::nullopt;
  return key_seqs_.find(key_hash(key));
}

double ledger::balance(std::string const& agent_id) const {
  auto it = state_.agents.find(agent_id);
  return it == state_.agents.end() ? 0.0 : it->second.balance;
}

std::string ledger::new_uuid() {
  std::uint64_t a = rng_(), b = rng_();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 10
  char buf[40];
  std::snprintf(buf, sizeof buf, "%08llx-%04llx-%04llx-%04llx-%012llx", static_cast<unsigned long long>(a >> 32),
                static_cast<unsigned long long>((a >> 16) & 0xffff), static_cast<unsigned long long>(a & 0xffff),
                static_cast<unsigned long long>(b >> 48), static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

json::object ledger::envelope(std::string_view type, std::string actor, std::string correlation,
                              std::string const& causation, json::object payload, std::string key) {
  json::object e;
  e["event_id"] = new_uuid();
  e["event_type"] = type;
  e["timestamp"] = brain_timestamp();
  e["actor_id"] = std::move(actor);
  e["correlation_id"] = std::move(correlation);
  e["causation_id"] = causation.empty() ? json::value() : json::value(causation);
  e["payload"] = std::move(payload);
  e["schema_version"] = 1;
  e["idempotency_key"] = std::move(key);
  return e;
}

namespace {

std::string key_or(request_context const& ctx, std::string derived) {
  return ctx.idempotency_key.empty() ? std::move(derived) : ctx.idempotency_key;
}
std::string correlation_or(request_context const& ctx, std::string derived) {
  return ctx.correlation_id.empty() ? std::move(derived) : ctx.correlation_id;
}
json::object metadata(double ci, bool karma_ok, bool anomaly, double score) {
  return json::object{{"ci", ci}, {"karma", karma_ok ? "ok" : "fallback"}, {"anomaly_detected", anomaly},
                      {"anomaly_score", score}};
}

}  // namespace

outcome ledger::create_agent(agent_input const& in, request_context const& ctx) {
  outcome o;
  double initial = in.skill_level * 100.0;
  auto ts = brain_timestamp();
  json::object p{{"entity_id", in.agent_id},
                 {"entity_type", "agent"},
                 {"amount", initial},
                 {"reason", "Agent creation (skill_level=" + py_float(in.skill_level) + ")"},
                 {"balance_after", initial},
                 {"skill_level", in.skill_level}};
  o.events.push_back(envelope(event_type::allocated, in.actor_id, correlation_or(ctx, in.agent_id), ctx.causation_id,
                              std::move(p), key_or(ctx, in.agent_id + ":allocation:" + ts)));
  o.ans = *answer_of(o.events.back());
  return o;
}

outcome ledger::consume(amount_input const& in, request_context const& ctx, karma_result k, double read_balance) {
  outcome o;
  if (settings_.defect_ != defect::negative_balance && read_balance < in.amount) {
    o.ans = detail_answer(400, "Insufficient credits: " + in.agent_id + " has " + py_float(read_balance) +
                                   ", needs " + py_float(in.amount));
    return o;
  }
  double mean = 0;
  bool anomaly = false;
  if (auto it = state_.agents.find(in.agent_id); it != state_.agents.end() && it->second.consumed_count > 0) {
    mean = it->second.consumed_sum / static_cast<double>(it->second.consumed_count);
    anomaly = in.amount > settings_.anomaly_factor * mean;
  }
  double score = mean > 0 ? in.amount / mean : 0.0;
  if (anomaly && settings_.defect_ == defect::anomaly_block) {
    o.ans = detail_answer(422, "anomaly_blocked");
    return o;
  }
  auto ts = brain_timestamp();
  std::string correlation = correlation_or(ctx, in.mission_id.value_or(in.agent_id));
  json::object p{{"entity_id", in.agent_id}, {"entity_type", "agent"}, {"amount", in.amount}, {"reason", in.reason},
                 {"balance_after", read_balance - in.amount}};
  if (in.mission_id) p["mission_id"] = *in.mission_id;
  p["metadata"] = metadata(k.ci, k.ok, anomaly, score);
  auto key = key_or(ctx, in.agent_id + ":consumption:" + ts);
  o.events.push_back(envelope(event_type::consumed, in.actor_id, correlation, ctx.causation_id, std::move(p), key));
  o.ans = *answer_of(o.events.back());
  if (anomaly) {
    auto consumed_id = std::string(o.events.back().at("event_id").get_string());
    json::object a{{"entity_id", in.agent_id}, {"entity_type", "agent"}, {"amount", in.amount},
                   {"running_mean", mean},     {"factor", settings_.anomaly_factor},
                   {"anomaly_score", score},   {"consumed_event_id", consumed_id}};
    o.events.push_back(envelope(event_type::anomaly_flagged, in.actor_id, correlation, consumed_id, std::move(a),
                                key + ":anomaly"));
  }
  return o;
}

outcome ledger::refund(amount_input const& in, request_context const& ctx) {
  outcome o;
  auto ts = brain_timestamp();
  json::object p{{"entity_id", in.agent_id}, {"entity_type", "agent"}, {"amount", in.amount}, {"reason", in.reason},
                 {"balance_after", balance(in.agent_id) + in.amount}};
  if (in.mission_id) p["mission_id"] = *in.mission_id;
  p["metadata"] = metadata(0.5, false, false, 0.0);
  o.events.push_back(envelope(event_type::refunded, in.actor_id, correlation_or(ctx, in.mission_id.value_or(in.agent_id)),
                              ctx.causation_id, std::move(p), key_or(ctx, in.agent_id + ":refund:" + ts)));
  o.ans = *answer_of(o.events.back());
  return o;
}

outcome ledger::add(amount_input const& in, request_context const& ctx) {
  outcome o;
  auto ts = brain_timestamp();
  json::object p{{"entity_id", in.agent_id}, {"entity_type", "agent"}, {"amount", in.amount}, {"reason", in.reason},
                 {"balance_after", balance(in.agent_id) + in.amount}};
  p["metadata"] = metadata(0.5, false, false, 0.0);
  o.events.push_back(envelope(event_type::allocated, in.actor_id, correlation_or(ctx, in.agent_id), ctx.causation_id,
                              std::move(p), key_or(ctx, in.agent_id + ":allocation:" + ts)));
  o.ans = *answer_of(o.events.back());
  return o;
}

outcome ledger::request_approval(approval_input const& in, request_context const& ctx) {
  outcome o;
  char id[32];
  std::snprintf(id, sizeof id, "APPROVAL_%012llx", static_cast<unsigned long long>(rng_() & 0xffffffffffffULL));
  json::object p{{"request_id", id},
                 {"action_type", "credit_spend"},
                 {"action_context", json::object{{"agent_id", in.agent_id}, {"amount", in.amount}, {"reason", in.reason}}},
                 {"requester_id", in.requester_id},
                 {"risk_level", in.amount >= 1000 ? "HIGH" : "MEDIUM"},
                 {"version", 1}};
  o.events.push_back(envelope(event_type::approval_requested, in.requester_id, correlation_or(ctx, id),
                              ctx.causation_id, std::move(p),
                              key_or(ctx, std::string(id) + ":requested:" + in.requester_id)));
  o.ans = *answer_of(o.events.back());
  return o;
}

std::optional<answer> ledger::decision_refused(std::string const& approval_id) const {
  auto it = state_.approvals.find(approval_id);
  if (it == state_.approvals.end()) return detail_answer(404, "Approval request " + approval_id + " not found");
  if (it->second.status != "pending") return detail_answer(409, "already_decided");
  return std::nullopt;
}

outcome ledger::decide(std::string const& approval_id, bool approve, decision_input const& in,
                       request_context const& ctx) {
  outcome o;
  auto it = state_.approvals.find(approval_id);
  if (it == state_.approvals.end()) {
    o.ans = detail_answer(404, "Approval request " + approval_id + " not found");
    return o;
  }
  std::string verb = approve ? "approved" : "rejected";
  json::object p{{"request_id", approval_id},
                 {"approver_id", in.approver_id},
                 {"justification", in.justification},
                 {"action_type", "credit_spend"},
                 {"version", it->second.version + 1}};
  o.events.push_back(envelope(approve ? event_type::approval_approved : event_type::approval_rejected, in.approver_id,
                              correlation_or(ctx, approval_id), ctx.causation_id, std::move(p),
                              key_or(ctx, approval_id + ":" + verb + ":" + in.approver_id)));
  o.ans = *answer_of(o.events.back());
  return o;
}

outcome ledger::synergy(synergy_input const& in, request_context const& ctx) {
  outcome o;
  double total = 0;
  if (auto it = state_.agents.find(in.agent_id); it != state_.agents.end()) total = it->second.synergy_total;
  double awarded = std::max(0.0, std::min(in.amount, settings_.synergy_cap - total));
  bool capped = awarded < in.amount;
  auto ts = brain_timestamp();
  auto key = key_or(ctx, in.collaboration_id + ":recorded:" + in.agent_id + ":" + ts);
  auto correlation = correlation_or(ctx, in.collaboration_id);
  json::object p{{"collaboration_id", in.collaboration_id},
                 {"team_id", in.team_id},
                 {"agent_ids", json::array{json::value(in.agent_id)}},
                 {"contribution_scores", json::object{{in.agent_id, in.amount}}},
                 {"entity_id", in.agent_id},
                 {"entity_type", "agent"},
                 {"requested", in.amount},
                 {"amount", awarded},
                 {"capped", capped},
                 {"synergy_total", total + awarded},
                 {"reason", "synergy " + in.collaboration_id},
                 {"balance_after", balance(in.agent_id) + awarded}};
  o.events.push_back(envelope(event_type::synergy_recorded, in.actor_id, correlation, ctx.causation_id, std::move(p), key));
  o.ans = *answer_of(o.events.back());
  if (capped) {
    auto recorded_id = std::string(o.events.back().at("event_id").get_string());
    json::object c{{"entity_id", in.agent_id},   {"team_id", in.team_id},     {"collaboration_id", in.collaboration_id},
                   {"requested", in.amount},     {"awarded", awarded},        {"cap", settings_.synergy_cap},
                   {"synergy_total", total + awarded}};
    o.events.push_back(envelope(event_type::synergy_capped, in.actor_id, correlation, recorded_id, std::move(c),
                                key + ":capped"));
  }
  return o;
}

std::vector<std::string> ledger::commit(outcome const& o, request_context const& ctx, std::uint64_t first_seq) {
  std::vector<std::string> lines;
  lines.reserve(o.events.size());
  if (!ctx.idempotency_key.empty() && !o.events.empty() && replay_seq(ctx.idempotency_key))
    ++idempotency_violations_;  // a second effect for one key (only with --defect no-idempotency)
  for (auto const& e : o.events) {
    lines.push_back(to_json(e));
    // The projection applies the event as the journal holds it (its line parsed back), not the
    // doubles in hand: a replay then rebuilds the state bit for bit, whatever the text-to-double
    // rounding of the JSON parser.
    std::string err;
    auto stored = core::parse_json_lenient(lines.back(), err);
    on_event(stored && stored->is_object() ? stored->as_object() : e, first_seq++);
  }
  return lines;
}

}  // namespace stormgate::backend::detail
