// `stormgate faults`: the admin API's client (list, set from a TOML/JSON file, clear, reset).
#include "config/config.hpp"
#include "proxy/proxy.hpp"

#include <boost/json.hpp>
#include <cstdio>
#include <fstream>
#include <sstream>

namespace stormgate::proxy {

namespace json = boost::json;

namespace {

core::result<json::value> read_json_file(std::string const& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::usage_error(path, "cannot open file");
  std::stringstream ss;
  ss << in.rdbuf();
  auto text = ss.str();
  json::stream_parser p;
  json::error_code ec;
  auto used = p.write(text.data(), text.size(), ec);
  if (!ec) p.finish(ec);
  if (ec) {
    auto line = 1 + std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(std::min(used, text.size())), '\n');
    return core::usage_error(path + ":" + std::to_string(line), "invalid JSON: " + ec.message());
  }
  return p.release();
}

bool ends_with(std::string const& s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

}  // namespace

core::result<std::vector<json::value>> read_fault_file(std::string const& path) {
  std::vector<json::value> out;
  std::vector<std::pair<json::value, std::string>> items;  // fault, key path prefix
  config::toml_json tj;
  bool toml = !ends_with(path, ".json");
  if (toml) {
    auto t = config::read_toml_as_json(path);
    if (!t) return t.error();
    tj = std::move(*t);
  } else {
    auto j = read_json_file(path);
    if (!j) return j.error();
    tj.value = std::move(*j);
  }
  auto const& v = tj.value;
  auto add_list = [&](json::array const& a, std::string const& prefix) {
    std::size_t i = 0;
    for (auto const& f : a) items.emplace_back(f, prefix + std::to_string(i++));
  };
  if (v.is_array()) add_list(v.get_array(), "");
  else if (v.is_object() && v.get_object().contains("faults") && v.get_object().at("faults").is_array())
    add_list(v.get_object().at("faults").get_array(), "faults.");
  else items.emplace_back(v, "");
  if (items.empty()) return core::usage_error(path, "no fault in the file");
  for (auto& [f, prefix] : items) {
    auto parsed = faults::parse_fault(f);
    if (!parsed) {
      std::string key = prefix;
      if (!parsed.error().where.empty()) key += (key.empty() ? "" : ".") + parsed.error().where;
      std::string k = key;
      while (!k.empty() && !tj.where.count(k)) k = k.rfind('.') == std::string::npos ? "" : k.substr(0, k.rfind('.'));
      std::string at = toml ? tj.at(k, path) : path;
      return core::usage_error(at + (key.empty() ? "" : " " + key), parsed.error().what);
    }
    out.push_back(faults::to_json(*parsed));
  }
  return out;
}

int run_faults_command(faults_command const& cmd) {
  std::string base = cmd.admin_url;
  while (!base.empty() && base.back() == '/') base.pop_back();
  auto call = [&](std::string method, std::string path, std::string body) -> int {
    net::request req;
    req.method = std::move(method);
    req.url = base + path;
    req.body = std::move(body);
    if (!cmd.token.empty()) req.headers.emplace_back("Authorization", "Bearer " + cmd.token);
    auto res = net::fetch(req);
    if (!res) {
      std::fprintf(stderr, "stormgate faults: %s\n", res.error().message().c_str());
      return core::exit_unavailable;
    }
    bool ok = res->status >= 200 && res->status < 300;
    std::fprintf(ok ? stdout : stderr, "%s%s", ok ? "" : ("stormgate faults: " + std::to_string(res->status) + " ").c_str(),
                 res->body.c_str());
    if (!res->body.empty() && res->body.back() != '\n') std::fputc('\n', ok ? stdout : stderr);
    if (ok) return 0;
    if (res->status == 400 || res->status == 401 || res->status == 404 || res->status == 405) return core::exit_usage;
    return core::exit_internal;
  };
  if (cmd.verb == "list") return call("GET", "/faults", "");
  if (cmd.verb == "reset") return call("POST", "/faults/reset", "");
  if (cmd.verb == "clear") {
    if (cmd.arg.empty()) {
      std::fprintf(stderr, "stormgate faults: clear needs a fault name\n");
      return core::exit_usage;
    }
    return call("DELETE", "/faults/" + cmd.arg, "");
  }
  if (cmd.verb == "set") {
    auto list = read_fault_file(cmd.arg);
    if (!list) {
      std::fprintf(stderr, "stormgate faults: %s\n", list.error().message().c_str());
      return list.error().code;
    }
    for (auto const& f : *list) {
      auto name = std::string(f.at("name").get_string());
      if (int rc = call("PUT", "/faults/" + name, json::serialize(f)); rc != 0) return rc;
    }
    return 0;
  }
  std::fprintf(stderr, "stormgate faults: unknown command '%s' (list, set FILE, clear NAME, reset)\n", cmd.verb.c_str());
  return core::exit_usage;
}

}  // namespace stormgate::proxy
