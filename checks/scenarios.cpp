// Scenario results (playbook §4, SPEC §4): PASS / FAIL / SKIP per scenario, from the history's
// scenario and op records and each scenario's invariants, finished with the gates' figures.
#include "checks/detail/evidence.hpp"
#include "checks/detail/folds.hpp"
#include "checks/detail/op_cause.hpp"
#include "checks/detail/string_map.hpp"
#include "core/jsonl.hpp"

#include <map>
#include <set>

namespace stormgate::checks::detail {
namespace {

struct scenario_def {
  char const* id;
  char const* name;
};
constexpr scenario_def all_scenarios[] = {
    {"credit_storm", "Credit Storm / Reuse Cascade"},   {"synergy_anti_gaming", "Synergy Anti-Gaming Loop"},
    {"approval_race", "Approval Race / Concurrency"},   {"karma_blackout", "KARMA Blackout"},
    {"ml_chaos", "ML Chaos Injection"},                 {"crash_replay", "Crash / Replay"},
};

class scenarios final : public scenario_fold {
 public:
  explicit scenarios(context const& ctx) : ctx_(ctx) {}

  void step(record const& r) override {
    if (r.kind == record_kind::scenario) on_scenario(*r.sc);
    else if (r.kind == record_kind::op) on_op(*r.h, r.src);
    else if (r.kind == record_kind::event && r.e->event_type.find("reward_capped") != std::string_view::npos) reward_capped_events_++;
  }

  std::vector<scenario_result> finish(std::map<std::string, gate_result> const& gates) override;

 private:
  struct stats {
    bool started = false, stopped = false, skipped = false;
    std::string skip_reason;
    std::int64_t start_us = 0, stop_us = 0, first_us = 0, last_us = 0;
    latency_histogram hist;
    std::uint64_t ops = 0, ok = 0, fail = 0, info = 0;
    struct cause_tally {
      std::uint64_t n = 0;
      std::string first_op;
    };
    std::map<std::string, cause_tally> causes;  // failed ops by f and cause (op_cause), at most max_causes
    std::uint64_t unexplained = 0, expected = 0;
    evidence broken;
  };
  struct approval_tally {
    std::uint64_t won = 0, conflict = 0, unknown = 0, other = 0;
  };
  struct synergy_tally {
    double awarded = 0, requested = 0, max_total = 0;
  };

  context const& ctx_;
  string_map<stats> s_;
  std::map<std::string, approval_tally> approvals_;
  std::map<std::string, synergy_tally> synergy_;
  bool synergy_capped_answer_ = false;
  std::uint64_t reward_capped_events_ = 0;
  std::uint64_t blackout_consumes_ = 0, blackout_fallback_ = 0, blackout_5xx_ = 0;
  std::uint64_t ml_consumes_ = 0, ml_blocked_ = 0, ml_extreme_ci_ = 0;
  std::uint64_t storm_negative_ = 0;
  // crash_replay digests, in history order
  std::string digest_last_;
  bool digest_pending_ = false;
  std::uint64_t digest_compared_ = 0, digest_equal_ = 0;

  void on_scenario(hist_scenario const& sc) {
    auto& st = value_for(s_, sc.scenario);
    if (sc.action == "start") {
      st.started = true;
      if (!st.start_us || sc.ts_us < st.start_us) st.start_us = sc.ts_us;
    } else if (sc.action == "stop") {
      st.stopped = true;
      st.stop_us = std::max(st.stop_us, sc.ts_us);
    } else if (sc.action == "skip") {
      st.skipped = true;
      st.skip_reason = sc.reason;
    }
  }

