// Gate B — Projection Integrity (SPEC §5): the final balance of each agent against the sum of the
// applied deltas, with Jepsen's counter interval for effects of unknown outcome; the per-event
// balance chain; NaN/Inf; negative balances; the state digest before and after a replay/restart.
#include "checks/detail/evidence.hpp"
#include "checks/detail/folds.hpp"
#include "checks/detail/string_map.hpp"

#include <algorithm>

namespace stormgate::checks::detail {
namespace {

constexpr double tolerance = 0.01;

std::int64_t chain_key(double v) { return std::llround(v * 1000.0); }


// Counts per balance value that mostly cancel out (a chain leaves its start and its end): a small
// vector is faster than a node-based map here, and stays as small as the writes in flight.
struct small_counts {
  std::vector<std::pair<std::int64_t, int>> v;
  void add(std::int64_t k, int d) {
    for (auto it = v.begin(); it != v.end(); ++it)
      if (it->first == k) {
        it->second += d;
        if (it->second == 0) {
          *it = v.back();
          v.pop_back();
        }
        return;
      }
    if (v.size() >= 64 && !big) {  // a broken chain: many values stay open; go to a hash map
      big = std::make_unique<std::unordered_map<std::int64_t, int>>(v.begin(), v.end());
      v.clear();
    }
    if (big) {
      auto& c = (*big)[k];
      if ((c += d) == 0) big->erase(k);
      return;
    }
    v.emplace_back(k, d);
  }
  void clear() {
    v.clear();
    big.reset();
  }
  template <class F>
  void for_each(F f) const {
    for (auto const& [k, c] : v) f(k, c);
    if (big)
      for (auto const& [k, c] : *big) f(k, c);
  }
  std::unique_ptr<std::unordered_map<std::int64_t, int>> big;
};

class gate_b final : public gate_fold {
 public:
  gate_b(context const& ctx, op_book& ops) : ctx_(ctx), ops_(ops) {}

  void step(record const& r) override {
    switch (r.kind) {
      case record_kind::exchange: on_exchange(*r.x, r.src); break;
      case record_kind::op: on_op(*r.h, r.src); break;
      case record_kind::event: on_event(*r.e, r.src); break;
      default: break;
    }
  }

  gate_result finish() override;

 private:
  struct agent_state {
    double confirmed = 0;               // Σ applied deltas (a create resets it to its balance)
    double unknown_lo = 0, unknown_hi = 0;  // Σ negative / positive parts of effects of unknown outcome
    bool created = false;
    std::uint64_t writes = 0, gaps_allowed = 0;
    small_counts chain;  // balance -> (#answers ending there − #answers starting there); entries cancel out
    opt_num first_before;
    std::int64_t last_write_end = 0;
    // the last read (by request start)
    std::int64_t read_ts = -1;
    double read_value = 0;
    std::string read_op;
    source read_src;
    std::string read_file;
  };
  struct digest_tracker {
    std::string last;
    std::string last_where;
    bool pending = false;  // a replay / restart happened since `last`
    std::uint64_t writes_since = 0;
  };
  struct journal_agent {
    opt_num last;
    double sum = 0;
    bool sum_valid = true;
  };

  context const& ctx_;
  string_map<agent_state> agents_;
  op_book& ops_;  // shared with gate A; this gate keeps op_facts::b
  evidence drift_ev_, chain_ev_, nan_ev_, neg_ev_, digest_ev_;
  std::uint64_t reads_ = 0, effects_ = 0, unknown_effects_ = 0, digest_compared_ = 0;
  digest_tracker traffic_digest_, history_digest_;
  // journal
  string_map<journal_agent> journal_;
  std::uint64_t journal_links_ = 0;

  agent_state& agent(std::string_view id) { return value_for(agents_, id); }

