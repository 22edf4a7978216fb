// Bad requests on the control socket get JSON-RPC errors; the daemon lives on.
#include <gtest/gtest.h>

#include "testing/daemon_harness.h"
#include "testing/temp_dir.h"

namespace tandem::testing {
namespace {

using nlohmann::json;

class ControlApi : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(daemon_.Start()); }

  // The error code of the answer to `line`, after checking it is a JSON-RPC error.
  int ErrorCodeOf(const std::string& line) {
    std::string answer = RawControlRequest(tmp_ / "config", line + "\n");
    json j = json::parse(answer, nullptr, false);
    EXPECT_FALSE(j.is_discarded()) << line << " -> " << answer;
    EXPECT_TRUE(j.contains("error")) << line << " -> " << answer;
    EXPECT_TRUE(daemon_.Running());
    return j.value("error", json::object()).value("code", 0);
  }

  static std::string Call(const std::string& method, const json& params) {
    return json{{"jsonrpc", "2.0"}, {"id", 7}, {"method", method}, {"params", params}}.dump();
  }

  TempDir tmp_;
  DaemonProcess daemon_{tmp_ / "config"};
};

TEST_F(ControlApi, MalformedRequestsGetJsonRpcErrors) {
  EXPECT_EQ(ErrorCodeOf("this is not json"), -32700);
  EXPECT_EQ(ErrorCodeOf("[1, 2, 3]"), -32600);
  EXPECT_EQ(ErrorCodeOf(R"({"jsonrpc": "1.0", "id": 1, "method": "share_list"})"), -32600);
  EXPECT_EQ(ErrorCodeOf(R"({"jsonrpc": "2.0", "id": 1, "method": 5})"), -32600);
  EXPECT_EQ(ErrorCodeOf(R"({"jsonrpc": "2.0", "id": {"x": 1}, "method": "share_list"})"), -32600);
  EXPECT_EQ(ErrorCodeOf(Call("share_explode", json::object())), -32601);
}

TEST_F(ControlApi, WrongOrMissingParamsAreInvalidParams) {
  EXPECT_EQ(ErrorCodeOf(Call("share_add", json::object())), -32602);
  EXPECT_EQ(ErrorCodeOf(Call("share_add", {{"path", 42}})), -32602);
  EXPECT_EQ(ErrorCodeOf(Call("share_add", json::array({"/tmp"}))), -32602);
  EXPECT_EQ(ErrorCodeOf(Call("share_set_sync_enabled", {{"share", "x"}, {"enabled", "yes"}})), -32602);
  EXPECT_EQ(ErrorCodeOf(Call("share_get_info", {{"share", std::string(100000, 'x')}})), -32602);
  EXPECT_EQ(daemon_.Json({"list"}).size(), 0u);
}

TEST_F(ControlApi, OversizedRequestIsRefused) {
  std::string answer = RawControlRequest(tmp_ / "config", std::string(2 << 20, 'x'));
  EXPECT_NE(answer.find("larger than 1 MiB"), std::string::npos) << answer.substr(0, 200);
  EXPECT_TRUE(daemon_.Running());
  EXPECT_EQ(daemon_.Run({"list"}).exit_code, 0);
}

}  // namespace
}  // namespace tandem::testing
