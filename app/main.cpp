// stormgate: parses the subcommand and hands over to one library entry point.
// Errors that reach here become the exit codes of SPEC §6.
#include "app/commands.hpp"
#include "core/error.hpp"

#include <spdlog/spdlog.h>

#include <cstdio>

int main(int argc, char** argv) {
  using namespace stormgate;
  CLI::App app{"stormgate: chaos testing for event-sourced credit ledgers", "stormgate"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "stormgate 0.1.0");
  int exit_code = core::exit_internal;
#if defined(STORMGATE_PROXY_ONLY)  // stormgate-proxy-uring: the proxy on io_uring (app/CMakeLists.txt)
  app::add_proxy_commands(app, exit_code);
#else
  app::add_backend_commands(app, exit_code);
  app::add_proxy_commands(app, exit_code);
  app::add_load_commands(app, exit_code);
  app::add_check_commands(app, exit_code);
  app::add_run_commands(app, exit_code);
#endif
  try {
    app.parse(argc, argv);
    return exit_code;
  } catch (CLI::ParseError const& e) {
    int rc = app.exit(e);
    return rc == 0 ? 0 : core::exit_usage;
  } catch (core::failure const& f) {
    std::fprintf(stderr, "stormgate: %s\n", f.err.message().c_str());
    return f.err.code;
  } catch (std::exception const& e) {
    std::fprintf(stderr, "stormgate: internal error: %s\n", e.what());
    return core::exit_internal;
  }
}