  void check_value(double v, bool was_null, std::string_view op, source const& src, std::string_view what) {
    if (was_null || !std::isfinite(v)) {
      nan_ev_.add(op, src, std::string(what) + " is " + (was_null ? "null" : fmt_num(v)));
    } else if (v < -1e-9) {
      neg_ev_.add(op, src, std::string(what) + " is negative: " + fmt_num(v));
    }
  }
  void check_opt(opt_num const& v, bool was_null, std::string_view op, source const& src, std::string_view what) {
    if (v) check_value(*v, false, op, src, what);
    else if (was_null) check_value(0, true, op, src, what);
  }

  void read(std::string_view agent_id, double value, std::int64_t ts, std::string_view op, source const& src) {
    ++reads_;
    auto& a = agent(agent_id);
    if (ts >= a.read_ts) {
      a.read_ts = ts;
      a.read_value = value;
      a.read_op = op;
      a.read_src = src;
    }
  }

  void on_digest(digest_tracker& t, std::string_view f, std::string_view digest, std::string_view op, source const& src) {
    if (digest.empty()) return;
    bool compare = !t.last.empty() && t.writes_since == 0 && (f == "replay" || t.pending);
    if (compare) {
      ++digest_compared_;
      if (digest != t.last)
        digest_ev_.add(op, src, "state digest after " + std::string(f == "replay" ? "replay" : "restart/replay") + " is " +
                                    std::string(digest) + ", before it was " + t.last + " (" + t.last_where + ")");
    }
    t.last = digest;
    t.last_where = (src.file ? *src.file : "") + ":" + std::to_string(src.line);
    t.pending = f == "replay";
    t.writes_since = 0;
  }

  // An op is settled when it leaves the op book: its attempts of unknown outcome widen the
  // interval, unless the target is idempotent and the op's effect is already confirmed (one op, at
  // most one effect).
  void retire(op_facts& op) override {
    auto& st = op.b;
    if (!st.unknown || st.unknown->empty()) return;
    bool idem = ctx_.has_idempotency();
    if (idem && st.confirmed) return;
    if (idem) st.unknown->resize(1);
    for (auto const& u : *st.unknown) {
      auto& a = agent(u.agent);
      ++unknown_effects_;
      ++a.gaps_allowed;
      if (u.delta < 0) a.unknown_lo += u.delta;
      else a.unknown_hi += u.delta;
    }
  }

