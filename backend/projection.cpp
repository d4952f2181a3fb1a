#include "backend/detail/projection.hpp"

#include "backend/detail/json_out.hpp"
#include "core/hash.hpp"
#include "core/jsonl.hpp"

#include <cstdio>

namespace stormgate::backend::detail {

namespace json = boost::json;

namespace {

std::string str_of(json::object const& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return {};
  return std::string(it->value().get_string());
}

std::optional<double> num_of(json::object const& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end()) return std::nullopt;
  return core::as_number(it->value());
}

bool moves_balance(std::string_view type) {
  return type == event_type::allocated || type == event_type::consumed || type == event_type::refunded ||
         type == "credit.withdrawn" || type == "credit.regenerated" || type == event_type::synergy_recorded;
}

}  // namespace

std::string_view text_of(json::object const& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || !it->value().is_string()) return {};
  auto const& s = it->value().get_string();
  return std::string_view(s.data(), s.size());
}

double signed_amount(std::string_view type, json::object const& payload) {
  if (!moves_balance(type)) return 0;
  double a = num_of(payload, "amount").value_or(0);
  return (type == event_type::consumed || type == "credit.withdrawn") ? -a : a;
}

void apply(projection& p, json::object const& event) {
  std::string type = str_of(event, "event_type");
  p.events++;
  p.events_by_type[type]++;
  auto pit = event.find("payload");
  if (pit == event.end() || !pit->value().is_object()) {
    p.ignored++;
    return;
  }
  auto const& payload = pit->value().get_object();

  if (moves_balance(type)) {
    auto entity = str_of(payload, "entity_id");
    auto after = num_of(payload, "balance_after");
    if (entity.empty() || !after) {
      p.ignored++;
      return;
    }
    auto& a = p.agents[entity];
    a.balance = *after;  // BRAiN's balance projection: the last event's balance_after wins
    double amount = num_of(payload, "amount").value_or(0);
    if (type == event_type::consumed) {
      a.consumed_sum += amount;
      a.consumed_count++;
    }
    if (type == event_type::synergy_recorded) a.synergy_total = num_of(payload, "synergy_total").value_or(a.synergy_total + amount);
    a.entries++;
    history_entry h;
    h.event_id = str_of(event, "event_id");
    h.timestamp = str_of(event, "timestamp");
    h.amount = signed_amount(type, payload);
    h.balance_after = *after;
    h.reason = str_of(payload, "reason");
    h.mission_id = str_of(payload, "mission_id");
    a.history.push_front(std::move(h));
    return;
  }

  if (type == event_type::approval_requested) {
    auto id = str_of(payload, "request_id");
    if (id.empty()) {
      p.ignored++;
      return;
    }
    approval_state s;
    if (auto c = payload.find("action_context"); c != payload.end() && c->value().is_object()) {
      auto const& ctx = c->value().get_object();
      s.agent_id = str_of(ctx, "agent_id");
      s.amount = num_of(ctx, "amount").value_or(0);
      s.reason = str_of(ctx, "reason");
    }
    s.requester_id = str_of(payload, "requester_id");
    s.requested_event_id = str_of(event, "event_id");
    p.approvals[id] = std::move(s);
    return;
  }

  if (type == event_type::approval_approved || type == event_type::approval_rejected) {
    auto it = p.approvals.find(str_of(payload, "request_id"));
    if (it == p.approvals.end()) {
      p.ignored++;
      return;
    }
    auto& s = it->second;  // as BRAiN: the last decision overwrites (the ledger guards against a second)
    s.status = type == event_type::approval_approved ? "approved" : "rejected";
    s.version++;
    s.decided_by = str_of(payload, "approver_id");
    s.decided_at = str_of(event, "timestamp");
  }
}

std::string state_digest(projection const& p) {
  std::string canon;
  canon.reserve(256 + p.agents.size() * 64 + p.approvals.size() * 64);
  canon += "events=" + std::to_string(p.events) + "\n";
  for (auto const& [t, n] : p.events_by_type) canon += "type " + t + "=" + std::to_string(n) + "\n";
  for (auto const& [id, a] : p.agents) {
    canon += "agent " + id + " balance=" + py_float(a.balance) + " entries=" + std::to_string(a.entries) +
             " consumed=" + std::to_string(a.consumed_count) + "/" + py_float(a.consumed_sum) +
             " synergy=" + py_float(a.synergy_total) + "\n";
  }
  for (auto const& [id, s] : p.approvals)
    canon += "approval " + id + " " + s.status + " v" + std::to_string(s.version) + " by=" + s.decided_by + "\n";
  std::string out;
  char buf[17];
  for (std::uint64_t seed : {0x5157u, 0x5158u, 0x5159u, 0x515au}) {
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(core::hash64(seed, {canon})));
    out += buf;
  }
  return out;
}

json::object snapshot(projection const& p) {
  json::object balances, approvals, synergy;
  for (auto const& [id, a] : p.agents) {
    balances[id] = a.balance;
    if (a.synergy_total != 0) synergy[id] = a.synergy_total;
  }
  for (auto const& [id, s] : p.approvals) {
    approvals[id] = json::object{{"agent_id", s.agent_id}, {"amount", s.amount}, {"status", s.status},
                                 {"version", s.version}, {"decided_by", s.decided_by.empty() ? json::value() : json::value(s.decided_by)}};
  }
  json::object out;
  out["balances"] = std::move(balances);
  out["approvals"] = std::move(approvals);
  out["synergy"] = std::move(synergy);
  out["events"] = p.events;
  out["state_digest"] = state_digest(p);
  return out;
}

}  // namespace stormgate::backend::detail
