#include "config/config.hpp"

#include <toml++/toml.h>

#include <fstream>
#include <sstream>

namespace stormgate::config {

namespace json = boost::json;

namespace {

std::string where_of(toml::source_region const& r, std::string const& file) {
  return file + ":" + std::to_string(r.begin.line) + ":" + std::to_string(r.begin.column);
}

json::value convert(toml::node const& n, std::string const& key, std::string const& file,
                    std::map<std::string, std::string>& where) {
  where[key] = where_of(n.source(), file);
  auto child_key = [&key](std::string const& k) { return key.empty() ? k : key + "." + k; };
  if (auto t = n.as_table()) {
    json::object o;
    for (auto const& [k, v] : *t) o[std::string(k.str())] = convert(v, child_key(std::string(k.str())), file, where);
    return o;
  }
  if (auto a = n.as_array()) {
    json::array arr;
    std::size_t i = 0;
    for (auto const& v : *a) arr.push_back(convert(v, child_key(std::to_string(i++)), file, where));
    return arr;
  }
  if (auto s = n.as_string()) return json::value(s->get());
  if (auto i = n.as_integer()) return json::value(i->get());
  if (auto d = n.as_floating_point()) return json::value(d->get());
  if (auto b = n.as_boolean()) return json::value(b->get());
  std::ostringstream os;  // dates and times: their TOML text
  n.visit([&os](auto const& x) { os << x; });
  return json::value(os.str());
}

}  // namespace

std::string toml_json::at(std::string const& key_path, std::string const& file) const {
  auto it = where.find(key_path);
  return it == where.end() ? file : it->second;
}

core::result<toml_json> parse_toml_as_json(std::string_view text, std::string const& source) {
  toml::table table;
  try {
    table = toml::parse(text, source);
  } catch (toml::parse_error const& e) {
    return core::usage_error(where_of(e.source(), source), std::string(e.description()));
  }
  toml_json out;
  out.value = convert(table, "", source, out.where);
  return out;
}

core::result<toml_json> read_toml_as_json(std::string const& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return core::usage_error(path, "cannot open config file");
  std::ostringstream ss;
  ss << in.rdbuf();
  return parse_toml_as_json(ss.str(), path);
}

}  // namespace stormgate::config