  void on_exchange(exchange const& x, source const& src);
  void on_op(hist_op const& h, source const& src);
  void on_event(journal_event const& e, source const& src);
};

void gate_b::on_exchange(exchange const& x, source const& src) {
  std::string_view op = x.op_key.empty() ? x.id : x.op_key;
  // every balance the target reported
  for (auto const& a : x.upstream) {
    check_opt(a.balance_after, a.balance_after_null, op, src, "balance_after");
    if (x.f == "balance" || x.f == "create") check_opt(a.balance, a.balance_null, op, src, "balance");
    if (a.balances)
      for (auto const& [agent, v] : *a.balances) check_value(v.value_or(0), !v, op, src, "balance of " + std::string(agent));
  }
  if (x.f == "state" || x.f == "replay") {
    for (auto const& a : x.upstream)
      if (ok2xx(a.status)) on_digest(traffic_digest_, x.f, a.state_digest, op, src);
  }
  // reads: the last 2xx answer
  if (x.f == "balance" || x.f == "balances") {
    for (auto it = x.upstream.rbegin(); it != x.upstream.rend(); ++it) {
      if (!ok2xx(it->status)) continue;
      if (x.f == "balance" && it->balance && !x.agent_id.empty()) read(x.agent_id, *it->balance, x.ts_us, op, src);
      if (it->balances)
        for (auto const& [agent, v] : *it->balances)
          if (v && std::isfinite(*v)) read(agent, *v, x.ts_us, op, src);
      break;
    }
    return;
  }
  if (!x.write || x.agent_id.empty()) return;
  auto& ag = agent(x.agent_id);
  ag.last_write_end = std::max(ag.last_write_end, x.ts_end_us);
  auto amount = applied_amount(x, ctx_.profile.fields.amount);
  double sign = x.f == "consume" ? -1.0 : 1.0;

  op_facts::balance_effect* st = nullptr;
  if (!x.op_key.empty()) {
    bool fresh;
    st = &ops_.touch(x.op_hash, x.ts_end_us, fresh).b;
  }
  bool by_id = ctx_.has_event_id();
  for (auto const& a : x.upstream) {
    bool unknown = a.status == 0 || a.status >= 500;
    if (unknown) {
      // may or may not have taken effect
      if (x.f == "create") continue;
      double d = x.f == "synergy" ? amount.value_or(0) : sign * amount.value_or(0);
      if (st) {
        if (!st->unknown) st->unknown = std::make_unique<std::vector<pending_unknown>>();
        st->unknown->push_back({std::string(x.agent_id), d});
      } else {
        ++unknown_effects_;
        ++ag.gaps_allowed;
        (d < 0 ? ag.unknown_lo : ag.unknown_hi) += d;
      }
      continue;
    }
    if (!ok2xx(a.status)) continue;  // the target refused: no effect
    // an applied effect: new unless it repeats this op's event_id (or is an idempotent replay)
    // (an idempotent replay whose original answer was lost still stands for the one effect)
    if (st && by_id && !a.event_id.empty()) {
      auto e = a.event_hash;
      if (st->confirmed && st->first_effect == e) continue;
      if (!st->confirmed) st->first_effect = e;
    } else if (a.replayed && (!st || st->confirmed)) {
      continue;
    }
    if (st) st->confirmed = true;
    ++effects_;
    ++ag.writes;
    if (x.f == "create") {
      auto v = a.balance_after ? a.balance_after : a.balance;
      ag.confirmed = v.value_or(0);
      ag.created = true;
      ag.chain.clear();
      if (v) ag.chain.add(chain_key(*v), +1);
      ag.first_before.reset();
      continue;
    }
    double d = x.f == "synergy" ? a.awarded.value_or(0) : sign * amount.value_or(0);
    ag.confirmed += d;
    if (a.balance_after && std::isfinite(*a.balance_after)) {
      double before = *a.balance_after - d;
      if (!ag.first_before && !ag.created) ag.first_before = before;
      auto k1 = chain_key(*a.balance_after), k0 = chain_key(before);
      ag.chain.add(k1, +1);
      ag.chain.add(k0, -1);
    } else {
      ++ag.gaps_allowed;  // an answer without balance_after cannot be chained
    }
    traffic_digest_.writes_since++;
  }
}

void gate_b::on_op(hist_op const& h, source const& src) {
  if (h.type != "ok") return;
  check_opt(h.balance_after, h.balance_after_null, h.op, src, "balance_after");
  check_opt(h.balance, h.balance_null, h.op, src, "balance");
  if (h.balances)
    for (auto const& [agent, v] : *h.balances) check_value(v.value_or(0), !v, h.op, src, "balance of " + std::string(agent));
  if (h.f == "state" || h.f == "replay") on_digest(history_digest_, h.f, h.state_digest, h.op, src);
  else if (h.f == "restart") history_digest_.pending = true;
  else if (is_write(h.f)) history_digest_.writes_since++;
}

void gate_b::on_event(journal_event const& e, source const& src) {
  if (!e.balance_after && !e.balance_after_null) return;
  if (e.entity_id.empty()) return;
  auto type = e.event_type;
  bool ledger = type.rfind("credit.", 0) == 0 &&
                (type == "credit.allocated" || type == "credit.consumed" || type == "credit.refunded" ||
                 type == "credit.withdrawn" || type == "credit.regenerated");
  bool synergy = type.rfind("synergie.", 0) == 0 && type.find("capped") == std::string_view::npos && e.amount;
  if (!ledger && !synergy) return;
  check_opt(e.balance_after, e.balance_after_null, e.event_id, src, "journal balance_after");
  auto& j = value_for(journal_, e.entity_id);
  auto t = e.event_type;
  double sign = (t.find("consumed") != std::string_view::npos || t.find("withdrawn") != std::string_view::npos) ? -1.0 : 1.0;
  bool creation = t == "credit.allocated" && (e.reason.rfind("Agent creation", 0) == 0 || !j.last);
  double amount = e.amount.value_or(0);
  if (!e.balance_after || !std::isfinite(*e.balance_after)) {
    j.last = e.balance_after;
    j.sum_valid = false;
    return;
  }
  double after = *e.balance_after;
  if (creation && e.reason.rfind("Agent creation", 0) == 0) {
    j.sum = after;
  } else {
    if (j.last && std::isfinite(*j.last)) {
      ++journal_links_;
      double expect = *j.last + sign * amount;
      if (std::fabs(expect - after) >= tolerance)
        chain_ev_.add(e.event_id, src,
                      "chain broken for " + std::string(e.entity_id) + ": balance_after " + fmt_num(after) + " != previous " +
                          fmt_num(*j.last) + (sign < 0 ? " - " : " + ") + fmt_num(amount));
    }
    j.sum = j.last ? j.sum + sign * amount : after;
  }
  j.last = after;
}

gate_result gate_b::finish() {  // every op has been retired
  gate_result g;
  g.id = key(gate_id::B);
  g.name = label(gate_id::B);
  g.threshold = "drift < 0.01 per agent (interval for unknown outcomes); no chain break; no NaN/Inf; no negative balance; equal state digest";
  double max_drift = 0;
  std::uint64_t compared = 0, not_final = 0;
  boost::json::array table;
  for (auto* kv : sorted(agents_)) {
    auto& [id, a] = *kv;
    if (a.writes == 0 && a.unknown_lo == 0 && a.unknown_hi == 0) continue;
    // chain: what remains besides the start (−1) and the end (+1) are breaks
    std::int64_t residual = 0;
    std::optional<std::int64_t> start_key;
    int starts = 0;
    a.chain.for_each([&](std::int64_t k, int c) {
      residual += std::abs(c);
      if (c < 0) {
        start_key = k;
        starts += -c;
      }
    });
    std::int64_t expected = a.created ? 1 : 2;
    if (residual == 0) expected = 0;
    auto breaks = residual > expected ? static_cast<std::uint64_t>((residual - expected + 1) / 2) : 0u;
    if (breaks > a.gaps_allowed) {
      chain_ev_.add(a.read_op, a.read_src,
                    "balance chain of " + id + " has " + std::to_string(breaks) + " break(s) (two answers from the same balance, or a balance_after that does not follow), " +
                        std::to_string(a.gaps_allowed) + " explained by effects of unknown outcome");
    }
    // base: 0 after a create; else the chain's start when it is unique; else the first answer's start
    std::optional<double> base;
    if (a.created) base = 0.0;
    else if (starts == 1 && breaks == 0 && start_key) base = static_cast<double>(*start_key) / 1000.0;
    else if (a.first_before) base = *a.first_before;
    if (a.read_ts < 0 || !base) continue;
    if (a.read_ts < a.last_write_end) {
      ++not_final;
      continue;
    }
    ++compared;
    double lo = *base + a.confirmed + a.unknown_lo, hi = *base + a.confirmed + a.unknown_hi;
    double drift = a.read_value < lo ? lo - a.read_value : a.read_value > hi ? a.read_value - hi : 0.0;
    max_drift = std::max(max_drift, drift);
    if (table.size() < 200) {
      boost::json::object row;
      row["agent_id"] = id;
      row["balance"] = a.read_value;
      row["sum_deltas_lower"] = lo;
      row["sum_deltas_upper"] = hi;
      row["drift"] = drift;
      table.push_back(std::move(row));
    }
    if (drift >= tolerance)
      drift_ev_.add(a.read_op, a.read_src,
                    "balance of " + id + " is " + fmt_num(a.read_value) + ", sum of deltas gives [" + fmt_num(lo) + ", " +
                        fmt_num(hi) + "] (drift " + fmt_num(drift) + ")");
  }
  // the journal's final balances against the last reads
  for (auto const* kv : sorted(journal_)) {
    auto const& [id, j] = *kv;
    if (!j.sum_valid || !j.last) continue;
    if (std::fabs(j.sum - *j.last) >= tolerance)
      drift_ev_.add(id, {nullptr, 0}, "journal: sum of deltas of " + id + " is " + fmt_num(j.sum) + ", last balance_after " + fmt_num(*j.last));
    auto it = agents_.find(id);
    if (it != agents_.end() && it->second.read_ts >= 0 && it->second.read_ts >= it->second.last_write_end &&
        std::fabs(it->second.read_value - *j.last) >= tolerance) {
      double d = std::fabs(it->second.read_value - *j.last);
      max_drift = std::max(max_drift, d);
      drift_ev_.add(it->second.read_op, it->second.read_src,
                    "balance of " + id + " read as " + fmt_num(it->second.read_value) + ", the journal ends at " + fmt_num(*j.last));
    }
  }

  auto sum = make_check(check_id::balance_sum, status::skip, "");
  if (compared == 0 && journal_.empty()) {
    sum.detail = "no agent with writes and a later balance read";
  } else {
    sum.st = drift_ev_.total ? status::fail : status::pass;
    sum.detail = std::to_string(compared) + " agents compared, max drift " + fmt_num(max_drift) + ", " +
                 std::to_string(unknown_effects_) + " effects of unknown outcome";
  }
  auto chain = make_check(check_id::balance_chain, status::skip, "no write answers with balance_after");
  if (effects_ > 0 || journal_links_ > 0) {
    chain.st = chain_ev_.total ? status::fail : status::pass;
    chain.detail = std::to_string(effects_) + " applied effects in the traffic, " + std::to_string(journal_links_) +
                   " journal links, " + std::to_string(chain_ev_.total) + " breaks";
  }
  auto nan = make_check(check_id::no_nan, nan_ev_.total ? status::fail : status::pass, std::to_string(nan_ev_.total) + " non-finite balances");
  auto neg = make_check(check_id::no_negative_balance, neg_ev_.total ? status::fail : status::pass, std::to_string(neg_ev_.total) + " negative balances");
  auto digest = make_check(check_id::no_replay_drift, status::skip, "no state digest before and after a replay or restart");
  if (digest_compared_ > 0) {
    digest.st = digest_ev_.total ? status::fail : status::pass;
    digest.detail = std::to_string(digest_compared_) + " digest comparisons, " + std::to_string(digest_ev_.total) + " differ";
  }
  if (reads_ == 0 && effects_ == 0 && journal_.empty()) {
    nan.st = neg.st = status::skip;
    nan.detail = neg.detail = "no balances in the logs";
  }
  g.checks = {sum, chain, nan, neg, digest};
  g.st = merge_checks(g.checks);
  g.critical = g.st == status::fail;
  g.figure = "max drift " + fmt_num(max_drift) + ", " + std::to_string(chain_ev_.total) + " chain breaks, " +
             std::to_string(nan_ev_.total) + " NaN/Inf, " + std::to_string(neg_ev_.total) + " negative, " +
             std::to_string(digest_ev_.total) + " digest mismatches";
  merge_evidence(g, {&neg_ev_, &nan_ev_, &drift_ev_, &chain_ev_, &digest_ev_});
  if (not_final) g.notes.push_back(std::to_string(not_final) + " agents had no balance read after their last write: not compared");
  g.metrics["max_drift"] = max_drift;
  g.metrics["agents_compared"] = compared;
  g.metrics["applied_effects"] = effects_;
  g.metrics["unknown_effects"] = unknown_effects_;
  g.metrics["chain_breaks"] = chain_ev_.total;
  g.metrics["negative_balances"] = neg_ev_.total;
  g.metrics["non_finite"] = nan_ev_.total;
  g.metrics["digest_compared"] = digest_compared_;
  g.metrics["digest_mismatch"] = digest_ev_.total;
  g.metrics["drift_table"] = std::move(table);
  return g;
}

}  // namespace

std::unique_ptr<gate_fold> make_gate_b(context const& ctx, op_book& ops) { return std::make_unique<gate_b>(ctx, ops); }

}  // namespace stormgate::checks::detail
