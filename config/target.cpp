#include "config/config.hpp"

#include "core/jsonl.hpp"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace stormgate::config {

namespace json = boost::json;

namespace detail {
extern const std::pair<std::string_view, std::string_view> embedded_targets[];
extern const int embedded_targets_count;
}  // namespace detail

std::vector<std::string> embedded_target_names() {
  std::vector<std::string> out;
  for (int i = 0; i < detail::embedded_targets_count; ++i) out.emplace_back(detail::embedded_targets[i].first);
  return out;
}

std::optional<std::string> target_profile::skip_reason(std::string_view scenario) const {
  auto it = skip.find(std::string(scenario));
  if (it == skip.end()) return std::nullopt;
  return it->second;
}

core::result<std::string> target_profile::auth_value() const {
  if (auth_header.empty()) return std::string();
  const char* v = std::getenv(token_env.c_str());
  if (!v || !*v)
    return core::usage_error(token_env, "target '" + name + "' needs a token in $" + token_env + " for " +
                                            auth_header);
  return auth_scheme.empty() ? std::string(v) : auth_scheme + " " + v;
}

namespace {

struct reader {
  toml_json const& doc;
  std::string const& file;

  core::error bad(std::string const& key, std::string what) const { return core::usage_error(doc.at(key, file) + " " + key, std::move(what)); }

  // Optional string at "table.key"; error when present with the wrong type.
  core::result<void> str(std::string const& table, std::string const& key, std::string& out) const {
    auto t = table.empty() ? &doc.value : core::find(doc.value, table);
    if (!t) return {};
    auto v = core::find(*t, key);
    if (!v) return {};
    std::string path = table.empty() ? key : table + "." + key;
    if (!v->is_string()) return bad(path, "must be a string");
    out = std::string(v->get_string());
    return {};
  }
  core::result<void> num(std::string const& table, std::string const& key, double& out) const {
    auto t = core::find(doc.value, table);
    if (!t) return {};
    auto v = core::find(*t, key);
    if (!v) return {};
    auto d = core::as_number(*v);
    if (!d) return bad(table + "." + key, "must be a number");
    out = *d;
    return {};
  }
};

}  // namespace

core::result<target_profile> parse_target(std::string_view toml_text, std::string const& source) {
  auto doc = parse_toml_as_json(toml_text, source);
  if (!doc) return doc.error();
  reader r{*doc, source};
  target_profile p;
  p.source = source;
  const char* known_top[] = {"name", "base_url", "auth", "headers", "ops", "fields", "skip", "restart"};
  for (auto const& kv : doc->value.get_object()) {
    bool ok = false;
    for (auto k : known_top) ok |= kv.key() == k;
    if (!ok) return r.bad(std::string(kv.key()), "unknown key (expected one of name, base_url, auth, headers, ops, fields, skip, restart)");
  }
#define SG_TRY(expr)                   \
  do {                                 \
    auto r_ = (expr);                  \
    if (!r_) return r_.error();        \
  } while (0)
  SG_TRY(r.str("", "name", p.name));
  SG_TRY(r.str("", "base_url", p.base_url));
  SG_TRY(r.str("auth", "header", p.auth_header));
  SG_TRY(r.str("auth", "scheme", p.auth_scheme));
  SG_TRY(r.str("auth", "token_env", p.token_env));
  SG_TRY(r.str("headers", "idempotency", p.idempotency_header));
  SG_TRY(r.str("headers", "correlation", p.correlation_header));
  SG_TRY(r.str("headers", "causation", p.causation_header));
  SG_TRY(r.str("fields", "agent_id", p.fields.agent_id));
  SG_TRY(r.str("fields", "amount", p.fields.amount));
  SG_TRY(r.str("fields", "reason", p.fields.reason));
  SG_TRY(r.str("fields", "balance_after", p.fields.balance_after));
  SG_TRY(r.str("fields", "event_id", p.fields.event_id));
  SG_TRY(r.str("fields", "skill_level", p.fields.skill_level));
  SG_TRY(r.str("fields", "rss_bytes", p.fields.rss_bytes));
  SG_TRY(r.num("fields", "initial_per_skill", p.fields.initial_per_skill));
  SG_TRY(r.num("fields", "max_skill_level", p.fields.max_skill_level));
  SG_TRY(r.str("restart", "command", p.restart_command));
#undef SG_TRY
  if (p.name.empty()) return r.bad("name", "a target profile needs a name");
  if (auto ops = core::find(doc->value, "ops")) {
    if (!ops->is_object()) return r.bad("ops", "must be a table of op = \"METHOD /path\"");
    for (auto const& kv : ops->get_object()) {
      std::string key = "ops." + std::string(kv.key());
      if (!kv.value().is_string()) return r.bad(key, "must be a string \"METHOD /path\"");
      std::string_view s(kv.value().get_string());
      auto sp = s.find(' ');
      if (sp == std::string_view::npos || sp + 1 >= s.size() || s[sp + 1] != '/')
        return r.bad(key, "expected \"METHOD /path\", got \"" + std::string(s) + "\"");
      p.ops[std::string(kv.key())] = endpoint{std::string(s.substr(0, sp)), std::string(s.substr(sp + 1))};
    }
  }
  if (auto skip = core::find(doc->value, "skip")) {
    if (!skip->is_object()) return r.bad("skip", "must be a table of scenario = \"reason\"");
    for (auto const& kv : skip->get_object()) {
      if (!kv.value().is_string()) return r.bad("skip." + std::string(kv.key()), "must be a string (the reason)");
      p.skip[std::string(kv.key())] = std::string(kv.value().get_string());
    }
  }
  return p;
}