  void on_op(hist_op const& h, source const& src) {
    std::string_view scen = h.scenario.empty() ? scenario_of_op(h.op) : h.scenario;
    auto& st = value_for(s_, scen);
    if (h.ts_us) {
      if (!st.first_us || h.ts_us < st.first_us) st.first_us = h.ts_us;
      st.last_us = std::max(st.last_us, h.ts_us);
    }
    if (h.type == "invoke") return;
    ++st.ops;
    if (h.latency_us >= 0 && h.f != "restart") st.hist.record_signed(h.latency_us);
    if (h.type == "ok") ++st.ok;
    else if (h.type == "fail") ++st.fail;
    else ++st.info;
    if (h.type != "ok") {
      auto cause = op_cause(h);
      bool explained = core::cause_explained(cause);
      ++(explained ? st.expected : st.unexplained);
      std::string key = std::string(explained ? "expected: " : "ERROR: ") + std::string(h.f) + " " + cause;
      constexpr std::size_t max_causes = 20;
      auto it = st.causes.find(key);
      if (it == st.causes.end() && st.causes.size() < max_causes) it = st.causes.emplace(key, stats::cause_tally{0, std::string(h.op)}).first;
      if (it != st.causes.end()) ++it->second.n;
    }
    if (scen == "credit_storm" && h.type == "ok") {
      if ((h.balance_after && *h.balance_after < -1e-9) || (h.balance && *h.balance < -1e-9)) {
        ++storm_negative_;
        st.broken.add(h.op, src, "negative balance in an answer");
      }
    } else if (scen == "synergy_anti_gaming" && h.f == "synergy" && h.type == "ok" && !h.agent_id.empty()) {
      auto& t = synergy_[std::string(h.agent_id)];
      t.awarded += h.awarded.value_or(0);
      t.requested += h.requested.value_or(h.amount.value_or(0));
      if (h.synergy_total) t.max_total = std::max(t.max_total, *h.synergy_total);
      if (h.capped && *h.capped) synergy_capped_answer_ = true;
    } else if (scen == "approval_race" && (h.f == "approve" || h.f == "deny")) {
      auto& t = approvals_[h.approval_id.empty() ? std::string("?") : std::string(h.approval_id)];
      if (h.type == "ok" && ok2xx(h.status)) ++t.won;
      else if (h.status == 409) ++t.conflict;
      else if (h.type == "info") ++t.unknown;
      else {
        ++t.other;
        st.broken.add(h.op, src, std::string(h.f) + " answered " + std::to_string(h.status) + ", expected 200 or 409 already_decided");
      }
    } else if (scen == "karma_blackout" && h.f == "consume") {
      ++blackout_consumes_;
      if (h.status >= 500) {
        ++blackout_5xx_;
        st.broken.add(h.op, src, "consume answered " + std::to_string(h.status) + " during the KARMA blackout");
      } else if (h.type == "ok") {
        if (h.karma == "fallback" && h.ci && std::fabs(*h.ci - 0.5) < 1e-9) ++blackout_fallback_;
        else st.broken.add(h.op, src, "consume during the KARMA blackout without fallback (karma=" + std::string(h.karma) + ")");
      }
    } else if (scen == "ml_chaos" && h.f == "consume") {
      ++ml_consumes_;
      if (h.type == "fail" && h.status >= 400 && h.status < 500 && h.status != 409 &&
          !(h.status == 400 && (h.detail.find("nsufficient") != std::string_view::npos || h.error.find("nsufficient") != std::string_view::npos))) {
        ++ml_blocked_;
        st.broken.add(h.op, src, "consume blocked with " + std::to_string(h.status));
      }
      if (h.ci && (*h.ci < 0.1 || *h.ci > 0.9)) {
        ++ml_extreme_ci_;
        st.broken.add(h.op, src, "CI " + fmt_num(*h.ci, 3) + " is extreme");
      }
    } else if (scen == "crash_replay") {
      if (h.type == "ok" && (h.f == "state" || h.f == "replay") && !h.state_digest.empty()) {
        if (!digest_last_.empty() && (h.f == "replay" || digest_pending_)) {
          ++digest_compared_;
          if (h.state_digest == digest_last_) ++digest_equal_;
          else st.broken.add(h.op, src, "state digest " + std::string(h.state_digest) + " differs from " + digest_last_);
        }
        digest_last_ = h.state_digest;
        digest_pending_ = h.f == "replay";
      } else if (h.f == "restart" && h.type == "ok") {
        digest_pending_ = true;
      } else if (is_write(h.f) && h.type == "ok") {
        digest_last_.clear();  // state moved on: compare only snapshots with no write in between
        digest_pending_ = false;
      }
    }
  }
};

std::vector<scenario_result> scenarios::finish(std::map<std::string, gate_result> const& gates) {
  auto metric = [&](char const* gate, char const* key) -> double {
    auto it = gates.find(gate);
    if (it == gates.end()) return 0;
    auto v = it->second.metrics.if_contains(key);
    return v ? core::as_number(*v).value_or(0) : 0;
  };
  auto sub = [&](char const* gate, std::string_view name) -> status {
    auto it = gates.find(gate);
    if (it == gates.end()) return status::unknown;
    for (auto const& c : it->second.checks)
      if (c.name == name) return c.st;
    return status::skip;
  };
  std::vector<scenario_result> out;
  for (auto const& def : all_scenarios) {
    scenario_result r;
    r.scenario_id = def.id;
    r.scenario_name = def.name;
    auto it = s_.find(def.id);
    auto profile_skip = ctx_.profile.skip_reason(def.id);
    if (profile_skip) {
      r.st = status::skip;
      r.reason = *profile_skip;
      out.push_back(std::move(r));
      continue;
    }
    if (!ctx_.has_history) {
      r.st = status::skip;
      r.reason = "no history given (--history): scenario results need the load client's history";
      out.push_back(std::move(r));
      continue;
    }
    if (it == s_.end() || (!it->second.started && it->second.ops == 0)) {
      r.st = status::skip;
      r.reason = it != s_.end() && it->second.skipped ? it->second.skip_reason : "not run";
      out.push_back(std::move(r));
      continue;
    }
    auto& st = it->second;
    if (st.skipped && st.ops == 0) {
      r.st = status::skip;
      r.reason = st.skip_reason.empty() ? "skipped by the load client" : st.skip_reason;
      out.push_back(std::move(r));
      continue;
    }
    std::int64_t from = st.start_us ? st.start_us : st.first_us, to = st.stop_us ? st.stop_us : st.last_us;
    r.duration_s = to > from ? static_cast<double>(to - from) / 1e6 : 0;
    r.throughput = r.duration_s > 0 ? static_cast<double>(st.ops) / r.duration_s : 0;
    r.p95_ms = quantile_ms(st.hist, 0.95);
    for (auto const& [e, t] : st.causes) r.errors.push_back(e + " x" + std::to_string(t.n) + " (first: " + t.first_op + ")");
    r.metrics["unexplained_errors"] = st.unexplained;
    r.metrics["expected_failures"] = st.expected;
    r.metrics["ops"] = st.ops;
    r.metrics["ok"] = st.ok;
    r.metrics["fail"] = st.fail;
    r.metrics["info"] = st.info;
    r.metrics["p50_latency"] = quantile_ms(st.hist, 0.5);
    r.metrics["p99_latency"] = quantile_ms(st.hist, 0.99);
    auto inv = [&](std::string name, bool ok, std::string detail) {
      r.invariants.push_back({std::move(name), ok ? status::pass : status::fail, std::move(detail)});
    };
    std::string id = def.id;
    if (id == "credit_storm") {
      inv("Alle Balances >= 0", storm_negative_ == 0 && metric("B", "negative_balances") == 0,
          fmt_num(metric("B", "negative_balances"), 0) + " negative balances (gate B), " + std::to_string(storm_negative_) + " in the history");
      inv("Keine Idempotency-Violations", metric("A", "idempotency_violations") == 0,
          fmt_num(metric("A", "idempotency_violations"), 0) + " idempotency violations (gate A)");
      auto sum = sub("B", "Balance == Sum(Event-Deltas)");
      inv("balance == sum(event_deltas)", sum == status::pass,
          std::string("gate B: ") + to_string(sum) + ", max drift " + fmt_num(metric("B", "max_drift")));
    } else if (id == "synergy_anti_gaming") {
      double worst = 0, req_worst = 0;
      std::string who;
      for (auto const& [a, t] : synergy_) {
        double got = std::max(t.awarded, t.max_total);
        if (got > worst) worst = got, who = a;
        req_worst = std::max(req_worst, t.requested);
      }
      r.metrics["reward_cap"] = ctx_.synergy_cap;
      r.metrics["max_agent_synergy"] = worst;
      r.metrics["agents"] = synergy_.size();
      inv("Kein Agent > Reward-Deckel aus Synergie", !synergy_.empty() && worst <= ctx_.synergy_cap + 0.01,
          synergy_.empty() ? "no synergy answers in the history" : "max " + fmt_num(worst) + " (" + who + "), cap " + fmt_num(ctx_.synergy_cap));
      bool cap_hit = req_worst > ctx_.synergy_cap + 0.01;
      bool audited = synergy_capped_answer_ || reward_capped_events_ > 0;
      inv("Audit-Log zeigt reward_capped", !cap_hit || audited,
          cap_hit ? (audited ? "cap hit; " + std::to_string(reward_capped_events_) + " reward_capped events in the journal" +
                                   (synergy_capped_answer_ ? ", capped:true answers" : "")
                             : "cap hit but no capped:true answer and no reward_capped event")
                  : "cap not reached (max requested " + fmt_num(req_worst) + ")");
    } else if (id == "approval_race") {
      std::uint64_t bad = 0, won = 0, conflicts = 0;
      for (auto const& [a, t] : approvals_) {
        won += t.won;
        conflicts += t.conflict;
        if (t.won != 1 || t.other) ++bad;
      }
      r.metrics["approvals"] = approvals_.size();
      r.metrics["winning_decisions"] = won;
      r.metrics["already_decided"] = conflicts;
      inv("Nur 1 Approval wirksam", !approvals_.empty() && bad == 0,
          approvals_.empty() ? "no approve/deny in the history" : std::to_string(won) + " winning decisions on " + std::to_string(approvals_.size()) + " approvals");
      inv("Restliche Requests: already_decided", st.broken.total == 0, std::to_string(conflicts) + " answered 409");
      auto race = sub("C", "Approval serialisiert (OCC / Single-Writer)");
      inv("Gate C: keine Approval-Races", race != status::fail, std::string("gate C: ") + to_string(race));
    } else if (id == "karma_blackout") {
      r.metrics["consumes"] = blackout_consumes_;
      r.metrics["fallback"] = blackout_fallback_;
      inv("Keine Crashes (5xx)", blackout_5xx_ == 0 && metric("D", "crashes_during_outage") == 0,
          std::to_string(blackout_5xx_) + " 5xx in the history, " + fmt_num(metric("D", "crashes_during_outage"), 0) + " in the traffic");
      inv("Fallback-Logik greift (CI = 0.5)", blackout_consumes_ > 0 && st.broken.total == 0 && metric("D", "missing_fallback") == 0,
          std::to_string(blackout_fallback_) + " of " + std::to_string(blackout_consumes_) + " consumes with fallback");
    } else if (id == "ml_chaos") {
      double blocked = 0;
      auto g = gates.find("D");
      if (g != gates.end())
        if (auto b = g->second.metrics.if_contains("blocked_by_scenario"); b && b->is_object())
          if (auto n = b->get_object().if_contains("ml_chaos")) blocked = core::as_number(*n).value_or(0);
      r.metrics["consumes"] = ml_consumes_;
      r.metrics["anomalies"] = metric("D", "anomalies");
      r.metrics["anomalies_flagged"] = metric("D", "anomalies_flagged");
      inv("Anomalien markiert, nicht blockiert", ml_consumes_ > 0 && ml_blocked_ == 0 && blocked == 0,
          std::to_string(ml_blocked_) + " blocked in the history, " + fmt_num(blocked, 0) + " mutated/anomalous blocked in the traffic");
      inv("CI-Score im Safe-Range", ml_extreme_ci_ == 0 && sub("D", "Edge-of-Chaos stabil (CI 0.3–0.7)") != status::fail,
          std::to_string(ml_extreme_ci_) + " extreme CI values");
    } else if (id == "crash_replay") {
      r.metrics["digest_compared"] = digest_compared_;
      inv("Nach Replay: identischer State", digest_compared_ > 0 && digest_equal_ == digest_compared_,
          digest_compared_ ? std::to_string(digest_equal_) + " of " + std::to_string(digest_compared_) + " digest comparisons equal"
                           : "no state digest before and after a replay or restart");
      auto b = gates.find("B");
      inv("Alle Invarianten erfüllt (Gate B)", b != gates.end() && b->second.st != status::fail,
          std::string("gate B: ") + (b != gates.end() ? to_string(b->second.st) : "UNKNOWN"));
    }
    if (!st.stopped && st.started) r.invariants.push_back({"Szenario beendet", status::fail, "no stop record: interrupted"});
    r.invariants_passed = !r.invariants.empty();
    for (auto const& i : r.invariants)
      if (i.st != status::pass) r.invariants_passed = false;
    r.st = r.invariants_passed ? status::pass : status::fail;
    if (!r.invariants_passed)
      for (auto const& i : r.invariants)
        if (i.st != status::pass) {
          r.reason = i.name + ": " + i.detail;
          break;
        }
    for (auto const& v : st.broken.list)
      if (r.errors.size() < 40) r.errors.push_back(v.op + " (" + v.file + ":" + std::to_string(v.line) + "): " + v.why);
    out.push_back(std::move(r));
  }
  return out;
}

}  // namespace

std::unique_ptr<scenario_fold> make_scenarios(context const& ctx) { return std::make_unique<scenarios>(ctx); }

}  // namespace stormgate::checks::detail
