// The ledger's state as a pure fold over journal events (BRAiN's envelope, brain-credit-api.md §2):
// apply(state, event) changes nothing else and reads nothing else, so replay == live.
#pragma once
#include <boost/json/object.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <string_view>

namespace stormgate::backend::detail {

// Event types written by the reference backend.
namespace event_type {
inline constexpr std::string_view allocated = "credit.allocated";      // create (skill_level) and add
inline constexpr std::string_view consumed = "credit.consumed";
inline constexpr std::string_view refunded = "credit.refunded";
inline constexpr std::string_view anomaly_flagged = "credit.anomaly_flagged";
inline constexpr std::string_view approval_requested = "approval.requested";
inline constexpr std::string_view approval_approved = "approval.approved";
inline constexpr std::string_view approval_rejected = "approval.rejected";
inline constexpr std::string_view synergy_recorded = "synergie.collaboration_recorded";
inline constexpr std::string_view synergy_capped = "synergie.reward_capped";
}  // namespace event_type

inline constexpr std::size_t history_cap = 1000;  // entries kept per agent, as BRAiN

struct history_entry {
  std::string event_id;
  std::string timestamp;
  double amount = 0;  // signed: consumed negative
  double balance_after = 0;
  std::string reason;
  std::string mission_id;  // "" = null
};

struct agent_state {
  double balance = 0;
  double consumed_sum = 0;  // for the running mean of earlier consumes (anomaly flag)
  std::uint64_t consumed_count = 0;
  double synergy_total = 0;
  std::uint64_t entries = 0;         // ledger entries ever applied
  std::deque<history_entry> history;  // newest first, at most history_cap
};

struct approval_state {
  std::string agent_id;
  double amount = 0;
  std::string reason;
  std::string requester_id;
  std::string status = "pending";  // pending | approved | rejected
  int version = 1;
  std::string decided_by;
  std::string decided_at;
  std::string requested_event_id;
};

struct projection {
  std::map<std::string, agent_state> agents;
  std::map<std::string, approval_state> approvals;
  std::map<std::string, std::uint64_t> events_by_type;
  std::uint64_t events = 0;
  std::uint64_t ignored = 0;  // events without the fields their type needs
};

// A string member of an event or payload, "" when absent or not a string (no copy).
std::string_view text_of(boost::json::object const& o, std::string_view key);

// Applies one journal event (the whole envelope). Pure: same state and event, same result.
void apply(projection& p, boost::json::object const& event);

// The movement of a balance an event stands for: +amount, -amount, or 0 (no ledger effect).
double signed_amount(std::string_view type, boost::json::object const& payload);

// A stable hash of the canonical projection (sorted entries, floats as repr): 64 hex digits.
std::string state_digest(projection const& p);
// {balances, approvals, synergy, events, state_digest}
boost::json::object snapshot(projection const& p);

}  // namespace stormgate::backend::detail
