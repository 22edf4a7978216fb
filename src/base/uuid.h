// Random (version 4) UUIDs, the API's names for shares.
#pragma once

#include <string>
#include <string_view>

namespace tandem {

std::string NewUuid();
bool IsUuid(std::string_view text);

}  // namespace tandem
