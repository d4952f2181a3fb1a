// Every field of a record the gates read, as one text: two parsers agree on a line when the texts
// they give for it are equal (the line_shapes tests and the record parser's fuzz target compare them).
#pragma once
#include "checks/detail/records.hpp"

#include <cstdio>
#include <string>
#include <string_view>

namespace stormgate::test {

using checks::detail::opt_num;
using checks::detail::record;
using checks::detail::reply;

// Every field of a record, numbers in hex floats: two records are alike when their texts are.
struct describer {
  std::string out;
  void s(char const* k, std::string_view v) { out.append(k).append("=").append(v).append("|"); }
  void i(char const* k, std::int64_t v) { out.append(k).append("=").append(std::to_string(v)).append("|"); }
  void n(char const* k, opt_num const& v) {
    char buf[64];
    if (v) std::snprintf(buf, sizeof buf, "%a", *v);
    s(k, v ? std::string_view(buf) : std::string_view("none"));
  }
  void b(char const* k, std::optional<bool> const& v) { s(k, v ? (*v ? "true" : "false") : "none"); }
  void rep(reply const& r) {
    s("event_id", r.event_id), s("karma", r.karma), s("detail", r.detail), s("digest", r.state_digest), s("approval", r.approval_id);
    i("event_hash", static_cast<std::int64_t>(r.event_hash));
    n("balance_after", r.balance_after), n("balance", r.balance), n("awarded", r.awarded), n("requested", r.requested);
    n("synergy", r.synergy_total), n("ci", r.ci);
    i("ba_null", r.balance_after_null), i("b_null", r.balance_null);
    b("anomaly", r.anomaly_detected), b("capped", r.capped);
    if (r.balances)
      for (auto const& e : *r.balances) s("bal", e.agent), n("v", e.value);
  }
  void operator()(record const& r) {
    i("kind", static_cast<int>(r.kind));
    s("ignored", r.ignored_type);
    if (r.x) {
      auto const& x = *r.x;
      s("id", x.id), s("route", x.route), s("method", x.method), s("target", x.target), s("op", x.op_key), s("idem", x.idem_key);
      s("outcome", x.outcome), s("f", x.f), s("path_id", x.path_id), s("path_agent", x.path_agent), s("agent", x.agent_id);
      i("write", x.write), i("effect", x.effect);
      i("ts", x.ts_us), i("ts_end", x.ts_end_us), i("latency", x.latency_us), i("op_hash", static_cast<std::int64_t>(x.op_hash));
      n("amount", x.amount);
      for (auto const& f : x.faults) s("fault", f.kind), s("path", f.path), n("value", f.value), i("applied", f.applied);
      for (auto const& a : x.upstream) {
        i("status", a.status), i("has_body", a.has_body), i("replayed", a.replayed), s("error", a.error);
        rep(a);
      }
    }
    if (r.h) {
      auto const& h = *r.h;
      s("type", h.type), s("op", h.op), s("scenario", h.scenario), s("f", h.f), s("error", h.error), s("agent", h.agent_id);
      i("ts", h.ts_us), i("latency", h.latency_us), i("status", h.status), i("attempt", h.attempt);
      n("amount", h.amount);
      rep(h);
    }
    if (r.s) i("ts", r.s->ts_us), n("rss", r.s->rss_bytes), s("scenario", r.s->scenario);
    if (r.sc) s("action", r.sc->action), s("scenario", r.sc->scenario), s("reason", r.sc->reason), i("ts", r.sc->ts_us);
    if (r.e) {
      auto const& e = *r.e;
      s("event_id", e.event_id), s("type", e.event_type), s("idem", e.idem_key), s("corr", e.correlation_id), s("cause", e.causation_id);
      s("reason", e.reason), s("entity", e.entity_id), s("request", e.request_id);
      i("corr_null", e.correlation_null), i("cause_present", e.causation_present), i("ts", e.ts_us);
      i("schema", e.schema_version.value_or(-12345)), i("schema_missing", e.schema_missing);
      n("amount", e.amount), n("balance_after", e.balance_after), i("ba_null", e.balance_after_null), b("capped", e.capped);
    }
    if (r.c) s("action", r.c->action), s("name", r.c->name), s("route", r.c->route), s("kind", r.c->action_kind);
    if (r.run) s("action", r.run->action), i("ts", r.run->ts_us);
  }
};

inline std::string describe(bool ok, record const& r, std::string const& err) {
  if (!ok) return "error: " + err;
  describer d;
  d(r);
  return d.out;
}

}  // namespace stormgate::test
