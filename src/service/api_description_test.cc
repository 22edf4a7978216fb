// api/tandem-api.json is the one description of the API the bindings are
// checked against; these tests hold the service to it, both ways: a method,
// parameter, error kind or event type added on one side only fails here.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "base/result.h"
#include "service/rpc.h"
#include "sync/events.h"

namespace tandem::service {
namespace {

using nlohmann::json;

json Description() {
  std::ifstream in(TANDEM_API_DESCRIPTION);
  return json::parse(in);
}

TEST(ApiDescription, NamesEveryMethodTheServiceServesAndNoOther) {
  std::set<std::string> served, described;
  for (const Method& m : Methods()) served.insert(std::string(m.name));
  const json description = Description();
  for (const json& m : description["methods"]) described.insert(m["name"].get<std::string>());
  EXPECT_EQ(served, described);
}

TEST(ApiDescription, GivesEachMethodExactlyTheParametersItTakes) {
  const json description = Description();
  for (const Method& m : Methods()) {
    std::vector<std::string> taken(m.params.begin(), m.params.end());
    std::vector<std::string> described;
    for (const json& d : description["methods"]) {
      if (d["name"] == m.name) {
        for (const json& p : d["params"]) described.push_back(p["name"].get<std::string>());
      }
    }
    EXPECT_EQ(taken, described) << m.name;
  }
}

TEST(ApiDescription, NamesEveryEventTypeAndNoOther) {
  std::set<std::string> emitted, described;
  for (sync::EventType type : sync::AllEventTypes()) emitted.insert(sync::EventTypeName(type));
  const json description = Description();
  for (const json& e : description["events"]) described.insert(e["type"].get<std::string>());
  EXPECT_EQ(emitted, described);
}

TEST(ApiDescription, GivesEachErrorKindItsStatusAndJsonRpcCode) {
  const json errors = Description()["errors"];
  for (int code = 0; code <= static_cast<int>(ErrorCode::kInternal); ++code) {
    const auto kind = static_cast<ErrorCode>(code);
    bool found = false;
    for (const json& e : errors) {
      if (e["kind"] != ErrorCodeName(kind)) continue;
      found = true;
      EXPECT_EQ(e["status"], code + 1) << ErrorCodeName(kind);
      EXPECT_EQ(e["rpc_code"], RpcErrorCode(kind)) << ErrorCodeName(kind);
    }
    EXPECT_TRUE(found) << ErrorCodeName(kind) << " is not described";
  }
}

TEST(ApiDescription, NamesOnlyTypesItDefines) {
  const json description = Description();
  const json& types = description["types"];
  auto base_name = [](std::string type) {
    if (type.ends_with("?")) type.pop_back();
    if (type.starts_with("[")) type = type.substr(1, type.size() - 2);
    return type;
  };
  const std::set<std::string> plain = {"string", "integer", "number", "boolean", "object"};
  auto defined = [&](const std::string& type) { return plain.count(base_name(type)) || types.contains(base_name(type)); };
  for (const json& m : description["methods"]) {
    EXPECT_TRUE(defined(m["result"].get<std::string>())) << m["name"];
    for (const json& p : m["params"]) EXPECT_TRUE(defined(p["type"].get<std::string>())) << m["name"] << " " << p["name"];
  }
  for (const auto& [name, type] : types.items()) {
    for (const auto& [field, field_type] : type["fields"].items()) {
      EXPECT_TRUE(defined(field_type.get<std::string>())) << name << "." << field;
    }
  }
}

}  // namespace
}  // namespace tandem::service
