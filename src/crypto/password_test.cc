#include "crypto/password.h"

#include <gtest/gtest.h>

#include "crypto/keys.h"

namespace tandem::crypto {
namespace {

TEST(Password, AHashChecksTheSamePasswordAndNoOther) {
  Init();
  auto hash = HashPassword("correct horse");
  ASSERT_TRUE(hash) << hash.error().message;
  EXPECT_TRUE(hash->starts_with("$argon2id$"));
  EXPECT_EQ(hash->find("correct horse"), std::string::npos);
  EXPECT_TRUE(CheckPassword("correct horse", *hash));
  EXPECT_FALSE(CheckPassword("correct horsE", *hash));
  EXPECT_FALSE(CheckPassword("", *hash));
}

TEST(Password, TheSamePasswordHashesDifferentlyEachTime) {
  Init();
  auto a = HashPassword("same password");
  auto b = HashPassword("same password");
  ASSERT_TRUE(a && b);
  EXPECT_NE(*a, *b);  // salted
  EXPECT_TRUE(CheckPassword("same password", *b));
}

TEST(Password, AShortPasswordIsRefusedWithTheLengthToUse) {
  auto hash = HashPassword("1234567");
  ASSERT_FALSE(hash);
  EXPECT_EQ(hash.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(hash.error().message.find("at least 8"), std::string::npos);
}

TEST(Password, AMalformedOrMissingHashMatchesNothing) {
  EXPECT_FALSE(CheckPassword("anything at all", ""));
  EXPECT_FALSE(CheckPassword("anything at all", "$argon2id$garbage"));
  EXPECT_FALSE(CheckPassword("anything at all", std::string(500, 'x')));
}

TEST(Password, RandomTokensDifferAndSecretsCompareByValue) {
  Init();
  std::string a = RandomToken(), b = RandomToken();
  EXPECT_EQ(a.size(), 43u);  // 32 bytes, base64url without padding
  EXPECT_NE(a, b);
  EXPECT_TRUE(SameSecret(a, std::string(a)));
  EXPECT_FALSE(SameSecret(a, b));
  EXPECT_FALSE(SameSecret(a, a.substr(1)));
  EXPECT_TRUE(SameSecret("", ""));
}

}  // namespace
}  // namespace tandem::crypto
