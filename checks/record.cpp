// Reading: a buffered line source, and one parser that turns a line of a traffic log, a history or a
// journal into the small record structs the gates fold over. Only the fields the gates use are read.
#include "checks/detail/model.hpp"
#include "core/jsonl.hpp"
#include "core/time.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstring>

namespace stormgate::checks::detail {

namespace json = boost::json;

// ---- line_source ---------------------------------------------------------------------------

line_source::line_source(std::string const& path) : buf_(1 << 20) {
  fd_ = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
#ifdef POSIX_FADV_SEQUENTIAL
  if (fd_ >= 0) ::posix_fadvise(fd_, 0, 0, POSIX_FADV_SEQUENTIAL);
#endif
}

line_source::~line_source() {
  if (fd_ >= 0) ::close(fd_);
}

bool line_source::fill() {
  if (eof_) return false;
  if (begin_ > 0) {
    std::memmove(buf_.data(), buf_.data() + begin_, end_ - begin_);
    end_ -= begin_;
    begin_ = 0;
  }
  if (end_ == buf_.size()) buf_.resize(buf_.size() * 2);
  for (;;) {
    auto n = ::read(fd_, buf_.data() + end_, buf_.size() - end_);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    end_ += static_cast<std::size_t>(n);
    return true;
  }
}

bool line_source::next(std::string_view& line) {
  for (;;) {
    char const* start = buf_.data() + begin_;
    auto nl = static_cast<char const*>(std::memchr(start, '\n', end_ - begin_));
    std::size_t len;
    bool torn = false;
    if (nl) {
      len = static_cast<std::size_t>(nl - start);
    } else if (fill()) {
      continue;
    } else {
      if (begin_ == end_) return false;
      len = end_ - begin_;
      torn = true;
      start = buf_.data() + begin_;
    }
    ++line_no_;
    std::string_view l(start, len);
    begin_ += len + (torn ? 0 : 1);
    if (!l.empty() && l.back() == '\r') l.remove_suffix(1);
    if (l.find_first_not_of(" \t") == std::string_view::npos) continue;
    torn_ = torn;
    line = l;
    return true;
  }
}

// ---- small helpers -------------------------------------------------------------------------

namespace {

std::string_view sv(json::value const* v) {
  if (!v || !v->is_string()) return {};
  auto const& s = v->get_string();
  return {s.data(), s.size()};
}
json::value const* at(json::object const& o, std::string_view k) {
  return o.if_contains(json::string_view(k.data(), k.size()));
}
std::string_view str(json::object const& o, std::string_view k) { return sv(at(o, k)); }
opt_num num(json::object const& o, std::string_view k) {
  auto v = at(o, k);
  return v ? core::as_number(*v) : std::nullopt;
}
bool is_null(json::object const& o, std::string_view k) {
  auto v = at(o, k);
  return v && v->is_null();
}
std::optional<bool> boolean(json::object const& o, std::string_view k) {
  auto v = at(o, k);
  if (!v || !v->is_bool()) return std::nullopt;
  return v->get_bool();
}
json::object const* obj(json::object const& o, std::string_view k) {
  auto v = at(o, k);
  return v && v->is_object() ? &v->get_object() : nullptr;
}
std::int64_t ts_of(json::object const& o, std::string_view k) {
  auto s = str(o, k);
  if (s.empty()) return 0;
  auto t = core::parse_rfc3339_us(s);
  return t ? *t : 0;
}
void fill_answer(json::object const& body, config::target_profile const& p, answer& a) {
  a.has_body = true;
  if (!p.fields.event_id.empty()) a.event_id = str(body, p.fields.event_id);
  auto const& bf = p.fields.balance_after;
  a.balance_after = num(body, bf);
  a.balance_after_null = is_null(body, bf);
  a.balance = num(body, "balance");
  a.balance_null = is_null(body, "balance");
  a.awarded = num(body, "awarded");
  a.requested = num(body, "requested");
  a.synergy_total = num(body, "synergy_total");
  a.capped = boolean(body, "capped");
  a.state_digest = str(body, "state_digest");
  a.approval_id = str(body, "approval_id");
  a.status_text = str(body, "status");
  a.detail = str(body, "detail");
  a.balances = obj(body, "balances");
  if (auto m = obj(body, "metadata")) {
    a.ci = num(*m, "ci");
    a.karma = str(*m, "karma");
    a.anomaly_detected = boolean(*m, "anomaly_detected");
  }
}

void fill_answer_record(json::object const& o, config::target_profile const& p, answer& a) {
  a = answer{};
  if (auto s = num(o, "status")) a.status = static_cast<int>(*s);
  a.error = str(o, "error");
  if (auto b = obj(o, "body")) fill_answer(*b, p, a);
  if (auto h = obj(o, "headers")) {
    auto r = str(*h, "idempotent-replayed");
    a.replayed = r == "true" || r == "True" || r == "1";
  }
}

}  // namespace

// ---- record_parser -------------------------------------------------------------------------

namespace {
thread_local unsigned char parse_buffer[64 * 1024];
}

record_parser::record_parser(context const& ctx)
    : ctx_(ctx), mr_(parse_buffer, sizeof(parse_buffer)), parser_(json::storage_ptr(), json::parse_options{}) {}

bool record_parser::parse_value(std::string_view line, bool lenient, std::string& err) {
  doc_.reset();
  mr_.release();
  json::error_code ec;
  parser_.reset(json::storage_ptr(&mr_));
  parser_.write(line.data(), line.size(), ec);
  if (!ec) {
    doc_.emplace(parser_.release());
    return true;
  }
  if (lenient) {
    std::string e2;
    auto v = core::parse_json_lenient(line, e2);
    if (v) {
      doc_.emplace(std::move(*v));
      return true;
    }
  }
  err = "not valid JSON (" + ec.message() + ")";
  return false;
}

bool record_parser::parse(log_kind kind, std::string_view line, source src, record& out, std::string& err) {
  // Python writes NaN/Infinity into journals; our own logs may carry them only when a peer sent them.
  if (!parse_value(line, true, err)) return false;
  if (!doc_->is_object()) {
    err = "a record must be a JSON object";
    return false;
  }
  auto const& o = doc_->get_object();
  out = record{};
  out.src = src;
  if (kind == log_kind::journal) {
    out.kind = record_kind::event;
    out.e = &e_;
    return fill_journal(o, err);
  }
  if (kind == log_kind::traffic) {
    auto k = str(o, "kind");
    if (k == "exchange") {
      out.kind = record_kind::exchange;
      out.x = &x_;
      return fill_exchange(o, err);
    }
    if (k == "control") {
      out.kind = record_kind::control;
      out.c = &c_;
      c_ = control{};
      c_.ts_us = ts_of(o, "ts");
      c_.action = str(o, "action");
      if (auto cl = at(o, "cleared"); cl && cl->is_array()) c_.cleared = &cl->get_array();
      if (auto f = at(o, "fault")) {
        if (f->is_string()) {
          c_.name = sv(f);
        } else if (f->is_object()) {
          auto const& fo = f->get_object();
          c_.name = str(fo, "name");
          c_.route = str(fo, "route");
          if (auto a = obj(fo, "action"); a && !a->empty()) c_.action_kind = {a->begin()->key().data(), a->begin()->key().size()};
          auto p = num(fo, "probability");
          auto m = obj(fo, "match");
          c_.total = (!p || *p >= 1.0) && (!m || m->empty()) && !obj(fo, "first_n") && !at(fo, "first_n");
          if (auto w = obj(fo, "window")) {
            c_.after_s = num(*w, "after_s");
            c_.for_s = num(*w, "for_s");
            if (at(*w, "first_n")) c_.total = false;
          }
        }
      }
      if (c_.action.empty()) {
        err = "control record without action";
        return false;
      }
      return true;
    }
    if (k == "run") {
      out.kind = record_kind::traffic_run;
      out.run = &run_;
      run_ = run_marker{};
      run_.action = str(o, "action");
      run_.ts_us = ts_of(o, "ts");
      run_.seed = num(o, "seed");
      run_.raw = &*doc_;
      return true;
    }
    if (k.empty()) {
      err = "record without kind";
      return false;
    }
    out.kind = record_kind::ignored;
    out.ignored_type = k;
    return true;
  }
  // history
  auto type = str(o, "type");
  if (type == "invoke" || type == "ok" || type == "fail" || type == "info") {
    out.kind = record_kind::op;
    out.h = &h_;
    h_ = hist_op{};
    h_.type = type;
    h_.op = str(o, "op");
    h_.scenario = str(o, "scenario");
    h_.f = str(o, "f");
    h_.error = str(o, "error");
    h_.ts_us = ts_of(o, "ts");
    if (auto l = num(o, "latency_us")) h_.latency_us = static_cast<std::int64_t>(*l);
    if (auto s = num(o, "status")) h_.status = static_cast<int>(*s);
    if (auto a = num(o, "attempt")) h_.attempt = static_cast<int>(*a);
    if (h_.op.empty()) {
      err = "op record without op";
      return false;
    }
    if (auto v = obj(o, "value")) {
      auto const& p = ctx_.profile;
      h_.agent_id = str(*v, p.fields.agent_id);
      h_.amount = num(*v, p.fields.amount);
      h_.balance_after = num(*v, p.fields.balance_after);
      h_.balance_after_null = is_null(*v, p.fields.balance_after);
      h_.balance = num(*v, "balance");
      h_.balance_null = is_null(*v, "balance");
      h_.event_id = str(*v, "event_id");
      h_.approval_id = str(*v, "approval_id");
      h_.status_text = str(*v, "status");
      h_.state_digest = str(*v, "state_digest");
      h_.awarded = num(*v, "awarded");
      h_.requested = num(*v, "requested");
      h_.synergy_total = num(*v, "synergy_total");
      h_.capped = boolean(*v, "capped");
      h_.detail = str(*v, "detail");
      h_.balances = obj(*v, "balances");
      if (auto m = obj(*v, "metadata")) {
        h_.ci = num(*m, "ci");
        h_.karma = str(*m, "karma");
        h_.anomaly_detected = boolean(*m, "anomaly_detected");
      }
    }
    return true;
  }
  if (type == "sample") {
    out.kind = record_kind::sample;
    out.s = &s_;
    s_ = hist_sample{};
    s_.ts_us = ts_of(o, "ts");
    s_.scenario = str(o, "scenario");
    if (auto v = obj(o, "value")) s_.rss_bytes = num(*v, "rss_bytes");
    return true;
  }
  if (type == "run") {
    out.kind = record_kind::run;
    out.run = &run_;
    run_ = run_marker{};
    run_.action = str(o, "action");
    run_.ts_us = ts_of(o, "ts");
    run_.mode = str(o, "mode");
    run_.target = str(o, "target");
    run_.shard = str(o, "shard");
    run_.planned_duration_s = num(o, "planned_duration_s");
    run_.duration_s = num(o, "duration_s");
    run_.elapsed_s = num(o, "elapsed_s");
    run_.concurrency = num(o, "concurrency");
    run_.seed = num(o, "seed");
    run_.rate = num(o, "rate");
    run_.ops = num(o, "ops");
    run_.interrupted = boolean(o, "interrupted").value_or(false);
    run_.raw = &*doc_;
    return true;
  }
  if (type == "scenario") {
    out.kind = record_kind::scenario;
    out.sc = &sc_;
    sc_ = hist_scenario{};
    sc_.action = str(o, "action");
    sc_.scenario = str(o, "scenario");
    sc_.reason = str(o, "reason");
    sc_.ts_us = ts_of(o, "ts");
    return true;
  }
  if (type.empty()) {
    err = "history record without type";
    return false;
  }
  if (type == "stats") {
    out.kind = record_kind::summary;
    return true;
  }
  out.kind = record_kind::ignored;
  out.ignored_type = type;
  return true;
}

bool record_parser::fill_exchange(json::object const& o, std::string& err) {
  auto& x = x_;
  x.faults.clear();
  x.upstream.clear();
  x.id = str(o, "id");
  x.route = str(o, "route");
  x.method = str(o, "method");
  x.target = str(o, "target");
  x.outcome = str(o, "outcome");
  x.ts_us = ts_of(o, "ts");
  x.ts_end_us = ts_of(o, "ts_end");
  if (!x.ts_end_us) x.ts_end_us = x.ts_us;
  x.latency_us = -1;
  if (auto l = num(o, "latency_us")) x.latency_us = static_cast<std::int64_t>(*l);
  if (x.method.empty() || x.target.empty()) {
    err = "exchange without method or target";
    return false;
  }
  x.op_key = x.idem_key = x.correlation = x.causation = {};
  x.agent_id = x.team_id = {};
  x.amount.reset();
  auto const& p = ctx_.profile;
  if (auto req = obj(o, "req")) {
    if (auto h = obj(*req, "headers")) {
      x.op_key = str(*h, "x-stormgate-op");
      x.idem_key = str(*h, "idempotency-key");
      x.correlation = str(*h, "x-correlation-id");
      x.causation = str(*h, "x-causation-id");
    }
    if (auto b = obj(*req, "body")) {
      x.agent_id = str(*b, p.fields.agent_id);
      x.amount = num(*b, p.fields.amount);
      x.team_id = str(*b, "team_id");
    }
  }
  if (x.op_key.empty()) x.op_key = x.idem_key;
  // classify: method + target -> profile op (cached: targets repeat)
  auto& key = key_;
  key.clear();
  key.append(x.method).append(" ").append(x.target);
  auto it = classify_cache_.find(key);
  if (it == classify_cache_.end()) {
    if (classify_cache_.size() > 200000) classify_cache_.clear();
    auto m = config::classify(p, x.method, x.target);
    std::pair<std::string, config::op_match> entry;
    if (m) entry = {m->op, *m};
    it = classify_cache_.emplace(key, std::move(entry)).first;
  }
  x.f = it->second.first;
  x.path_id = {};
  x.path_agent = {};
  auto const& params = it->second.second.params;
  if (!params.empty()) {
    if (auto pi = params.find("id"); pi != params.end()) x.path_id = pi->second;
    if (auto pa = params.find("agent_id"); pa != params.end()) x.path_agent = pa->second;
  }
  if (x.agent_id.empty() && !x.path_agent.empty()) x.agent_id = x.path_agent;

  if (auto f = at(o, "faults"); f && f->is_array()) {
    for (auto const& e : f->get_array()) {
      if (!e.is_object()) continue;
      auto const& fo = e.get_object();
      fault_applied fa;
      fa.kind = str(fo, "kind");
      fa.rule = str(fo, "rule");
      fa.path = str(fo, "path");
      fa.original = num(fo, "original");
      fa.value = num(fo, "value");
      fa.applied = boolean(fo, "applied").value_or(true);
      x.faults.push_back(fa);
    }
  }
  if (auto u = at(o, "upstream"); u && u->is_array()) {
    for (auto const& e : u->get_array()) {
      if (!e.is_object()) continue;
      x.upstream.emplace_back();
      fill_answer_record(e.get_object(), p, x.upstream.back());
    }
  }
  x.has_resp = false;
  x.resp = answer{};
  if (auto r = obj(o, "resp")) {
    x.has_resp = true;
    fill_answer_record(*r, p, x.resp);
  }
  return true;
}

bool record_parser::fill_journal(json::object const& o, std::string& err) {
  auto& e = e_;
  e = journal_event{};
  e.event_id = str(o, "event_id");
  e.event_type = str(o, "event_type");
  if (e.event_type.empty()) {
    err = "journal event without event_type";
    return false;
  }
  e.idem_key = str(o, "idempotency_key");
  e.correlation_id = str(o, "correlation_id");
  auto cv = at(o, "correlation_id");
  e.correlation_null = !cv || cv->is_null();
  auto ca = at(o, "causation_id");
  e.causation_present = ca && !ca->is_null();
  e.causation_id = sv(ca);
  e.ts_us = ts_of(o, "timestamp");
  if (auto sv_ = at(o, "schema_version")) {
    if (auto n = core::as_number(*sv_)) e.schema_version = static_cast<std::int64_t>(*n);
    else e.schema_missing = true;
  } else {
    e.schema_missing = true;
  }
  if (auto p = obj(o, "payload")) {
    e.entity_id = str(*p, "entity_id");
    if (e.entity_id.empty()) e.entity_id = str(*p, "agent_id");
    e.amount = num(*p, "amount");
    if (!e.amount) e.amount = num(*p, "awarded");
    e.balance_after = num(*p, "balance_after");
    e.balance_after_null = is_null(*p, "balance_after");
    e.reason = str(*p, "reason");
    e.request_id = str(*p, "request_id");
    if (e.request_id.empty()) e.request_id = str(*p, "approval_id");
    e.capped = boolean(*p, "capped");
  }
  return true;
}

// ---- histogram / timeline ------------------------------------------------------------------

void histogram::add(std::int64_t us) {
  std::uint64_t v = us < 1 ? 1 : static_cast<std::uint64_t>(us);
  int e = 63 - __builtin_clzll(v);
  int idx;
  if (e < 4) {
    idx = static_cast<int>(v);  // 1..15 exact
  } else {
    int m = static_cast<int>((v >> (e - 4)) & (sub - 1));
    idx = (e - 3) * sub + m;
  }
  if (idx >= static_cast<int>(b_.size())) idx = static_cast<int>(b_.size()) - 1;
  ++b_[static_cast<std::size_t>(idx)];
  ++n_;
}

void histogram::merge(histogram const& o) {
  for (std::size_t i = 0; i < b_.size(); ++i) b_[i] += o.b_[i];
  n_ += o.n_;
}

double histogram::quantile_ms(double q) const {
  if (n_ == 0) return 0;
  auto want = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(n_)));
  if (want == 0) want = 1;
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < b_.size(); ++i) {
    seen += b_[i];
    if (seen >= want) {
      int idx = static_cast<int>(i);
      double upper;
      if (idx < sub) {
        upper = idx;
      } else {
        int e = idx / sub + 3;
        int m = idx % sub;
        // bucket [ (16+m) << (e-4), (17+m) << (e-4) ): report its upper edge
        upper = std::ldexp(static_cast<double>(sub + m + 1), e - 4);
      }
      return upper / 1000.0;
    }
  }
  return 0;
}

