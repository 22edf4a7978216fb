#include "base/uuid.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace tandem {
namespace {

TEST(Uuid, NewUuidsAreVersionFourAndDistinct) {
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    std::string id = NewUuid();
    ASSERT_TRUE(IsUuid(id)) << id;
    EXPECT_EQ(id[14], '4') << id;                                     // version
    EXPECT_NE(std::string("89ab").find(id[19]), std::string::npos) << id;  // RFC 4122 variant
    EXPECT_TRUE(seen.insert(id).second) << id;
  }
}

TEST(Uuid, IsUuidRejectsOtherShapes) {
  EXPECT_TRUE(IsUuid("123e4567-e89b-42d3-a456-426614174000"));
  EXPECT_TRUE(IsUuid("123E4567-E89B-42D3-A456-426614174000"));
  for (const char* bad : {"", "123e4567e89b42d3a456426614174000",
                          "123e4567-e89b-42d3-a456-42661417400",
                          "123e4567-e89b-42d3-a456-4266141740000",
                          "123e4567-e89b-42d3-a456_426614174000",
                          "123e4567-e89b-42d3-a456-42661417400g",
                          "{123e4567-e89b-42d3-a456-42661417400}"}) {
    EXPECT_FALSE(IsUuid(bad)) << bad;
  }
}

}  // namespace
}  // namespace tandem
