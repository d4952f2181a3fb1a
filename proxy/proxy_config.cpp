// The proxy's TOML config → proxy_config, with errors naming file:line:col and key.
#include "config/config.hpp"
#include "proxy/proxy.hpp"

#include <boost/json.hpp>
#include <set>

namespace stormgate::proxy {

namespace json = boost::json;

namespace {

struct reader {
  config::toml_json const& tj;
  std::string const& file;

  std::string at(std::string const& key) const { return tj.at(key, file) + " " + key; }
  core::error err(std::string const& key, std::string what) const { return core::usage_error(at(key), std::move(what)); }

  json::value const* get(json::value const& parent, std::string_view key) const {
    auto const* o = parent.if_object();
    if (!o) return nullptr;
    auto it = o->find(key);
    return it == o->end() ? nullptr : &it->value();
  }
  core::result<void> str(json::value const& parent, std::string const& prefix, std::string_view key, std::string& out) const {
    auto const* v = get(parent, key);
    if (!v) return {};
    if (!v->is_string()) return err(prefix + std::string(key), "must be a string");
    out = std::string(v->get_string());
    return {};
  }
  template <class T>
  core::result<void> num(json::value const& parent, std::string const& prefix, std::string_view key, T& out,
                         double lo, double hi) const {
    auto const* v = get(parent, key);
    if (!v) return {};
    double d = v->is_int64() ? double(v->get_int64()) : v->is_double() ? v->get_double() : -1e300;
    if (!(v->is_int64() || v->is_double())) return err(prefix + std::string(key), "must be a number");
    if (d < lo || d > hi) return err(prefix + std::string(key), "out of range");
    out = static_cast<T>(d);
    return {};
  }
  core::result<void> ms(json::value const& parent, std::string const& prefix, std::string_view key,
                        std::chrono::milliseconds& out) const {
    std::int64_t n = out.count();
    auto r = num(parent, prefix, key, n, 1, 86400e3);
    if (!r) return r;
    out = std::chrono::milliseconds(n);
    return {};
  }
  core::result<void> only(json::value const& v, std::string const& prefix, std::set<std::string> const& keys) const {
    auto const* o = v.if_object();
    if (!o) return err(prefix.empty() ? "" : prefix.substr(0, prefix.size() - 1), "must be a table");
    for (auto const& kv : *o)
      if (!keys.count(std::string(kv.key()))) return err(prefix + std::string(kv.key()), "unknown key");
    return {};
  }
};

#define SG_TRY(expr)        \
  do {                      \
    auto r_ = (expr);       \
    if (!r_) return r_.error(); \
  } while (0)

}  // namespace

core::result<route> parse_route_flag(std::string_view text) {
  auto eq = text.find('=');
  auto arrow = text.find("->");
  if (eq == std::string_view::npos || arrow == std::string_view::npos || arrow < eq)
    return core::usage_error("--route", "expected NAME=LISTEN->UPSTREAM, got '" + std::string(text) + "'");
  route r;
  r.name = std::string(text.substr(0, eq));
  r.listen = std::string(text.substr(eq + 1, arrow - eq - 1));
  r.upstream = std::string(text.substr(arrow + 2));
  if (r.name.empty()) return core::usage_error("--route", "empty route name in '" + std::string(text) + "'");
  return r;
}

core::result<void> validate(proxy_config const& cfg) {
  if (cfg.routes.empty()) return core::usage_error("routes", "no route configured (give --route or [routes.NAME])");
  std::set<std::string> names;
  for (auto const& r : cfg.routes) {
    std::string w = cfg.source.empty() ? "--route " + r.name : cfg.source + " routes." + r.name;
    if (!names.insert(r.name).second) return core::usage_error(w, "duplicate route name");
    auto l = net::parse_listen(r.listen, w + ".listen");
    if (!l) return l.error();
    auto u = net::parse_url(r.upstream, w + ".upstream");
    if (!u) return u.error();
  }
  auto a = net::parse_listen(cfg.admin_listen, "admin.listen");
  if (!a) return a.error();
  for (auto const& f : cfg.faults)
    if (!names.count(f.route))
      return core::usage_error("faults." + f.name + ".route", "no route named '" + f.route + "'");
  return {};
}

core::result<proxy_config> load_config(std::string const& path) {
  auto tj = config::read_toml_as_json(path);
  if (!tj) return tj.error();
  reader rd{*tj, path};
  auto const& root = tj->value;
  proxy_config cfg;
  cfg.source = path;
  SG_TRY(rd.only(root, "", {"seed", "threads", "max_active_faults", "routes", "admin", "log", "limits", "timeouts", "faults"}));
  SG_TRY(rd.num(root, "", "seed", cfg.seed, 0, 9.007199254740992e15));
  SG_TRY(rd.num(root, "", "threads", cfg.threads, 1, 64));
  SG_TRY(rd.num(root, "", "max_active_faults", cfg.max_active_faults, 0, 1e9));
  if (auto const* routes = rd.get(root, "routes")) {
    if (!routes->is_object()) return rd.err("routes", "must be a table of [routes.NAME]");
    for (auto const& kv : routes->get_object()) {
      std::string p = "routes." + std::string(kv.key()) + ".";
      SG_TRY(rd.only(kv.value(), p, {"listen", "upstream"}));
      route r;
      r.name = std::string(kv.key());
      SG_TRY(rd.str(kv.value(), p, "listen", r.listen));
      SG_TRY(rd.str(kv.value(), p, "upstream", r.upstream));
      if (r.listen.empty()) return rd.err(p + "listen", "is required");
      if (r.upstream.empty()) return rd.err(p + "upstream", "is required");
      auto l = net::parse_listen(r.listen, rd.at(p + "listen"));
      if (!l) return l.error();
      auto u = net::parse_url(r.upstream, rd.at(p + "upstream"));
      if (!u) return u.error();
      cfg.routes.push_back(std::move(r));
    }
  }
  if (auto const* admin = rd.get(root, "admin")) {
    SG_TRY(rd.only(*admin, "admin.", {"listen", "token"}));
    SG_TRY(rd.str(*admin, "admin.", "listen", cfg.admin_listen));
    SG_TRY(rd.str(*admin, "admin.", "token", cfg.admin_token));
  }
  if (auto const* log = rd.get(root, "log")) {
    SG_TRY(rd.only(*log, "log.", {"path", "rotate_bytes", "body_limit", "queue", "headers"}));
    SG_TRY(rd.str(*log, "log.", "path", cfg.traffic_log));
    SG_TRY(rd.num(*log, "log.", "rotate_bytes", cfg.log_rotate_bytes, 0, 1e15));
    SG_TRY(rd.num(*log, "log.", "body_limit", cfg.log_body_limit, 0, 1e9));
    SG_TRY(rd.num(*log, "log.", "queue", cfg.log_queue, 16, 1e8));
    if (auto const* h = rd.get(*log, "headers")) {
      if (!h->is_array()) return rd.err("log.headers", "must be a list of header names");
      for (auto const& x : h->get_array()) {
        if (!x.is_string()) return rd.err("log.headers", "must be a list of strings");
        std::string name(x.get_string());
        for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        cfg.log_headers.push_back(name);
      }
    }
  }
  if (auto const* lim = rd.get(root, "limits")) {
    SG_TRY(rd.only(*lim, "limits.", {"header_bytes", "body_bytes", "response_body_bytes", "connections"}));
    SG_TRY(rd.num(*lim, "limits.", "header_bytes", cfg.header_limit, 256, 1e7));
    SG_TRY(rd.num(*lim, "limits.", "body_bytes", cfg.body_limit, 0, 1e10));
    SG_TRY(rd.num(*lim, "limits.", "response_body_bytes", cfg.response_body_limit, 0, 1e10));
    SG_TRY(rd.num(*lim, "limits.", "connections", cfg.max_connections, 1, 1e7));
  }
  if (auto const* t = rd.get(root, "timeouts")) {
    SG_TRY(rd.only(*t, "timeouts.", {"idle_ms", "request_ms", "connect_ms", "upstream_ms", "hang_ms", "shutdown_ms"}));
    SG_TRY(rd.ms(*t, "timeouts.", "idle_ms", cfg.idle_timeout));
    SG_TRY(rd.ms(*t, "timeouts.", "request_ms", cfg.request_timeout));
    SG_TRY(rd.ms(*t, "timeouts.", "connect_ms", cfg.connect_timeout));
    SG_TRY(rd.ms(*t, "timeouts.", "upstream_ms", cfg.upstream_timeout));
    SG_TRY(rd.ms(*t, "timeouts.", "hang_ms", cfg.hang_timeout));
    SG_TRY(rd.ms(*t, "timeouts.", "shutdown_ms", cfg.shutdown_grace));
  }
  if (auto const* fs = rd.get(root, "faults")) {
    if (!fs->is_array()) return rd.err("faults", "must be a list of [[faults]] tables");
    std::set<std::string> seen;
    std::size_t i = 0;
    for (auto const& fv : fs->get_array()) {
      std::string p = "faults." + std::to_string(i++);
      auto f = faults::parse_fault(fv);
      if (!f) {
        auto key = p + (f.error().where.empty() ? "" : "." + f.error().where);
        // the nearest key the TOML reader knows a line for
        std::string k = key;
        while (!tj->where.count(k) && k.rfind('.') != std::string::npos) k = k.substr(0, k.rfind('.'));
        return core::usage_error(tj->at(k, path) + " " + key, f.error().what);
      }
      if (!seen.insert(f->name).second) return rd.err(p + ".name", "duplicate fault name '" + f->name + "'");
      cfg.faults.push_back(std::move(*f));
    }
  }
  return cfg;
}

}  // namespace stormgate::proxy
