// Gate C — Human Gate Safety (SPEC §5): approvals with more than one winning decision (a 2xx to
// approve/deny), and winning decisions missing from the audit trail (journal approval.* events).
#include "checks/detail/evidence.hpp"
#include "checks/detail/folds.hpp"

#include <functional>
#include <map>
#include <set>

namespace stormgate::checks::detail {
namespace {

class gate_c final : public gate_fold {
 public:
  explicit gate_c(context const& ctx) : ctx_(ctx) {}

  void step(record const& r) override {
    if (r.kind == record_kind::exchange) on_exchange(*r.x, r.src);
    else if (r.kind == record_kind::op) on_op(*r.h, r.src);
    else if (r.kind == record_kind::event) on_event(*r.e, r.src);
  }

  gate_result finish() override {
    gate_result g;
    g.id = key(gate_id::C);
    g.name = label(gate_id::C);
    g.threshold = "0 approvals with more than one winning decision; every decision in the audit trail";
    std::uint64_t decided = 0;
    for (auto& [id, a] : approvals_) {
      if (a.winners.empty()) continue;
      ++decided;
      if (ctx_.has_journal && a.journal_decisions == 0 && !a.event_in_journal)
        audit_ev_.add(id, a.first_src, "winning decision on approval " + id + " has no approval.approved/rejected event in the journal");
    }
    auto race = make_check(check_id::approval_serialised, status::skip, "");
    auto audit = make_check(check_id::audit_log, status::skip, "");
    auto skip = ctx_.profile.skip_reason("approval_race");
    if (decisions_ == 0) {
      race.detail = skip ? "target: " + *skip : "no approval decisions in the logs";
      audit.detail = race.detail;
    } else {
      race.st = race_ev_.total ? status::fail : status::pass;
      race.detail = std::to_string(decisions_) + " decision attempts on " + std::to_string(approvals_.size()) + " approvals, " +
                    std::to_string(race_ev_.total) + " with more than one winner";
      if (!ctx_.has_journal) {
        audit.detail = "no journal given: the audit trail was not checked";
      } else {
        audit.st = audit_ev_.total ? status::warn : status::pass;
        audit.detail = std::to_string(decided) + " decided approvals, " + std::to_string(audit_ev_.total) + " missing from the journal";
      }
    }
    g.checks = {race, audit};
    g.st = merge_checks(g.checks);
    g.critical = race_ev_.total > 0;
    g.figure = std::to_string(race_ev_.total) + " approval races, " + std::to_string(audit_ev_.total) + " decisions missing from the audit trail";
    merge_evidence(g, {&race_ev_, &audit_ev_});
    if (!ctx_.has_journal && decisions_ > 0) g.notes.push_back("audit-trail sub-check SKIP: no journal (--journal or --events-url)");
    g.metrics["approval_races"] = race_ev_.total;
    g.metrics["decisions_missing_from_audit"] = audit_ev_.total;
    g.metrics["approvals"] = approvals_.size();
    g.metrics["decision_attempts"] = decisions_;
    return g;
  }

 private:
  struct approval {
    std::set<std::uint64_t> winners;  // distinct winning effects (event_id, or op+attempt)
    std::set<std::uint64_t> winning_events;
    std::uint32_t journal_decisions = 0;
    bool event_in_journal = false;
    bool reported = false;
    source first_src;
  };
  context const& ctx_;
  std::map<std::string, approval, std::less<>> approvals_;
  std::set<std::uint64_t> journal_decision_events_;
  std::uint64_t decisions_ = 0;
  evidence race_ev_, audit_ev_;

  approval& get(std::string_view id) {
    auto it = approvals_.find(id);
    if (it == approvals_.end()) it = approvals_.emplace(std::string(id), approval{}).first;
    return it->second;
  }

  void win(std::string_view id, std::uint64_t effect, std::string_view op, source const& src, std::string_view how) {
    auto& a = get(id);
    if (a.winners.empty()) a.first_src = src;
    a.winners.insert(effect);
    if (a.winners.size() > 1 && !a.reported) {
      a.reported = true;
      race_ev_.add(op, src, "approval " + std::string(id) + " has " + std::to_string(a.winners.size()) +
                                " winning decisions (" + std::string(how) + ")");
    }
  }

  void on_exchange(exchange const& x, source const& src) {
    if (x.f == "request_approval") {
      for (auto const& a : x.upstream)
        if (ok2xx(a.status) && !a.approval_id.empty()) get(a.approval_id);
      return;
    }
    if (x.f != "approve" && x.f != "deny") return;
    ++decisions_;
    std::string_view id = x.path_id;
    if (id.empty()) return;
    std::size_t n = 0;
    for (auto const& a : x.upstream) {
      ++n;
      if (!ok2xx(a.status)) continue;
      std::uint64_t effect;
      if (!a.event_id.empty()) {
        effect = a.event_hash;
        get(id).winning_events.insert(effect);
        if (journal_decision_events_.count(effect)) get(id).event_in_journal = true;
      } else {
        if (a.replayed) continue;
        effect = h64(std::string(x.op_key) + "#" + std::string(x.id) + "#" + std::to_string(n));
      }
      win(id, effect, x.op_key.empty() ? x.id : x.op_key, src, "2xx to " + std::string(x.f));
    }
  }

  void on_op(hist_op const& h, source const& src) {
    if ((h.f != "approve" && h.f != "deny") || h.type != "ok" || !ok2xx(h.status) || h.approval_id.empty()) return;
    // distinct ops that won; the same event seen in the traffic is the same winner
    std::uint64_t effect = !h.event_id.empty() ? h.event_hash : h64(std::string("op#") + std::string(h.op));
    if (h.event_id.empty() && !get(h.approval_id).winning_events.empty()) return;  // traffic knows better
    win(h.approval_id, effect, h.op, src, "ok " + std::string(h.f) + " in the history");
  }

  void on_event(journal_event const& e, source const& src) {
    if (e.event_type != "approval.approved" && e.event_type != "approval.rejected") return;
    if (!e.event_id.empty()) journal_decision_events_.insert(h64(e.event_id));
    if (e.request_id.empty()) return;
    auto& a = get(e.request_id);
    ++a.journal_decisions;
    if (!e.event_id.empty() && a.winning_events.count(h64(e.event_id))) a.event_in_journal = true;
    if (a.journal_decisions > 1 && !a.reported) {
      a.reported = true;
      race_ev_.add(e.request_id, src, "approval " + std::string(e.request_id) + " has " + std::to_string(a.journal_decisions) +
                                          " decision events in the journal");
    }
  }
};

}  // namespace

std::unique_ptr<gate_fold> make_gate_c(context const& ctx) { return std::make_unique<gate_c>(ctx); }

}  // namespace stormgate::checks::detail