void timeline::add(std::int64_t ts_us, std::int64_t latency_us) {
  if (ts_us <= 0) return;
  if (start_us_ < 0) start_us_ = ts_us;
  if (ts_us < start_us_) {
    // an earlier record of another file: shift the origin left by whole slices
    auto shift = (start_us_ - ts_us + width_us_ - 1) / width_us_;
    slices_.insert(slices_.begin(), static_cast<std::size_t>(std::min<std::int64_t>(shift, 100000)), histogram{});
    start_us_ -= shift * width_us_;
  }
  auto i = static_cast<std::size_t>((ts_us - start_us_) / width_us_);
  while (i >= 240) {
    std::vector<histogram> merged((slices_.size() + 1) / 2);
    for (std::size_t k = 0; k < slices_.size(); ++k) merged[k / 2].merge(slices_[k]);
    slices_.swap(merged);
    width_us_ *= 2;
    i = static_cast<std::size_t>((ts_us - start_us_) / width_us_);
  }
  if (slices_.size() <= i) slices_.resize(i + 1);
  slices_[i].add(latency_us);
}

void timeline::fill(series& out, std::int64_t origin_us) const {
  out.slices.clear();
  for (std::size_t i = 0; i < slices_.size(); ++i) {
    series::slice s;
    s.t_s = static_cast<double>(start_us_ + static_cast<std::int64_t>(i) * width_us_ - origin_us) / 1e6;
    s.width_s = static_cast<double>(width_us_) / 1e6;
    s.ops = slices_[i].count();
    s.p50_ms = slices_[i].quantile_ms(0.50);
    s.p95_ms = slices_[i].quantile_ms(0.95);
    s.p99_ms = slices_[i].quantile_ms(0.99);
    out.slices.push_back(s);
  }
}

