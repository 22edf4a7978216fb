// libtandem through its C ABI only, as an app embeds it: real services on
// real folders, syncing over loopback TLS inside this one process. The
// results are checked against the shapes api/tandem-api.json describes.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tandem/tandem.h"
#include "testing/daemon_harness.h"
#include "testing/temp_dir.h"

namespace {

using nlohmann::json;
using tandem::testing::TempDir;
using tandem::testing::WaitUntil;

json Description() {
  std::ifstream in(TANDEM_API_DESCRIPTION);
  return json::parse(in);
}

struct Reply {
  int32_t status = -1;
  json result;
  std::string error;
};

// One embedded service, closed at the end of the test.
class Embedded {
 public:
  explicit Embedded(const std::filesystem::path& config_dir, json options = json::object()) {
    if (!options.contains("listen")) options["listen"] = "tcp/127.0.0.1:0";
    if (!options.contains("log_level")) options["log_level"] = "warn";
    char* error = nullptr;
    status_ = tandem_service_open(config_dir.c_str(), options.dump().c_str(), nullptr, nullptr, &service_, &error);
    if (error) error_ = error;
    tandem_free(error);
  }
  ~Embedded() { tandem_service_close(service_); }
  Embedded(const Embedded&) = delete;
  Embedded& operator=(const Embedded&) = delete;

  bool open() const { return service_ != nullptr; }
  int32_t status() const { return status_; }
  const std::string& error() const { return error_; }
  tandem_service* get() { return service_; }

  Reply Call(const std::string& method, const json& params = json::object()) {
    char* result = nullptr;
    char* error = nullptr;
    Reply reply;
    reply.status = tandem_call(service_, method.c_str(), params.dump().c_str(), &result, &error);
    if (result) reply.result = json::parse(result);
    if (error) reply.error = error;
    tandem_free(result);
    tandem_free(error);
    return reply;
  }

  json Ok(const std::string& method, const json& params = json::object()) {
    Reply reply = Call(method, params);
    EXPECT_EQ(reply.status, TANDEM_OK) << method << ": " << reply.error;
    return reply.result;
  }

  std::string Address() { return "tcp/127.0.0.1:" + std::to_string(Ok("device_info")["listening_port"].get<int>()); }

