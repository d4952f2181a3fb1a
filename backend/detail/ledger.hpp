// The ledger's rules, free of I/O: validate a request, decide, build the events (BRAiN's envelope),
// answer from the event. The service runs it on one thread, so every check-then-act here is atomic.
#pragma once
#include "backend/backend.hpp"
#include "backend/detail/projection.hpp"

#include <boost/json/object.hpp>
#include <cstdint>
#include <deque>
#include <optional>
#include <random>
#include <string>
#include "backend/detail/recent_index.hpp"
#include <unordered_map>
#include <unordered_set>
#include <variant>
#include <vector>

namespace stormgate::backend::detail {

struct answer {
  unsigned status = 200;
  std::string body;  // JSON
  bool replayed = false;
};
answer json_answer(unsigned status, boost::json::value const& v);
answer detail_answer(unsigned status, std::string_view detail);  // {"detail": "..."}

// What the headers of a write say (SPEC §1.1).
struct request_context {
  std::string idempotency_key;  // Idempotency-Key, "" = none
  std::string correlation_id;   // X-Correlation-Id, "" = BRAiN's default
  std::string causation_id;     // X-Causation-Id, "" = null
};

struct karma_result {
  double ci = 0.5;
  bool ok = false;  // false: fallback
};

// Inputs, validated (422 otherwise).
struct agent_input {
  std::string agent_id;
  double skill_level = 0;
  std::string actor_id = "system";
};
struct amount_input {  // consume, refund, add
  std::string agent_id;
  double amount = 0;
  std::string reason;
  std::optional<std::string> mission_id;
  std::string actor_id = "system";
};
struct approval_input {
  std::string agent_id;
  double amount = 0;
  std::string reason;
  std::string requester_id = "system";
};
struct decision_input {
  std::string approver_id;
  std::string justification;
};
struct synergy_input {
  std::string team_id;
  std::string agent_id;
  double amount = 0;
  std::string collaboration_id;
  std::string actor_id = "system";
};

template <class T>
using parsed = std::variant<T, answer>;  // the input, or the 422 to send
parsed<agent_input> parse_agent(std::string_view body);
parsed<amount_input> parse_amount(std::string_view body, bool with_mission);
parsed<approval_input> parse_approval(std::string_view body);
parsed<decision_input> parse_decision(std::string_view body);
parsed<synergy_input> parse_synergy(std::string_view body);

// A decided write: the answer and the events to journal (none for a refusal).
struct outcome {
  answer ans;
  std::vector<boost::json::object> events;
};

// The answer a write's primary event stands for; nullopt for companion events (anomaly, capped).
std::optional<answer> answer_of(boost::json::object const& event);
bool is_primary(std::string_view event_type);

class ledger {
 public:
  struct settings {
    double anomaly_factor = 5.0;
    double synergy_cap = 500.0;
    defect defect_ = defect::none;
  };
  // Kept in memory as 64-bit hashes (bounded, so memory stays flat under a long soak); older keys and ids
  // are still in the journal.
  static constexpr std::size_t idempotency_window = 200000;  // keys -> their primary event's sequence number
  static constexpr std::size_t event_id_window = 200000;     // event ids, for causation checks

  explicit ledger(settings s);

  // Folds one journal event (line `seq`) into the projection and the indexes (start, replay, commit).
  void on_event(boost::json::object const& event, std::uint64_t seq);
  void reset();  // drops projections and indexes (before a replay)

  // The journal line of the key's first effect: its answer is answer_of(that event).
  std::optional<std::uint64_t> replay_seq(std::string const& idempotency_key) const;
  bool knows_event(std::string const& event_id) const;
  bool event_ids_complete() const { return event_ids_.evicted() == 0; }
  double balance(std::string const& agent_id) const;

  outcome create_agent(agent_input const& in, request_context const& ctx);
  // `read_balance`: the balance to decide on (the current one, unless a defect read it earlier).
  outcome consume(amount_input const& in, request_context const& ctx, karma_result k, double read_balance);
  outcome refund(amount_input const& in, request_context const& ctx);
  outcome add(amount_input const& in, request_context const& ctx);
  outcome request_approval(approval_input const& in, request_context const& ctx);
  // 404 for an unknown approval, 409 already_decided when it is no longer pending.
  std::optional<answer> decision_refused(std::string const& approval_id) const;
  outcome decide(std::string const& approval_id, bool approve, decision_input const& in, request_context const& ctx);
  outcome synergy(synergy_input const& in, request_context const& ctx);

  // Applies the outcome's events (journal lines first_seq, first_seq + 1, …); returns those lines.
  std::vector<std::string> commit(outcome const& o, request_context const& ctx, std::uint64_t first_seq);

  projection const& state() const { return state_; }
  std::uint64_t idempotency_violations() const { return idempotency_violations_; }

 private:
  boost::json::object envelope(std::string_view type, std::string actor, std::string correlation,
                               std::string const& causation, boost::json::object payload, std::string key);
  std::string new_uuid();
  void remember_key(std::string_view key, std::uint64_t seq);

  settings settings_;
  projection state_;
  std::mt19937_64 rng_;
  recent_index key_seqs_{idempotency_window};  // hash of a key -> its primary event's line
  recent_index event_ids_{event_id_window};   // hashes of event ids
  std::uint64_t idempotency_violations_ = 0;
};

// BRAiN's timestamp form: RFC 3339 with microseconds and "+00:00".
std::string brain_timestamp();

}  // namespace stormgate::backend::detail
