#include <random>

#include "common/batch_columns.h"
#include "common/hash_text.h"
#include "common/node_id.h"
#include "common/observation_codec.h"
#include "gtest/gtest.h"

namespace hoplat {
namespace {

std::vector<Observation> RandomObservations(size_t n, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<Observation> v(n);
  uint64_t t = 1'790'000'000'000'000'000ULL;
  for (Observation& o : v) {
    o.hash = rng();
    t += rng() % 20'000;
    // Per-CPU rings drain out of order: arrival sometimes goes backwards.
    o.arrival_ns = t - rng() % 5'000;
    o.exit_ns = o.arrival_ns + rng() % 100'000 - (rng() % 50 == 0 ? 200'000 : 0);
    o.ifindex_in = static_cast<uint32_t>(rng() % 8);
    o.ifindex_out = static_cast<uint32_t>(rng() % 8);
    o.length = static_cast<uint32_t>(rng() % 9000);
    o.flags = static_cast<uint32_t>(rng());
  }
  return v;
}

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

TEST(BatchColumnsTest, RoundTripAndUnequalColumns) {
  const std::vector<Observation> in = RandomObservations(10, 9);
  v1::ObservationBatch batch;
  for (const Observation& o : in) AppendToBatch(o, &batch);
  std::vector<Observation> out;
  ASSERT_TRUE(ObservationsFromBatch(batch, &out).ok());
  EXPECT_EQ(out, in);
  batch.add_length(1);
  const absl::Status s = ObservationsFromBatch(batch, &out);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("length 11"), std::string::npos) << s;
}

TEST(HashTextTest, FormatsAndParses) {
  EXPECT_EQ(HashToHex(0xabc), "0000000000000abc");
  EXPECT_EQ(*HashFromHex("0x0000000000000ABC"), 0xabcu);
  EXPECT_EQ(*HashFromHex("ffffffffffffffff"), UINT64_MAX);
  EXPECT_FALSE(HashFromHex("").ok());
  EXPECT_FALSE(HashFromHex("12345678901234567").ok());
  EXPECT_FALSE(HashFromHex("xyz").ok());
}

TEST(NodeIdTest, AcceptsNamesAndRejectsSeparators) {
  EXPECT_TRUE(ValidateNodeId("r1").ok());
  EXPECT_TRUE(ValidateNodeId("edge-01.fra_2").ok());
  EXPECT_FALSE(ValidateNodeId("").ok());
  EXPECT_FALSE(ValidateNodeId("a>b").ok());
  EXPECT_FALSE(ValidateNodeId("a b").ok());
  EXPECT_FALSE(ValidateNodeId(std::string(65, 'a')).ok());
}

}  // namespace
}  // namespace hoplat