 private:
  tandem_service* service_ = nullptr;
  int32_t status_ = -1;
  std::string error_;
};

// Every way `value` differs from the described `type`.
void CheckShape(const json& value, std::string type, const json& types, const std::string& where,
                std::vector<std::string>& problems) {
  if (type.ends_with("?")) {
    if (value.is_null()) return;
    type.pop_back();
  }
  auto wrong = [&] { problems.push_back(where + ": " + value.dump().substr(0, 80) + " is not " + type); };
  if (type.starts_with("[")) {
    if (!value.is_array()) return wrong();
    for (size_t i = 0; i < value.size(); ++i) {
      CheckShape(value[i], type.substr(1, type.size() - 2), types, where + "[" + std::to_string(i) + "]", problems);
    }
  } else if (type == "string") {
    if (!value.is_string()) wrong();
  } else if (type == "integer") {
    if (!value.is_number_integer()) wrong();
  } else if (type == "number") {
    if (!value.is_number()) wrong();
  } else if (type == "boolean") {
    if (!value.is_boolean()) wrong();
  } else if (type == "object") {
    if (!value.is_object()) wrong();
  } else {
    if (!value.is_object()) return wrong();
    const json& fields = types.at(type)["fields"];
    for (const auto& [name, field_type] : fields.items()) {
      const std::string t = field_type.get<std::string>();
      if (!value.contains(name)) {
        if (!t.ends_with("?")) problems.push_back(where + ": no field '" + name + "'");
        continue;
      }
      CheckShape(value[name], t, types, where + "." + name, problems);
    }
    for (const auto& [name, unused] : value.items()) {
      if (!fields.contains(name)) problems.push_back(where + ": field '" + name + "' is not described");
    }
  }
}

std::string ResultType(const json& description, const std::string& method) {
  for (const json& m : description["methods"]) {
    if (m["name"] == method) return m["result"];
  }
  return "";
}

TEST(CAbi, TellsItsVersionAndNamesEveryStatusAsTheDescriptionDoes) {
  const json description = Description();
  EXPECT_EQ(tandem_abi_version(), static_cast<uint32_t>(TANDEM_ABI_VERSION));
  EXPECT_EQ(description["abi_version"], TANDEM_ABI_VERSION);
  for (const json& e : description["errors"]) {
    EXPECT_EQ(tandem_status_name(e["status"].get<int32_t>()), e["kind"].get<std::string>());
  }
  EXPECT_STREQ(tandem_status_name(TANDEM_OK), "ok");
  EXPECT_STREQ(tandem_status_name(999), "unknown_status");
}

TEST(CAbi, EveryResultHasTheShapeTheDescriptionGives) {
  const json description = Description();
  TempDir tmp;
  std::filesystem::create_directories(tmp / "docs");
  std::ofstream(tmp / "docs" / "a.txt") << "hello";
  Embedded a(tmp / "config");
  ASSERT_TRUE(a.open()) << a.error();
  const json share = a.Ok("share_add", {{"path", (tmp / "docs").string()}});
  const std::string id = share["id"];
  std::vector<std::pair<std::string, json>> calls = {
      {"share_add", share},  // the result already in hand
      {"share_list", a.Ok("share_list")},
      {"share_get_info", a.Ok("share_get_info", {{"share", id}})},
      {"share_add_peer", a.Ok("share_add_peer", {{"share", id}, {"address", "tcp/127.0.0.1:9"}})},
      {"share_list_peers", a.Ok("share_list_peers", {{"share", id}})},
      {"share_get_sync_token", a.Ok("share_get_sync_token", {{"share", id}, {"mode", "read"}})},
      {"share_rescan", a.Ok("share_rescan", {{"share", id}})},
      {"share_list_conflicts", a.Ok("share_list_conflicts", {{"share", id}})},
      {"share_set_ignore_patterns", a.Ok("share_set_ignore_patterns", {{"share", id}, {"text", "build/\n"}})},
      {"share_get_ignore_patterns", a.Ok("share_get_ignore_patterns", {{"share", id}})},
      {"share_check_ignored", a.Ok("share_check_ignored", {{"share", id}, {"path", "build/x.o"}})},
      {"device_info", a.Ok("device_info")},
      {"events_poll", a.Ok("events_poll", {{"since", 0}, {"timeout_ms", 0}})},
      {"share_remove_peer", a.Ok("share_remove_peer", {{"share", id}, {"address", "tcp/127.0.0.1:9"}})},
      {"share_set_sync_enabled", a.Ok("share_set_sync_enabled", {{"share", id}, {"enabled", false}})},
      {"share_remove", a.Ok("share_remove", {{"share", id}})},
  };
  for (const auto& [method, result] : calls) {
    std::vector<std::string> problems;
    CheckShape(result, ResultType(description, method), description["types"], method, problems);
    EXPECT_TRUE(problems.empty()) << ::testing::PrintToString(problems);
  }
  // The events carry the data fields the description names for their type.
  const auto polled = std::find_if(calls.begin(), calls.end(), [](const auto& call) { return call.first == "events_poll"; });
  for (const json& event : polled->second["events"]) {
    for (const json& e : description["events"]) {
      if (e["type"] != event["type"]) continue;
      for (const auto& [field, unused] : event["data"].items()) {
        EXPECT_NE(std::find(e["data"].begin(), e["data"].end(), field), e["data"].end())
            << event["type"] << " has undescribed field " << field;
      }
    }
  }
}

TEST(CAbi, TwoServicesInOneProcessSyncAFolderBothWays) {
  TempDir tmp;
  std::filesystem::create_directories(tmp / "a");
  std::ofstream(tmp / "a" / "from-a.txt") << "written on a";
  Embedded a(tmp / "config-a");
  Embedded b(tmp / "config-b");
  ASSERT_TRUE(a.open()) << a.error();
  ASSERT_TRUE(b.open()) << b.error();
  const std::string id = a.Ok("share_add", {{"path", (tmp / "a").string()}})["id"];
  const std::string token = a.Ok("share_get_sync_token", {{"share", id}})["token"];
  const std::string on_b = b.Ok("share_import_from_token", {{"token", token}, {"path", (tmp / "b").string()}})["id"];
  b.Ok("share_add_peer", {{"share", on_b}, {"address", a.Address()}});
  ASSERT_TRUE(WaitUntil([&] { return std::filesystem::exists(tmp / "b" / "from-a.txt"); }));
  std::ofstream(tmp / "b" / "from-b.txt") << "written on b";
  ASSERT_TRUE(WaitUntil([&] { return std::filesystem::exists(tmp / "a" / "from-b.txt"); }));
  std::ifstream in(tmp / "a" / "from-b.txt");
  EXPECT_EQ(std::string(std::istreambuf_iterator<char>(in), {}), "written on b");
}

TEST(CAbi, OpeningWithBadInputSaysWhyAndCreatesNothing) {
  TempDir tmp;
  struct Case {
    std::string dir;
    std::string options;
    std::string says;
  };
  const std::vector<Case> cases = {
      {"relative/config", "{}", "absolute path"},
      {"", "{}", "missing"},
      {(tmp / "c1").string(), "not json", "JSON object"},
      {(tmp / "c2").string(), "[1]", "JSON object"},
      {(tmp / "c3").string(), R"({"lisen": "tcp/127.0.0.1:0"})", "bad option 'lisen'"},
      {(tmp / "c4").string(), R"({"log_level": "loud"})", "log_level must be"},
      {(tmp / "c5").string(), R"({"events_kept": 5})", "bad option 'events_kept'"},
      {(tmp / "c6").string(), R"({"listen": "udp/1.2.3.4:5"})", "listen"},
      {(tmp / "c7").string(), R"({"tune_allocator": "yes"})", "bad option 'tune_allocator'"},
  };
  for (const Case& c : cases) {
    tandem_service* service = reinterpret_cast<tandem_service*>(0x1);
    char* error = nullptr;
    int32_t status = tandem_service_open(c.dir.c_str(), c.options.c_str(), nullptr, nullptr, &service, &error);
    EXPECT_EQ(status, TANDEM_E_INVALID_ARGUMENT) << c.dir << " " << c.options;
    EXPECT_EQ(service, nullptr);
    ASSERT_NE(error, nullptr);
    EXPECT_NE(std::string(error).find(c.says), std::string::npos) << error;
    tandem_free(error);
  }
  for (const char* dir : {"c1", "c2", "c3", "c4", "c5", "c7"}) EXPECT_FALSE(std::filesystem::exists(tmp / dir)) << dir;
  EXPECT_FALSE(std::filesystem::exists(std::filesystem::current_path() / "relative"));
}

TEST(CAbi, AWebUiWhoseAddressIsTakenFailsTheOpenUnlessItIsOptional) {
  TempDir tmp;
  Embedded first(tmp / "first", {{"gui", "127.0.0.1:0"}});
  ASSERT_TRUE(first.open()) << first.error();
  const std::string url = first.Call("gui_login").result["url"].get<std::string>();
  const std::string taken = url.substr(7, url.size() - 8);  // http://HOST:PORT/
  // Asked for that address: the open fails, saying why, and the UI there is untouched.
  Embedded strict(tmp / "strict", {{"gui", taken}});
  EXPECT_FALSE(strict.open());
  EXPECT_EQ(strict.status(), TANDEM_E_IO);
  EXPECT_NE(strict.error().find("cannot listen on " + taken), std::string::npos) << strict.error();
  EXPECT_EQ(first.Call("gui_login").status, TANDEM_OK);
  // Only hoped for (the daemon's default): the service runs without its UI and says why.
  Embedded relaxed(tmp / "relaxed", {{"gui", taken}, {"gui_optional", true}});
  ASSERT_TRUE(relaxed.open()) << relaxed.error();
  Reply off = relaxed.Call("gui_login");
  EXPECT_EQ(off.status, TANDEM_E_FAILED_PRECONDITION);
  EXPECT_NE(off.error.find("the web UI is off (the web UI cannot listen on " + taken), std::string::npos) << off.error;
  EXPECT_EQ(relaxed.Call("share_list").status, TANDEM_OK);
  // A bad address is refused even so.
  Embedded bad(tmp / "bad", {{"gui", "nonsense"}, {"gui_optional", true}});
  EXPECT_FALSE(bad.open());
  EXPECT_NE(bad.error().find("bad web UI address"), std::string::npos) << bad.error();
}

TEST(CAbi, AConfigFolderIsHeldByOneServiceAtATime) {
  TempDir tmp;
  Embedded first(tmp / "config");
  ASSERT_TRUE(first.open()) << first.error();
  Embedded second(tmp / "config");
  EXPECT_FALSE(second.open());
  EXPECT_EQ(second.status(), TANDEM_E_FAILED_PRECONDITION);
  EXPECT_NE(second.error().find("already running"), std::string::npos) << second.error();
}

TEST(CAbi, BadCallsSayWhyAndChangeNothing) {
  TempDir tmp;
  std::filesystem::create_directories(tmp / "docs");
  Embedded a(tmp / "config");
  ASSERT_TRUE(a.open()) << a.error();
  EXPECT_EQ(a.Call("share_explode").status, TANDEM_E_UNKNOWN_METHOD);
  EXPECT_EQ(a.Call("share_add", {{"path", 5}}).status, TANDEM_E_INVALID_PARAMS);
  EXPECT_EQ(a.Call("share_add", {{"path", (tmp / "docs").string()}, {"nmae", "x"}}).status, TANDEM_E_INVALID_PARAMS);
  Reply relative = a.Call("share_add", {{"path", "docs"}});
  EXPECT_EQ(relative.status, TANDEM_E_INVALID_ARGUMENT);
  EXPECT_NE(relative.error.find("absolute"), std::string::npos) << relative.error;
  Reply token = a.Call("share_import_from_token", {{"token", "tandem:nonsense"}, {"path", (tmp / "b").string()}});
  EXPECT_EQ(token.status, TANDEM_E_INVALID_ARGUMENT) << token.error;
  EXPECT_EQ(a.Call("share_get_info", {{"share", "nothing-here"}}).status, TANDEM_E_NOT_FOUND);

  char* result = nullptr;
  char* error = nullptr;
  EXPECT_EQ(tandem_call(a.get(), "share_list", "{not json", &result, &error), TANDEM_E_INVALID_PARAMS);
  EXPECT_EQ(result, nullptr);
  EXPECT_STREQ(error, "the parameters are not valid JSON");
  tandem_free(error);
  EXPECT_EQ(tandem_call(a.get(), nullptr, "{}", &result, nullptr), TANDEM_E_INVALID_PARAMS);
  EXPECT_EQ(tandem_call(nullptr, "share_list", "{}", &result, nullptr), TANDEM_E_INVALID_ARGUMENT);

  EXPECT_EQ(a.Ok("share_list").size(), 0u);
  EXPECT_FALSE(std::filesystem::exists(tmp / "docs" / ".tandem"));
  EXPECT_FALSE(std::filesystem::exists(tmp / "b"));
}

TEST(CAbi, AnAsyncCallEndsOnceAndABlockingCallFromItsCallbackIsRefused) {
  TempDir tmp;
  Embedded a(tmp / "config");
  ASSERT_TRUE(a.open()) << a.error();
  struct Seen {
    tandem_service* service;
    std::atomic<int> calls{0};
    std::atomic<int32_t> status{-1};
    std::atomic<int32_t> nested{-1};
    std::string json;
  } seen{a.get()};
  auto done = [](void* context, int32_t status, const char* text, size_t length) {
    auto* s = static_cast<Seen*>(context);
    s->json.assign(text, length);
    s->nested = tandem_call(s->service, "share_list", nullptr, nullptr, nullptr);
    s->status = status;
    ++s->calls;
  };
  ASSERT_EQ(tandem_call_async(a.get(), "device_info", nullptr, done, &seen), TANDEM_OK);
  ASSERT_TRUE(WaitUntil([&] { return seen.calls == 1; }));
  EXPECT_EQ(seen.status, TANDEM_OK);
  EXPECT_EQ(seen.nested, TANDEM_E_WRONG_THREAD);
  EXPECT_TRUE(json::parse(seen.json).contains("device_id"));
  EXPECT_EQ(tandem_call_async(a.get(), "device_info", "{bad", done, &seen), TANDEM_E_INVALID_PARAMS);
  EXPECT_EQ(seen.calls, 1);
}

TEST(CAbi, ACompletionCallbackMayStartAnotherCall) {
  TempDir tmp;
  Embedded a(tmp / "config");
  ASSERT_TRUE(a.open()) << a.error();
  struct Chain {
    tandem_service* service;
    std::atomic<int> ended{0};
    std::atomic<int32_t> second{-1};
  } chain{a.get()};
  auto first = [](void* context, int32_t, const char*, size_t) {
    auto* c = static_cast<Chain*>(context);
    // share_list never suspends: started inline, it would finish inside this callback.
    c->second = tandem_call_async(c->service, "share_list", nullptr, +[](void* ctx, int32_t status, const char*, size_t) {
      auto* c = static_cast<Chain*>(ctx);
      c->second = status;
      ++c->ended;
    }, c);
    ++c->ended;
  };
  ASSERT_EQ(tandem_call_async(a.get(), "device_info", nullptr, first, &chain), TANDEM_OK);
  ASSERT_TRUE(WaitUntil([&] { return chain.ended == 2; }));
  EXPECT_EQ(chain.second, TANDEM_OK);
}

TEST(CAbi, ALogCallbackMayCallAnotherService) {
  TempDir tmp;
  Embedded b(tmp / "config-b", {{"log_level", "off"}});
  ASSERT_TRUE(b.open()) << b.error();
  struct Seen {
    tandem_service* other;
    std::atomic<int> calls{0};
    std::atomic<int> failed{0};
  } seen{b.get()};
  auto log = [](void* context, int32_t, const char*, size_t) {
    auto* s = static_cast<Seen*>(context);
    char* result = nullptr;
    if (tandem_call(s->other, "device_info", nullptr, &result, nullptr) != TANDEM_OK) ++s->failed;
    tandem_free(result);
    ++s->calls;
  };
  tandem_service* a = nullptr;
  ASSERT_EQ(tandem_service_open((tmp / "config-a").c_str(), R"({"log_level": "info", "listen": "tcp/127.0.0.1:0"})",
                                log, &seen, &a, nullptr),
            TANDEM_OK);
  std::filesystem::create_directories(tmp / "docs");
  char* share = nullptr;
  ASSERT_EQ(tandem_call(a, "share_add", (R"({"path": ")" + (tmp / "docs").string() + R"("})").c_str(), &share,
                        nullptr),
            TANDEM_OK);
  tandem_free(share);
  ASSERT_EQ(tandem_service_close(a), TANDEM_OK);
  EXPECT_GT(seen.calls, 0);
  EXPECT_EQ(seen.failed, 0);
}

TEST(CAbi, ClosingEndsAPollStillWaiting) {
  TempDir tmp;
  tandem_service* service = nullptr;
  ASSERT_EQ(tandem_service_open((tmp / "config").c_str(), R"({"log_level": "off"})", nullptr, nullptr, &service,
                                nullptr),
            TANDEM_OK);
  char* device = nullptr;
  ASSERT_EQ(tandem_call(service, "device_info", nullptr, &device, nullptr), TANDEM_OK);
  const uint64_t now = json::parse(device)["last_event_id"];
  tandem_free(device);
  std::atomic<int32_t> status{-1};
  std::atomic<bool> polling{false};
  std::thread reader([&] {
    polling = true;
    char* error = nullptr;
    status = tandem_events_poll(service, now, 3'600'000, nullptr, nullptr, &error);
    tandem_free(error);
  });
  ASSERT_TRUE(WaitUntil([&] { return polling.load(); }));
  EXPECT_EQ(tandem_service_close(service), TANDEM_OK);
  reader.join();
  EXPECT_EQ(status, TANDEM_E_CLOSED);
}

TEST(CAbi, LogLinesReachTheServicesOwnCallback) {
  TempDir tmp;
  struct Lines {
    std::mutex mutex;
    std::vector<std::string> seen;
  } lines;
  auto log = [](void* context, int32_t, const char* line, size_t length) {
    auto* l = static_cast<Lines*>(context);
    std::lock_guard lock(l->mutex);
    l->seen.emplace_back(line, length);
  };
  tandem_service* service = nullptr;
  ASSERT_EQ(tandem_service_open((tmp / "config").c_str(), R"({"log_level": "info", "listen": "tcp/127.0.0.1:0"})", log,
                                &lines, &service, nullptr),
            TANDEM_OK);
  ASSERT_EQ(tandem_service_close(service), TANDEM_OK);
  std::lock_guard lock(lines.mutex);
  bool told_device = std::any_of(lines.seen.begin(), lines.seen.end(),
                                 [](const std::string& l) { return l.find("device ") != std::string::npos; });
  EXPECT_TRUE(told_device) << ::testing::PrintToString(lines.seen);
}

}  // namespace
