// Each subcommand's flags live in its own app/cmd_*.cpp, which registers them on the CLI and
// calls its library's one entry point. `exit_code` receives what the command returns.
#pragma once
#include <CLI/CLI.hpp>

namespace stormgate::app {

void add_backend_commands(CLI::App& app, int& exit_code);  // backend, karma      (cmd_backend.cpp)
void add_proxy_commands(CLI::App& app, int& exit_code);    // proxy, faults       (cmd_proxy.cpp)
void add_load_commands(CLI::App& app, int& exit_code);     // load                (cmd_load.cpp)
void add_check_commands(CLI::App& app, int& exit_code);    // check               (cmd_check.cpp)
void add_run_commands(CLI::App& app, int& exit_code);      // run                 (cmd_run.cpp)

}  // namespace stormgate::app
