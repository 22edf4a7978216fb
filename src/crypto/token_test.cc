#include "crypto/token.h"

#include <gtest/gtest.h>

#include <string>
#include <string_view>

#include "base/bytes.h"

namespace tandem::crypto {
namespace {

constexpr std::string_view kBase64UrlAlphabet =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

// Fixed key material keeps the exhaustive corruption tests deterministic.
ShareSecrets WriteSecrets(uint8_t first = 1) {
  Key32 seed;
  for (size_t i = 0; i < seed.size(); ++i) seed[i] = static_cast<uint8_t>(first * 7 + i * 13);
  return ShareSecrets::FromWriteSeed(seed);
}

const AccessMode kModes[] = {AccessMode::kWrite, AccessMode::kRead, AccessMode::kBlind};

// The error must not echo the token or the keys it carries: no 8-character
// run of the token body and no key in hex or base64url. REQUIRES: write secrets.
void ExpectNoKeyMaterial(const Error& error, std::string_view token, const ShareSecrets& secrets) {
  const std::string& message = error.message;
  std::string_view body = token.substr(std::min(token.size(), kTokenPrefix.size()));
  if (size_t q = body.find('?'); q != std::string_view::npos) body = body.substr(0, q);
  for (size_t i = 0; i + 8 <= body.size(); ++i) {
    ASSERT_EQ(message.find(body.substr(i, 8)), std::string::npos)
        << "message echoes the token: " << message;
  }
  for (const Key32* key : {&secrets.write_seed(), &secrets.share_id(), &secrets.read_key()}) {
    EXPECT_EQ(message.find(HexEncode(*key)), std::string::npos) << message;
    EXPECT_EQ(message.find(Base64UrlEncode(*key)), std::string::npos) << message;
  }
}

void ExpectSameSecrets(const ShareSecrets& got, const ShareSecrets& want, AccessMode mode) {
  EXPECT_EQ(got.mode(), mode);
  EXPECT_EQ(got.share_id(), want.share_id());
  if (mode != AccessMode::kBlind) {
    EXPECT_EQ(got.read_key(), want.read_key());
  }
  if (mode == AccessMode::kWrite) {
    EXPECT_EQ(got.write_seed(), want.write_seed());
  }
}

TEST(Token, RoundTripsEveryModeAndName) {
  ShareSecrets secrets = WriteSecrets();
  const std::string names[] = {"", "Photos", "Fotos 2024 (ü)", "文件 & 🎉", "a%b?c=d", "100%"};
  for (AccessMode mode : kModes) {
    for (const std::string& name : names) {
      std::string token = EncodeToken(secrets, mode, name);
      EXPECT_TRUE(token.starts_with(kTokenPrefix)) << token;
      auto parsed = ParseToken(token);
      ASSERT_TRUE(parsed) << AccessModeName(mode) << " '" << name << "': " << parsed.error().message;
      ExpectSameSecrets(parsed->secrets, secrets, mode);
      EXPECT_EQ(parsed->suggested_name, name);
    }
  }
}

TEST(Token, RoundTripsGeneratedKeys) {
  ShareSecrets secrets = ShareSecrets::GenerateWrite();
  for (AccessMode mode : kModes) {
    auto parsed = ParseToken(EncodeToken(secrets, mode, "Docs"));
    ASSERT_TRUE(parsed);
    ExpectSameSecrets(parsed->secrets, secrets, mode);
  }
}

TEST(Token, NameIsPercentEncodedAsAsciiAfterTheBody) {
  std::string token = EncodeToken(WriteSecrets(), AccessMode::kRead, "ü x/y");
  size_t q = token.find('?');
  ASSERT_NE(q, std::string::npos);
  EXPECT_EQ(token.substr(q), "?name=%C3%BC%20x%2Fy");
  // "x/y" is not a directory name, so the parser refuses it.
  EXPECT_FALSE(ParseToken(token));
}

TEST(Token, SurroundingWhitespaceIsIgnored) {
  ShareSecrets secrets = WriteSecrets();
  std::string token = EncodeToken(secrets, AccessMode::kRead, "Docs");
  auto parsed = ParseToken("  \t" + token + "\n");
  ASSERT_TRUE(parsed);
  ExpectSameSecrets(parsed->secrets, secrets, AccessMode::kRead);
  EXPECT_EQ(parsed->suggested_name, "Docs");
}

TEST(Token, EverySingleCharacterSubstitutionIsRejected) {
  ShareSecrets secrets = WriteSecrets();
  for (AccessMode mode : kModes) {
    const std::string token = EncodeToken(secrets, mode);
    ASSERT_TRUE(ParseToken(token));
    int tried = 0;
    for (size_t i = kTokenPrefix.size(); i < token.size(); ++i) {
      for (char c : kBase64UrlAlphabet) {
        if (c == token[i]) continue;
        std::string bad = token;
        bad[i] = c;
        auto parsed = ParseToken(bad);
        ++tried;
        ASSERT_FALSE(parsed) << AccessModeName(mode) << ": position " << i << " -> '" << c
                             << "' was accepted";
        EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
        ExpectNoKeyMaterial(parsed.error(), bad, secrets);
      }
    }
    EXPECT_EQ(tried, static_cast<int>((token.size() - kTokenPrefix.size()) * 63));
  }
}

TEST(Token, EveryTruncationIsRejected) {
  ShareSecrets secrets = WriteSecrets();
  for (AccessMode mode : kModes) {
    const std::string token = EncodeToken(secrets, mode);
    for (size_t length = 0; length < token.size(); ++length) {
      std::string truncated = token.substr(0, length);
      auto parsed = ParseToken(truncated);
      ASSERT_FALSE(parsed) << AccessModeName(mode) << ": accepted the first " << length
                           << " characters";
      EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
      ExpectNoKeyMaterial(parsed.error(), truncated, secrets);
    }
  }
}

TEST(Token, ExtraCharactersAreRejected) {
  ShareSecrets secrets = WriteSecrets();
  const std::string token = EncodeToken(secrets, AccessMode::kWrite);
  for (const std::string& bad : {token + "A", token + "AA", token + "AAAA", token + "=",
                                 token + "==", token + ".", token + " x", token + "?",
                                 token + "?nome=x", token + "?name=%", token + "?name=%4",
                                 token + "?name=%zz", token + "?name=..", token + "?name=%00"}) {
    auto parsed = ParseToken(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    ExpectNoKeyMaterial(parsed.error(), bad, secrets);
  }
}

TEST(Token, WrongPrefixIsRejected) {
  ShareSecrets secrets = WriteSecrets();
  const std::string token = EncodeToken(secrets, AccessMode::kRead);
  const std::string body = token.substr(kTokenPrefix.size());
  for (const std::string& bad : {body, "Tandem:" + body, "TANDEM:" + body, "tandem;" + body,
                                 "tandem " + body, "tandem//" + body, "syncthing:" + body,
                                 "x" + token, ":" + body}) {
    auto parsed = ParseToken(bad);
    ASSERT_FALSE(parsed) << bad;
    EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
    EXPECT_NE(parsed.error().message.find("tandem:"), std::string::npos) << parsed.error().message;
    ExpectNoKeyMaterial(parsed.error(), "tandem:" + body, secrets);
  }
}

TEST(Token, OtherFormatVersionIsRejectedNamingTheVersion) {
  ShareSecrets secrets = WriteSecrets();
  for (uint8_t version : {0, 2, 255}) {
    for (AccessMode mode : kModes) {
      std::string token = EncodeTokenWithVersion(secrets, mode, version);
      auto parsed = ParseToken(token);
      ASSERT_FALSE(parsed) << int{version};
      EXPECT_EQ(parsed.error().code, ErrorCode::kInvalidArgument);
      EXPECT_NE(parsed.error().message.find("version " + std::to_string(version)),
                std::string::npos)
          << parsed.error().message;
      ExpectNoKeyMaterial(parsed.error(), token, secrets);
    }
  }
  // The same helper with the current version makes an ordinary token.
  EXPECT_EQ(EncodeTokenWithVersion(secrets, AccessMode::kRead, kTokenVersion),
            EncodeToken(secrets, AccessMode::kRead));
}

TEST(Token, DowngradedTokensNameTheSameShare) {
  ShareSecrets write = WriteSecrets();
  auto from_write = ParseToken(EncodeToken(write, AccessMode::kWrite));
  ASSERT_TRUE(from_write);
  for (AccessMode mode : {AccessMode::kRead, AccessMode::kBlind}) {
    // Downgrading the secrets or asking for a lesser token gives the same text.
    ShareSecrets lesser = from_write->secrets.Downgrade(mode);
    std::string token = EncodeToken(lesser, mode);
    EXPECT_EQ(token, EncodeToken(write, mode));
    auto parsed = ParseToken(token);
    ASSERT_TRUE(parsed);
    EXPECT_EQ(parsed->secrets.mode(), mode);
    EXPECT_EQ(parsed->secrets.share_id(), write.share_id());
  }
  auto read = ParseToken(EncodeToken(write, AccessMode::kRead));
  ASSERT_TRUE(read);
  auto blind = ParseToken(EncodeToken(read->secrets, AccessMode::kBlind));
  ASSERT_TRUE(blind);
  EXPECT_EQ(blind->secrets.share_id(), write.share_id());
}

TEST(Token, DifferentSharesGiveDifferentTokens) {
  EXPECT_NE(EncodeToken(WriteSecrets(1), AccessMode::kBlind),
            EncodeToken(WriteSecrets(2), AccessMode::kBlind));
  EXPECT_NE(EncodeToken(WriteSecrets(1), AccessMode::kRead),
            EncodeToken(WriteSecrets(1), AccessMode::kBlind));
}

}  // namespace
}  // namespace tandem::crypto
