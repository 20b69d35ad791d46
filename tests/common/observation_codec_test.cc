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
  const double core = static_cast<double>(EncodeCoreFields(in).size()) / in.size();
  const double per = static_cast<double>(EncodeObservations(in).size()) / in.size();
  // The core fields (here with random 32-bit flags, 5 bytes of them) ...
  EXPECT_LT(core, 24.0) << "bytes per observation";
  // ... and residence (mostly equal to exit - arrival), TTL and GSO
  // segments in about 3 more, the queue time (here on half of them, the
  // flags being random) in about 2 more.
  EXPECT_LT(per - core, 6.5) << "bytes per observation for the version 2 and 3 fields";
}

TEST(ObservationCodecTest, AVersionOneBlockReadsWithTheNewFieldsUnknown) {
  // Stored by an older collector: no monotonic residence, TTL or segments.
  const std::vector<Observation> in = RandomObservations(100, 9);
  const std::string v1 = EncodeCoreFields(in);
  ASSERT_EQ(v1[0], 1);
  std::vector<Observation> out;
  ASSERT_TRUE(DecodeObservations(v1, &out).ok());
  ASSERT_EQ(out.size(), in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    EXPECT_EQ(out[i].hash, in[i].hash);
    EXPECT_EQ(out[i].arrival_ns, in[i].arrival_ns);
    EXPECT_EQ(out[i].exit_ns, in[i].exit_ns);
    EXPECT_EQ(out[i].residence_ns, 0u);
    EXPECT_EQ(out[i].ttl, 0u);
    EXPECT_EQ(out[i].gso_segs, 1u);
    EXPECT_FALSE(out[i].has_queue()) << "no queue time in a version 1 block, whatever its flags";
    EXPECT_EQ(out[i].flags, in[i].flags & ~Observation::kFlagHandoff);
    EXPECT_EQ(out[i].Residence(), static_cast<int64_t>(in[i].exit_ns - in[i].arrival_ns));
  }
  // The core layout does not see the new fields: a digest over it is the
  // same whether or not an agent sent them.
  std::vector<Observation> bare = in;
  for (Observation& o : bare) o.residence_ns = 0, o.ttl = 0, o.gso_segs = 1, o.queue_ns = 0;
  EXPECT_EQ(EncodeCoreFields(bare), v1);
  EXPECT_NE(EncodeObservations(bare), EncodeObservations(in));
  // Cut from the current block, without encoding again: the same bytes.
  size_t core_size = 0;
  const std::string v2 = EncodeObservations(in, &core_size);
  EXPECT_EQ(CoreFieldsOf(v2, core_size), v1);
}

TEST(ObservationCodecTest, MonotonicResidenceSurvivesAWallClockStep) {
  Observation o;
  o.arrival_ns = 1'790'000'000'000'000'000ULL;
  o.exit_ns = o.arrival_ns - 3'000'000'000ULL;  // the wall clock stepped back 3 s
  o.residence_ns = 12'345;
  std::vector<Observation> out;
  ASSERT_TRUE(DecodeObservations(EncodeObservations({o}), &out).ok());
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(out[0].Residence(), 12'345);
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
