// Option names and the backend's TOML file (SPEC §6: a flag wins over the file; errors name file:line:key).
#include "backend/backend.hpp"
#include "config/config.hpp"

namespace stormgate::backend {

namespace json = boost::json;

namespace {
struct defect_name {
  defect d;
  std::string_view name;
};
constexpr defect_name defects[] = {
    {defect::no_idempotency, "no-idempotency"}, {defect::lost_update, "lost-update"},
    {defect::negative_balance, "negative-balance"}, {defect::double_approve, "double-approve"},
    {defect::karma_crash, "karma-crash"},       {defect::anomaly_block, "anomaly-block"},
    {defect::replay_drift, "replay-drift"},     {defect::leak, "leak"},
};
}  // namespace

std::optional<fsync_policy> parse_fsync_policy(std::string_view t) {
  if (t == "always") return fsync_policy::always;
  if (t == "interval") return fsync_policy::interval;
  if (t == "never") return fsync_policy::never;
  return std::nullopt;
}

std::string_view to_string(fsync_policy p) {
  switch (p) {
    case fsync_policy::always: return "always";
    case fsync_policy::interval: return "interval";
    case fsync_policy::never: return "never";
  }
  return "always";
}

std::optional<defect> parse_defect(std::string_view t) {
  if (t.empty() || t == "none") return defect::none;
  for (auto const& d : defects)
    if (d.name == t) return d.d;
  return std::nullopt;
}

std::string_view to_string(defect d) {
  for (auto const& x : defects)
    if (x.d == d) return x.name;
  return "none";
}

std::vector<std::string> defect_names() {
  std::vector<std::string> out;
  for (auto const& d : defects) out.emplace_back(d.name);
  return out;
}

core::result<backend_options> read_backend_config(std::string const& path, backend_options o) {
  auto doc = config::read_toml_as_json(path);
  if (!doc) return doc.error();
  json::object const* table = &doc->value.as_object();
  std::string prefix;
  if (auto it = table->find("backend"); it != table->end() && it->value().is_object()) {
    table = &it->value().get_object();
    prefix = "backend.";
  }
  auto bad = [&](std::string const& key, std::string what) {
    return core::usage_error(doc->at(prefix + key, path) + " " + prefix + key, std::move(what));
  };
  for (auto const& kv : *table) {
    std::string key(kv.key());
    auto const& v = kv.value();
    auto text = [&]() -> std::optional<std::string> {
      if (!v.is_string()) return std::nullopt;
      return std::string(v.get_string());
    };
    if (key == "listen" || key == "journal" || key == "karma_url" || key == "fsync" || key == "defect") {
      auto s = text();
      if (!s) return bad(key, "expected a string");
      if (key == "listen") o.listen = *s;
      else if (key == "journal") o.journal = *s;
      else if (key == "karma_url") o.karma_url = *s;
      else if (key == "fsync") {
        auto p = parse_fsync_policy(*s);
        if (!p) return bad(key, "expected always, interval or never, got '" + *s + "'");
        o.fsync = *p;
      } else {
        auto d = parse_defect(*s);
        if (!d) return bad(key, "unknown defect '" + *s + "'");
        o.defect_ = *d;
      }
    } else if (key == "karma_timeout_ms") {
      if (!v.is_int64() || v.get_int64() <= 0 || v.get_int64() > 600000) return bad(key, "expected a positive integer (ms)");
      o.karma_timeout_ms = static_cast<int>(v.get_int64());
    } else if (key == "anomaly_factor" || key == "synergy_cap") {
      double d = v.is_int64() ? static_cast<double>(v.get_int64()) : v.is_double() ? v.get_double() : -1;
      if (!(d > 0)) return bad(key, "expected a positive number");
      (key == "anomaly_factor" ? o.anomaly_factor : o.synergy_cap) = d;
    } else if (key != "backend") {
      return bad(key, "unknown key (known: listen, journal, karma_url, karma_timeout_ms, fsync, defect, anomaly_factor, synergy_cap)");
    }
  }
  return o;
}

}  // namespace stormgate::backend
