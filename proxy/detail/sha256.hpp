#pragma once
#include <string>
#include <string_view>

namespace stormgate::proxy::detail {
std::string sha256_hex(std::string_view data);
}