// ---- misc ----------------------------------------------------------------------------------

std::string fmt_num(double v, int prec) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", prec, v);
  return buf;
}

std::string_view scenario_of_op(std::string_view op) {
  // a shard prefix "s<i>of<n>-"
  if (op.size() > 4 && op[0] == 's') {
    std::size_t i = 1;
    while (i < op.size() && op[i] >= '0' && op[i] <= '9') ++i;
    if (i > 1 && op.substr(i, 2) == "of") {
      std::size_t j = i + 2, k = j;
      while (k < op.size() && op[k] >= '0' && op[k] <= '9') ++k;
      if (k > j && k < op.size() && op[k] == '-') op.remove_prefix(k + 1);
    }
  }
  auto last = op.rfind('-');
  if (last == std::string_view::npos) return op;
  return op.substr(0, last);
}

bool is_insufficient(answer const& a) {
  if (a.status != 400) return false;
  auto d = a.detail;
  return d.empty() || d.find("nsufficient") != std::string_view::npos;
}

status merge_checks(std::vector<sub_check> const& checks) {
  bool any_pass = false, any_warn = false;
  for (auto const& c : checks) {
    if (c.st == status::fail) return status::fail;
    if (c.st == status::unknown) return status::unknown;
    if (c.st == status::warn) any_warn = true;
    if (c.st == status::pass) any_pass = true;
  }
  if (any_warn) return status::warn;
  return any_pass ? status::pass : status::skip;
}

}  // namespace stormgate::checks::detail

namespace stormgate::checks {
char const* to_string(status s) {
  switch (s) {
    case status::pass: return "PASS";
    case status::warn: return "WARN";
    case status::fail: return "FAIL";
    case status::skip: return "SKIP";
    case status::unknown: return "UNKNOWN";
  }
  return "UNKNOWN";
}
}  // namespace stormgate::checks
