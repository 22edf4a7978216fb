// WebAccess: who may use the web UI (src/gui serves it, this decides). A
// person gets in through a one-time login link (`tandem gui`, the API's
// gui_login) or the UI's password, and is then known by a session cookie
// with its own CSRF token; a script presents the API key instead. Sessions
// and links live only in memory: a restarted daemon asks for a new link.
//
// Threads: any; one mutex guards the state. The web server's threads ask,
// the Service (loop) mints links and changes the password. Checking a
// password is slow on purpose and runs outside the lock.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace tandem::service {

class WebAccess {
 public:
  // A login link works once, and only this long.
  static constexpr std::chrono::minutes kLoginLinkLifetime{10};
  // At most this many sessions and unused links; the oldest goes first.
  static constexpr size_t kMaxSessions = 64;
  static constexpr size_t kMaxLoginLinks = 16;
  // A session not used for this long ends.
  static constexpr std::chrono::hours kSessionIdleLifetime{24 * 30};

  struct Session {
    std::string id;    // the cookie's value
    std::string csrf;  // to send back in X-CSRF-Token with every call
  };

  WebAccess(std::string api_key, std::string password_hash);

  // Where the UI listens ("127.0.0.1:20210"), once it does; empty: it is off.
  // `loopback`: reachable from this machine only.
  void SetAddress(std::string host_port, bool loopback);
  std::string address() const;
  bool beyond_loopback() const;
  // Why the UI is off although it was asked for (its default port in use);
  // empty when it is on or was not asked for.
  void SetOffBecause(std::string why);
  std::string off_because() const;

  // A new one-time token for a login link.
  std::string MintLoginToken();
  // The token's session, if it is a live link's; the link is used up.
  std::optional<Session> LogIn(std::string_view token);
  // A session for the right password (none when no password is set).
  // Passwords are checked one at a time (each check costs 64 MiB and tens
  // of milliseconds), and one from `remote` (the client's address) is not
  // checked within a second of a wrong one from there (`wait`): guesses
  // must not come fast, and one guesser must not keep the owner out.
  struct PasswordLogIn {
    std::optional<Session> session;
    bool wait = false;
  };
  PasswordLogIn LogInWithPassword(std::string_view password, const std::string& remote);
  // The session's CSRF token, if the session is live (it is used now).
  std::optional<std::string> CsrfOf(std::string_view session_id);
  void LogOut(std::string_view session_id);

  bool IsApiKey(std::string_view key) const;
  std::string api_key() const;
  bool has_password() const;
  // Empty: no password. Sessions made with the old one end.
  void SetPasswordHash(std::string hash);

 private:
  using Clock = std::chrono::steady_clock;
  Session NewSessionLocked();

  mutable std::mutex mutex_;
  std::string address_;
  bool loopback_ = true;
  std::string off_because_;
  std::mutex password_check_;  // held while one password is checked
  std::map<std::string, Clock::time_point> wrong_password_from_;  // remote -> when; a second kept
  const std::string api_key_;
  std::string password_hash_;
  std::map<std::string, Clock::time_point, std::less<>> login_links_;  // token -> made
  struct Live {
    std::string csrf;
    Clock::time_point last_used;
    uint64_t order;  // to end the oldest first
  };
  std::map<std::string, Live, std::less<>> sessions_;
  uint64_t next_order_ = 0;
};

}  // namespace tandem::service
