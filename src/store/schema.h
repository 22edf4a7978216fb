// The repository schema as numbered migrations (schema/NNN_*.sql, embedded
// at build time). Migration i brings PRAGMA user_version from i to i+1.
#pragma once

#include <span>
#include <string_view>

namespace tandem::store {

std::span<const std::string_view> SchemaMigrations();

}  // namespace tandem::store
