// Config files (TOML) turned into plain structs. toml++ types never leave this folder.
#pragma once
#include "core/error.hpp"

#include <boost/json/value.hpp>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace stormgate::config {

// ---- target profiles (SPEC §1) ---------------------------------------------------------

// One operation of the target API: "POST /api/credits/consume", "GET /api/credits/balance/{agent_id}".
struct endpoint {
  std::string method;
  std::string path;  // may hold {agent_id} and {id} placeholders, each one path segment
};

struct target_profile {
  std::string name;    // "reference", "brain", or the file's `name`
  std::string source;  // "embedded:reference" or the file path
  std::string base_url;

  // Authentication: when `auth_header` is set, requests carry "<auth_header>: <auth_scheme> <token>",
  // the token read from the environment variable `token_env`.
  std::string auth_header;
  std::string auth_scheme = "Bearer";
  std::string token_env = "STORMGATE_TARGET_TOKEN";

  std::string idempotency_header;  // "" when the target has no client idempotency (BRAiN)
  std::string correlation_header;
  std::string causation_header;

  // SPEC §3 `f` names (create, add, consume, refund, balance, balances, request_approval, approve,
  // deny, synergy, replay, state) plus history, metrics, health, approval, events.
  std::map<std::string, endpoint> ops;

  struct field_names {
    std::string agent_id = "agent_id";
    std::string amount = "amount";
    std::string reason = "reason";
    std::string balance_after = "balance_after";
    std::string event_id = "event_id";  // "" when write answers carry none
    std::string skill_level = "skill_level";
    std::string rss_bytes;              // dotted path in the metrics answer, "" if none
    double initial_per_skill = 100.0;
    double max_skill_level = 1.0;
  } fields;

  std::map<std::string, std::string> skip;  // scenario -> reason it cannot be tested here
  std::string restart_command;              // crash_replay: shell command restarting the backend

  bool has(std::string_view op) const { return ops.count(std::string(op)) != 0; }
  // The reason a scenario is SKIP on this target, or nullopt when it is supported.
  std::optional<std::string> skip_reason(std::string_view scenario) const;
  // The token for the auth header, or an error naming the variable when it is required and unset.
  core::result<std::string> auth_value() const;
};

// "reference" / "brain" (embedded), or a path to a TOML file. Errors name file:line:col and key.
core::result<target_profile> load_target(std::string_view name_or_path);
// Same from TOML text already in memory; `source` names it in errors.
core::result<target_profile> parse_target(std::string_view toml_text, std::string const& source);
std::vector<std::string> embedded_target_names();

// What an exchange (method + request target) is, in terms of the profile's ops.
struct op_match {
  std::string op;                             // "consume", "balance", …
  std::map<std::string, std::string> params;  // {agent_id} / {id} from the path
};
// Matches ignoring the query string; a base path prefix of base_url is accepted too.
std::optional<op_match> classify(target_profile const& p, std::string_view method, std::string_view target);
// Fills the placeholders of an op's path: expand(p.ops.at("balance"), {{"agent_id","a1"}}).
std::string expand(endpoint const& e, std::map<std::string, std::string> const& params);

// ---- TOML helpers for the other parts of config/ ----------------------------------------

// A TOML document converted to JSON (tables -> objects, arrays -> arrays, dates -> strings),
// so that TOML and JSON forms of the same thing share one parser (e.g. faults).
// `where_of` receives, for each key path ("faults.0.probability"), "file:line:col".
struct toml_json {
  boost::json::value value;
  std::map<std::string, std::string> where;  // dotted key path -> "file:line:col"
  std::string at(std::string const& key_path, std::string const& file) const;  // where, or file
};
core::result<toml_json> read_toml_as_json(std::string const& path);
core::result<toml_json> parse_toml_as_json(std::string_view text, std::string const& source);

}  // namespace stormgate::config
