// Test helpers: read a history file and check that it is well formed (docs/formats.md).
#pragma once
#include <boost/json.hpp>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace stormgate::test {

inline std::vector<boost::json::object> read_history(std::string const& path) {
  std::vector<boost::json::object> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) {
      out.push_back({{"type", "unparsable"}, {"line", line}});
      continue;
    }
    out.push_back(std::move(v.as_object()));
  }
  return out;
}

inline std::string str(boost::json::object const& o, char const* key) {
  auto const* v = o.if_contains(key);
  return v && v->is_string() ? std::string(v->as_string()) : std::string();
}

// "" when well formed, else the first problem: every record has v:1 and a known type; run start first
// and run stop last; every invoke is followed by exactly one ok/fail/info of the same op and attempt
// (and f, scenario, process); nothing completes without an invoke; scenario start/stop pair up.
inline std::string well_formed(std::vector<boost::json::object> const& recs) {
  static std::set<std::string> const types{"invoke", "ok", "fail", "info", "sample", "run", "scenario", "stats"};
  static std::set<std::string> const fs{"create", "add", "consume", "refund", "balance", "balances",
                                        "request_approval", "approve", "deny", "synergy", "restart", "replay", "state"};
  if (recs.size() < 2) return "fewer than 2 records";
  if (str(recs.front(), "type") != "run" || str(recs.front(), "action") != "start") return "first record is not run start";
  if (str(recs.back(), "type") != "run" || str(recs.back(), "action") != "stop") return "last record is not run stop";
  std::map<std::string, boost::json::object> open;  // op#attempt -> invoke
  std::set<std::string> done;
  std::string scenario_open;
  for (std::size_t i = 0; i < recs.size(); ++i) {
    auto const& r = recs[i];
    std::string where = "record " + std::to_string(i + 1) + ": ";
    auto const* v = r.if_contains("v");
    if (!v || !v->is_int64() || v->as_int64() != 1) return where + "no v:1";
    auto type = str(r, "type");
    if (!types.count(type)) return where + "unknown type '" + type + "'";
    if (type == "invoke" || type == "ok" || type == "fail" || type == "info") {
      auto op = str(r, "op");
      if (op.empty()) return where + "no op";
      if (!fs.count(str(r, "f"))) return where + "unknown f '" + str(r, "f") + "'";
      if (str(r, "ts").empty()) return where + "no ts";
      auto const* a = r.if_contains("attempt");
      std::string key = op + "#" + std::to_string(a ? a->as_int64() : 1);
      if (type == "invoke") {
        if (open.count(key) || done.count(key)) return where + "second invoke of " + key;
        open[key] = r;
      } else {
        auto it = open.find(key);
        if (it == open.end()) return where + "completion without invoke: " + key;
        if (str(it->second, "f") != str(r, "f") || str(it->second, "scenario") != str(r, "scenario"))
          return where + "completion differs from its invoke: " + key;
        if (!r.if_contains("latency_us")) return where + "no latency_us";
        if (type != "ok" && str(r, "error").empty()) return where + "fail/info without error";
        open.erase(it);
        done.insert(key);
      }
    } else if (type == "scenario") {
      auto action = str(r, "action");
      if (action == "start") {
        if (!scenario_open.empty()) return where + "scenario start inside " + scenario_open;
        scenario_open = str(r, "scenario");
      } else if (action == "stop") {
        if (scenario_open != str(r, "scenario")) return where + "scenario stop without start";
        scenario_open.clear();
      } else if (action == "skip") {
        if (str(r, "reason").empty()) return where + "skip without reason";
      } else {
        return where + "unknown scenario action";
      }
    }
  }
  if (!open.empty()) return "invoke without completion: " + open.begin()->first;
  if (!scenario_open.empty()) return "scenario not stopped: " + scenario_open;
  return {};
}

inline std::vector<boost::json::object> of_type(std::vector<boost::json::object> const& recs, std::string const& type) {
  std::vector<boost::json::object> out;
  for (auto const& r : recs)
    if (str(r, "type") == type) out.push_back(r);
  return out;
}

}  // namespace stormgate::test
