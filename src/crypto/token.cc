#include "crypto/token.h"

#include <cctype>
#include <cstring>

#include "base/rel_path.h"

namespace tandem::crypto {
namespace {

constexpr size_t kChecksumSize = 4;
constexpr std::string_view kNameParam = "?name=";

Bytes Checksum(ByteView body) {
  Bytes input(AsBytes("tandem-token").begin(), AsBytes("tandem-token").end());
  input.insert(input.end(), body.begin(), body.end());
  Key32 digest = Sha256(input);
  return Bytes(digest.begin(), digest.begin() + kChecksumSize);
}

size_t MaterialSize(AccessMode mode) { return mode == AccessMode::kRead ? 64 : 32; }

Bytes Body(const ShareSecrets& secrets, AccessMode mode, uint8_t version) {
  Bytes body{version, static_cast<uint8_t>(mode)};
  auto append = [&](const Key32& key) { body.insert(body.end(), key.begin(), key.end()); };
  switch (mode) {
    case AccessMode::kWrite: append(secrets.write_seed()); break;
    case AccessMode::kRead: append(secrets.share_id()); append(secrets.read_key()); break;
    case AccessMode::kBlind: append(secrets.share_id()); break;
  }
  return body;
}

std::string PercentEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

Result<std::string> PercentDecode(std::string_view text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) {
      return MakeError(ErrorCode::kInvalidArgument, "share token's name is badly encoded");
    }
    TANDEM_ASSIGN_OR_RETURN(Bytes byte, HexDecode(text.substr(i + 1, 2)));
    out.push_back(static_cast<char>(byte[0]));
    i += 2;
  }
  return out;
}

Error TokenError(std::string what) {
  return MakeError(ErrorCode::kInvalidArgument, "invalid share token: " + std::move(what));
}

}  // namespace

std::string EncodeTokenWithVersion(const ShareSecrets& secrets, AccessMode mode, uint8_t version) {
  Bytes body = Body(secrets, mode, version);
  Bytes checksum = Checksum(body);
  body.insert(body.end(), checksum.begin(), checksum.end());
  return std::string(kTokenPrefix) + Base64UrlEncode(body);
}

std::string EncodeToken(const ShareSecrets& secrets, AccessMode mode,
                        std::string_view suggested_name) {
  std::string token = EncodeTokenWithVersion(secrets, mode, kTokenVersion);
  if (!suggested_name.empty()) token += std::string(kNameParam) + PercentEncode(suggested_name);
  return token;
}

Result<ParsedToken> ParseToken(std::string_view token) {
  // Surrounding whitespace comes with copy and paste; it is not a typo.
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.front()))) token.remove_prefix(1);
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.remove_suffix(1);
  if (token.substr(0, kTokenPrefix.size()) != kTokenPrefix) {
    return TokenError("a token starts with 'tandem:'; ask for the token again");
  }
  token.remove_prefix(kTokenPrefix.size());
  ParsedToken parsed{ShareSecrets::FromShareId(Key32{}), {}};
  if (size_t q = token.find('?'); q != std::string_view::npos) {
    std::string_view query = token.substr(q);
    token = token.substr(0, q);
    if (query.substr(0, kNameParam.size()) != kNameParam) {
      return TokenError("unknown parameter after '?'; only ?name= is understood");
    }
    TANDEM_ASSIGN_OR_RETURN(parsed.suggested_name, PercentDecode(query.substr(kNameParam.size())));
    if (!parsed.suggested_name.empty() && !ValidateComponent(parsed.suggested_name)) {
      return TokenError("the suggested name is not a valid directory name");
    }
  }
  for (char c : token) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_') {
      return TokenError("it contains characters a token never has; it may be mistyped");
    }
  }
  auto decoded = Base64UrlDecode(token);
  if (!decoded) {
    return TokenError("it has an impossible length; it may be truncated, copy it again in full");
  }
  Bytes& bytes = *decoded;
  if (bytes.size() < 2 + kChecksumSize) {
    return TokenError("it is too short; it may be truncated, copy it again in full");
  }
  ByteView body(bytes.data(), bytes.size() - kChecksumSize);
  ByteView checksum(bytes.data() + body.size(), kChecksumSize);
  if (!ConstantTimeEqual(Checksum(body), checksum)) {
    return TokenError("its checksum does not match; it is mistyped or truncated, copy it again");
  }
  if (body[0] != kTokenVersion) {
    return TokenError("it has format version " + std::to_string(body[0]) +
                      ", this Tandem understands version " + std::to_string(kTokenVersion) +
                      "; update Tandem");
  }
  if (body[1] > static_cast<uint8_t>(AccessMode::kWrite)) {
    return TokenError("it grants an unknown access mode");
  }
  auto mode = static_cast<AccessMode>(body[1]);
  ByteView material = body.subspan(2);
  if (material.size() != MaterialSize(mode)) {
    return TokenError("it has the wrong length for a " + std::string(AccessModeName(mode)) +
                      " token");
  }
  Key32 first, second;
  std::memcpy(first.data(), material.data(), 32);
  switch (mode) {
    case AccessMode::kWrite: parsed.secrets = ShareSecrets::FromWriteSeed(first); break;
    case AccessMode::kRead:
      std::memcpy(second.data(), material.data() + 32, 32);
      parsed.secrets = ShareSecrets::FromReadKey(first, second);
      break;
    case AccessMode::kBlind: parsed.secrets = ShareSecrets::FromShareId(first); break;
  }
  return parsed;
}

}  // namespace tandem::crypto
