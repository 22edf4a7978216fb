#include "service/web_access.h"

#include <algorithm>

#include "crypto/password.h"

namespace tandem::service {

WebAccess::WebAccess(std::string api_key, std::string password_hash)
    : api_key_(std::move(api_key)), password_hash_(std::move(password_hash)) {}

void WebAccess::SetAddress(std::string host_port, bool loopback) {
  std::lock_guard lock(mutex_);
  address_ = std::move(host_port);
  loopback_ = loopback;
}

void WebAccess::SetOffBecause(std::string why) {
  std::lock_guard lock(mutex_);
  off_because_ = std::move(why);
}

std::string WebAccess::off_because() const {
  std::lock_guard lock(mutex_);
  return off_because_;
}

bool WebAccess::beyond_loopback() const {
  std::lock_guard lock(mutex_);
  return !address_.empty() && !loopback_;
}

std::string WebAccess::address() const {
  std::lock_guard lock(mutex_);
  return address_;
}

std::string WebAccess::MintLoginToken() {
  std::string token = crypto::RandomToken();
  std::lock_guard lock(mutex_);
  const auto now = Clock::now();
  std::erase_if(login_links_, [&](const auto& link) { return now - link.second > kLoginLinkLifetime; });
  while (login_links_.size() >= kMaxLoginLinks) {
    login_links_.erase(std::min_element(login_links_.begin(), login_links_.end(),
                                        [](const auto& a, const auto& b) { return a.second < b.second; }));
  }
  login_links_.emplace(token, now);
  return token;
}

WebAccess::Session WebAccess::NewSessionLocked() {
  const auto now = Clock::now();
  std::erase_if(sessions_, [&](const auto& s) { return now - s.second.last_used > kSessionIdleLifetime; });
  while (sessions_.size() >= kMaxSessions) {
    sessions_.erase(std::min_element(sessions_.begin(), sessions_.end(), [](const auto& a, const auto& b) {
      return a.second.order < b.second.order;
    }));
  }
  Session session{crypto::RandomToken(), crypto::RandomToken()};
  sessions_.emplace(session.id, Live{session.csrf, now, next_order_++});
  return session;
}

std::optional<WebAccess::Session> WebAccess::LogIn(std::string_view token) {
  std::lock_guard lock(mutex_);
  // Looked up by value: the map's order is not a timing channel worth more
  // than the 256 bits a guess must match.
  auto it = login_links_.find(token);
  if (it == login_links_.end()) return std::nullopt;
  const bool live = Clock::now() - it->second <= kLoginLinkLifetime;
  login_links_.erase(it);
  if (!live) return std::nullopt;
  return NewSessionLocked();
}

WebAccess::PasswordLogIn WebAccess::LogInWithPassword(std::string_view password, const std::string& remote) {
  std::lock_guard checking(password_check_);
  std::string hash;
  {
    std::lock_guard lock(mutex_);
    const auto now = Clock::now();
    std::erase_if(wrong_password_from_, [&](const auto& w) { return now - w.second >= std::chrono::seconds(1); });
    if (wrong_password_from_.contains(remote)) return {.wait = true};
    hash = password_hash_;
  }
  const bool right = !hash.empty() && crypto::CheckPassword(password, hash);
  std::lock_guard lock(mutex_);
  if (!right) {
    if (!hash.empty()) wrong_password_from_[remote] = Clock::now();
    return {};
  }
  if (password_hash_ != hash) return {};  // changed meanwhile
  return {.session = NewSessionLocked()};
}

std::optional<std::string> WebAccess::CsrfOf(std::string_view session_id) {
  std::lock_guard lock(mutex_);
  auto it = sessions_.find(session_id);
  if (it == sessions_.end()) return std::nullopt;
  const auto now = Clock::now();
  if (now - it->second.last_used > kSessionIdleLifetime) {
    sessions_.erase(it);
    return std::nullopt;
  }
  it->second.last_used = now;
  return it->second.csrf;
}

void WebAccess::LogOut(std::string_view session_id) {
  std::lock_guard lock(mutex_);
  if (auto it = sessions_.find(session_id); it != sessions_.end()) sessions_.erase(it);
}

bool WebAccess::IsApiKey(std::string_view key) const {
  return !key.empty() && crypto::SameSecret(key, api_key_);
}

std::string WebAccess::api_key() const { return api_key_; }

bool WebAccess::has_password() const {
  std::lock_guard lock(mutex_);
  return !password_hash_.empty();
}

void WebAccess::SetPasswordHash(std::string hash) {
  std::lock_guard lock(mutex_);
  password_hash_ = std::move(hash);
  sessions_.clear();
}

}  // namespace tandem::service
