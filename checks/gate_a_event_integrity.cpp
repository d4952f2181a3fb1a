// Gate A — Event Integrity (SPEC §5): logical ops with more than one applied effect (from every
// upstream attempt in the traffic log, not only what the client saw), and the journal's
// schema_version, correlation_id, causation_id and idempotency keys.
#include "checks/detail/evidence.hpp"
#include "checks/detail/folds.hpp"

#include <algorithm>

namespace stormgate::checks::detail {
namespace {

class gate_a final : public gate_fold {
 public:
  gate_a(context const& ctx, op_book& ops) : ctx_(ctx), ops_(ops) {}

  void step(record const& r) override {
    if (r.kind == record_kind::exchange) on_exchange(*r.x, r.src);
    else if (r.kind == record_kind::event) on_event(*r.e, r.src);
  }

  gate_result finish() override {
    // dangling causation ids and duplicate keys / event ids in the journal
    std::sort(event_ids_.begin(), event_ids_.end());
    for (auto const& c : causes_) {
      if (!std::binary_search(event_ids_.begin(), event_ids_.end(), c.hash))
        journal_ev_.add(c.event_id, c.src, "causation_id " + c.cause + " names no event in the journal");
    }
    auto dupes = [&](std::vector<std::pair<std::uint64_t, std::uint64_t>>& v, char const* what) {
      std::sort(v.begin(), v.end());
      std::uint64_t n = 0;
      for (std::size_t i = 1; i < v.size(); ++i) {
        if (v[i].first == v[i - 1].first) {
          ++n;
          dup_ev_.add("", {journal_file_, v[i].second},
                      std::string("duplicate ") + what + " (first at line " + std::to_string(v[i - 1].second) + ")");
        }
      }
      return n;
    };
    auto dup_keys = dupes(idem_keys_, "idempotency_key");
    auto dup_ids = dupes(id_lines_, "event_id");

    gate_result g;
    g.id = key(gate_id::A);
    g.name = label(gate_id::A);
    g.threshold = "0 idempotency violations; every event schema_version > 0, correlation_id set, causation_id known";
    auto idem_total = op_ev_.total + dup_keys;
    g.figure = std::to_string(idem_total) + " idempotency violations (" + std::to_string(op_ev_.total) +
               " ops with more than one applied effect, " + std::to_string(dup_keys) + " duplicate journal keys)";
    auto idem = make_check(check_id::idempotency_key, status::skip, "");
    if (write_ops_ == 0) {
      idem.detail = "no write exchange with an op id or idempotency key in the traffic";
    } else {
      idem.st = op_ev_.total ? status::fail : status::pass;
      idem.detail = std::to_string(write_ops_) + " write exchanges, " + std::to_string(op_ev_.total) +
                    " logical ops with more than one applied effect";
    }
    auto dup = make_check(check_id::no_duplicate_events, status::skip, "no journal given");
    auto schema = make_check(check_id::schema_version, status::skip, "no journal given");
    auto corr = make_check(check_id::correlation_ids, status::skip, "no journal given");
    if (events_ > 0) {
      dup.st = (dup_keys || dup_ids) ? status::fail : status::pass;
      dup.detail = std::to_string(events_) + " events, " + std::to_string(dup_keys) + " duplicate idempotency keys, " +
                   std::to_string(dup_ids) + " duplicate event ids";
      schema.st = schema_bad_ ? status::fail : status::pass;
      schema.detail = std::to_string(schema_bad_) + " events with schema_version <= 0 or missing";
      corr.st = (corr_null_ || journal_ev_.total - schema_bad_ > corr_null_) ? status::fail : status::pass;
      corr.detail = std::to_string(corr_null_) + " null correlation_id, " +
                    std::to_string(journal_ev_.total - schema_bad_ - corr_null_) + " dangling causation_id";
    } else if (ctx_.has_journal) {
      dup.detail = schema.detail = corr.detail = "the journal holds no events";
    }
    g.checks = {idem, dup, schema, corr};
    g.st = merge_checks(g.checks);
    g.critical = idem_total > 0;
    // evidence: ops first, then journal
    merge_evidence(g, {&op_ev_, &dup_ev_, &journal_ev_});
    if (ungrouped_) g.notes.push_back(std::to_string(ungrouped_) + " write exchanges carried neither X-Stormgate-Op nor Idempotency-Key");
    g.metrics["idempotency_violations"] = idem_total;
    g.metrics["write_exchanges"] = write_ops_;
    g.metrics["journal_events"] = events_;
    g.metrics["unique_idempotency_keys"] = idem_keys_.size() - dup_keys;
    return g;
  }

