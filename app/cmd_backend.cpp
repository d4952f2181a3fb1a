#include "app/commands.hpp"

namespace stormgate::app {
void add_backend_commands(CLI::App&, int&) {}  // arrives with its issue
}  // namespace stormgate::app
