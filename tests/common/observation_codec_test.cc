// common/observation_codec: the compact encoding of observations.
#include "common/observation_codec.h"

#include <string>
#include <vector>

#include "gtest/gtest.h"
#include "tests/common/test_observations.h"

namespace hoplat {
namespace {

TEST(ObservationCodecTest, RoundTripsExactly) {
  for (size_t n : {1u, 2u, 100u, 4096u}) {
    const std::vector<Observation> in = RandomObservations(n, n);
    std::vector<Observation> out;
    ASSERT_TRUE(DecodeObservations(EncodeObservations(in), &out).ok());
    ASSERT_EQ(out, in);
  }
}

TEST(ObservationCodecTest, IsCompact) {
  const std::vector<Observation> in = RandomObservations(4096, 1);
  const double per = static_cast<double>(EncodeObservations(in).size()) / in.size();
  EXPECT_LT(per, 24.0) << "bytes per observation";
}

TEST(ObservationCodecTest, EveryTruncationIsDataLossAndLeavesOutputAlone) {
  const std::string bytes = EncodeObservations(RandomObservations(50, 3));
  for (size_t len = 0; len < bytes.size(); ++len) {
    std::vector<Observation> out(1);
    const absl::Status s = DecodeObservations(bytes.substr(0, len), &out);
    ASSERT_EQ(s.code(), absl::StatusCode::kDataLoss) << "len " << len;
    ASSERT_EQ(out.size(), 1u);
  }
  std::vector<Observation> out;
  EXPECT_EQ(DecodeObservations(bytes + "x", &out).code(), absl::StatusCode::kDataLoss);
  EXPECT_EQ(DecodeObservations("\x02\x01", &out).code(), absl::StatusCode::kDataLoss);
}

}  // namespace
}  // namespace hoplat