 private:
  struct cause {
    std::uint64_t hash;
    std::string event_id, cause;
    source src;
  };

  context const& ctx_;
  op_book& ops_;  // shared with gate B; this gate keeps op_facts::a
  std::uint64_t write_ops_ = 0, ungrouped_ = 0;
  evidence op_ev_, dup_ev_, journal_ev_;
  // journal
  std::uint64_t events_ = 0, schema_bad_ = 0, corr_null_ = 0;
  std::vector<std::uint64_t> event_ids_;
  std::vector<std::pair<std::uint64_t, std::uint64_t>> idem_keys_, id_lines_;  // (hash, line)
  std::vector<cause> causes_;
  std::string const* journal_file_ = nullptr;

  void on_exchange(exchange const& x, source const& src) {
    if (!x.effect) return;
    ++write_ops_;
    if (x.op_key.empty()) {
      ++ungrouped_;
      return;
    }
    bool fresh;
    auto& st = ops_.touch(x.op_hash, x.ts_end_us, fresh).a;
    bool by_id = ctx_.has_event_id();
    for (auto const& a : x.upstream) {
      if (!ok2xx(a.status)) continue;
      if (by_id && !a.event_id.empty()) {
        auto e = a.event_hash;
        if (st.effects == 0) {
          st.first_effect = e;
          st.effects = 1;
        } else if (e != st.first_effect) {
          ++st.effects;
        }
      } else if (!a.replayed) {
        ++st.effects;
      }
    }
    if (st.effects > 1 && !st.reported) {
      st.reported = true;
      std::string ids;
      for (auto const& a : x.upstream)
        if (ok2xx(a.status) && !a.event_id.empty()) ids += (ids.empty() ? "" : ", ") + std::string(a.event_id);
      std::string why = std::string(x.f) + ": " + std::to_string(st.effects) + " applied effects for one logical op";
      if (!ids.empty()) why += " (event_ids in this exchange: " + ids + ")";
      else if (!by_id) why += " (two balance steps: the target answered 2xx to more than one attempt)";
      op_ev_.add(x.op_key, src, std::move(why));
    }
  }

  void on_event(journal_event const& e, source const& src) {
    ++events_;
    journal_file_ = src.file;
    if (!e.event_id.empty()) {
      auto h = h64(e.event_id);
      event_ids_.push_back(h);
      id_lines_.emplace_back(h, src.line);
    }
    if (!e.idem_key.empty()) idem_keys_.emplace_back(h64(e.idem_key), src.line);
    if (e.schema_missing || (e.schema_version && *e.schema_version <= 0)) {
      ++schema_bad_;
      journal_ev_.add(e.event_id, src,
                      e.schema_missing ? "schema_version missing" : "schema_version " + std::to_string(*e.schema_version) + " <= 0");
    }
    if (e.correlation_null || e.correlation_id.empty()) {
      ++corr_null_;
      journal_ev_.add(e.event_id, src, "correlation_id is null");
    }
    if (e.causation_present) causes_.push_back({h64(e.causation_id), std::string(e.event_id), std::string(e.causation_id), src});
  }
};

}  // namespace

std::unique_ptr<gate_fold> make_gate_a(context const& ctx, op_book& ops) { return std::make_unique<gate_a>(ctx, ops); }

}  // namespace stormgate::checks::detail
