// The ledger's state as a pure fold over journal events (BRAiN's envelope, brain-credit-api.md §2):
// apply(state, event) changes nothing else and reads nothing else, so replay == live.
#pragma once
#include <boost/json/object.hpp>
#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>
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

// An agent's newest history_cap entries, newest first. All slots, with room in their strings for an
// event id and a time stamp, are allocated at the first entry: a busy agent's memory is flat from
// then on, instead of growing for its first 1000 writes (which a short soak would read as a leak).
class history_ring {
 public:
  void push_front(history_entry e) {
    if (slots_.empty()) {
      slots_.resize(history_cap);
      for (auto& s : slots_) s.event_id.reserve(40), s.timestamp.reserve(40);
    }
    head_ = head_ == 0 ? slots_.size() - 1 : head_ - 1;
    auto& s = slots_[head_];
    // assigned, not moved: the slot's strings keep their buffers
    s.event_id.assign(e.event_id);
    s.timestamp.assign(e.timestamp);
    s.amount = e.amount;
    s.balance_after = e.balance_after;
    s.reason.assign(e.reason);
    s.mission_id.assign(e.mission_id);
    if (size_ < slots_.size()) ++size_;
  }
  std::size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  history_entry const& operator[](std::size_t i) const { return slots_[(head_ + i) % slots_.size()]; }
  history_entry const& front() const { return (*this)[0]; }

 private:
  std::vector<history_entry> slots_;
  std::size_t head_ = 0, size_ = 0;
};

struct agent_state {
  double balance = 0;
  double consumed_sum = 0;  // for the running mean of earlier consumes (anomaly flag)
  std::uint64_t consumed_count = 0;
  double synergy_total = 0;
  std::uint64_t entries = 0;         // ledger entries ever applied
  history_ring history;  // newest first, at most history_cap
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