core::result<target_profile> load_target(std::string_view name_or_path) {
  for (int i = 0; i < detail::embedded_targets_count; ++i)
    if (detail::embedded_targets[i].first == name_or_path)
      return parse_target(detail::embedded_targets[i].second, "embedded:" + std::string(name_or_path));
  std::string path(name_or_path);
  if (!std::filesystem::exists(path)) {
    std::string names;
    for (auto const& n : embedded_target_names()) names += (names.empty() ? "" : ", ") + n;
    return core::usage_error("--target", "'" + path + "' is neither a built-in profile (" + names + ") nor a file");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::usage_error(path, "cannot open target profile");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  return parse_target(text, path);
}

namespace {
std::string_view strip_query(std::string_view t) {
  auto q = t.find('?');
  return q == std::string_view::npos ? t : t.substr(0, q);
}

// Matches "/api/credits/balance/{agent_id}" against a concrete path, segment by segment.
bool match_path(std::string_view pattern, std::string_view path, std::map<std::string, std::string>& params) {
  while (true) {
    if (pattern.empty() || path.empty()) return pattern.empty() && path.empty();
    auto pe = pattern.find('/', 1);
    auto ae = path.find('/', 1);
    auto pseg = pattern.substr(0, pe);
    auto aseg = path.substr(0, ae);
    if (pseg.size() > 2 && pseg[1] == '{' && pseg.back() == '}') {
      if (aseg.size() <= 1) return false;
      params[std::string(pseg.substr(2, pseg.size() - 3))] = std::string(aseg.substr(1));
    } else if (pseg != aseg) {
      return false;
    }
    pattern = pe == std::string_view::npos ? std::string_view() : pattern.substr(pe);
    path = ae == std::string_view::npos ? std::string_view() : path.substr(ae);
  }
}
}  // namespace

std::optional<op_match> classify(target_profile const& p, std::string_view method, std::string_view target) {
  auto path = strip_query(target);
  for (auto const& [op, ep] : p.ops) {
    if (ep.method != method) continue;
    op_match m;
    m.op = op;
    if (match_path(ep.path, path, m.params)) return m;
    // a base path in front (e.g. a gateway prefix): match the tail
    if (path.size() > ep.path.size()) {
      for (auto pos = path.find('/', 1); pos != std::string_view::npos; pos = path.find('/', pos + 1)) {
        m.params.clear();
        if (match_path(ep.path, path.substr(pos), m.params)) return m;
      }
    }
  }
  return std::nullopt;
}

std::string expand(endpoint const& e, std::map<std::string, std::string> const& params) {
  std::string out;
  std::string_view s = e.path;
  while (!s.empty()) {
    auto open = s.find('{');
    if (open == std::string_view::npos) {
      out += s;
      break;
    }
    auto close = s.find('}', open);
    if (close == std::string_view::npos) {
      out += s;
      break;
    }
    out += s.substr(0, open);
    auto it = params.find(std::string(s.substr(open + 1, close - open - 1)));
    out += it == params.end() ? std::string(s.substr(open, close - open + 1)) : it->second;
    s.remove_prefix(close + 1);
  }
  return out;
}

}  // namespace stormgate::config
