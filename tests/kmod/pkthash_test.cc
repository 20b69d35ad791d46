// The module's hash (kmod/pkthash.c) in userspace: the fields that must not
// matter do not, the ones that must do, and odd packets are handled.
#include <algorithm>
#include <cstring>
#include <random>
#include <vector>

#include "gtest/gtest.h"
#include "include/uapi/linux/hoplat.h"
#include "pkthash.h"

namespace {

struct Bytes {
  const std::vector<uint8_t>* v;
};

const void* ReadBytes(const void* ctx, u32 off, u32 len, void* /*buf*/) {
  const auto* b = static_cast<const Bytes*>(ctx);
  if (static_cast<size_t>(off) + len > b->v->size()) return nullptr;
  return b->v->data() + off;
}

struct Result {
  int rc;
  hoplat_pkt_info info;
};

Result Hash(const std::vector<uint8_t>& pkt, bool ipv6,
            const hoplat_hash_key& key = hoplat_default_key, u32 gso_size = 0) {
  Bytes b{&pkt};
  Result r{};
  r.rc = hoplat_hash_packet(&key, ipv6, ReadBytes, &b, static_cast<u32>(pkt.size()), gso_size,
                            &r.info);
  return r;
}

// 192.0.2.2:40000 -> 203.0.113.2:9999, UDP, 12 bytes of payload.
std::vector<uint8_t> Udp4() {
  std::vector<uint8_t> p = {
      0x45, 0x00, 0x00, 0x28, 0x12, 0x34, 0x40, 0x00, 0x40, 0x11, 0xab, 0xcd,  // IPv4
      192,  0,    2,    2,    203,  0,    113,  2,                            // addrs
      0x9c, 0x40, 0x27, 0x0f, 0x00, 0x14, 0x55, 0x66,                          // UDP
      'p',  'a',  'y',  'l',  'o',  'a',  'd',  '-',  '0',  '0',  '0',  '1'};
  return p;
}

// 2001:db8:1::2 -> 2001:db8:3::2, TCP, flow label 0x12345.
std::vector<uint8_t> Tcp6() {
  std::vector<uint8_t> p(40 + 20 + 8, 0);
  p[0] = 0x60;
  p[1] = 0x01;  // traffic class 0, flow label 0x12345
  p[2] = 0x23;
  p[3] = 0x45;
  p[5] = 28;  // payload length
  p[6] = 6;   // TCP
  p[7] = 64;  // hop limit
  const uint8_t src[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  const uint8_t dst[16] = {0x20, 0x01, 0x0d, 0xb8, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2};
  std::memcpy(&p[8], src, 16);
  std::memcpy(&p[24], dst, 16);
  uint8_t* t = &p[40];
  t[0] = 0xc3;  // sport 50000
  t[1] = 0x50;
  t[2] = 0x00;  // dport 80
  t[3] = 80;
  t[4] = 1;  // seq
  t[8] = 2;  // ack
  t[12] = 5 << 4;
  t[13] = 0x18;  // PSH ACK
  std::memcpy(&p[60], "GET / HT", 8);
  return p;
}

TEST(SipHashTest, MatchesCPythonsSipHash13) {
  // CPython hashes bytes with SipHash-1-3; with PYTHONHASHSEED=0 its key is
  // all zeros: PYTHONHASHSEED=0 python3 -c 'print(hex(hash(b"abc") % 2**64))'
  const hoplat_hash_key zero{};
  const uint8_t abc[] = {'a', 'b', 'c'};
  EXPECT_EQ(hoplat_siphash(&zero, abc, 3), 0xc03bc3a0042630f2ULL);
  uint8_t seq[64];
  for (int i = 0; i < 64; ++i) seq[i] = static_cast<uint8_t>(i);
  EXPECT_EQ(hoplat_siphash(&zero, seq, 15), 0xf30eb725bb91c9eaULL);
  EXPECT_EQ(hoplat_siphash(&zero, seq, 64), 0x75e05fd5bbc870c6ULL);
}

TEST(SipHashTest, WordsAreTheirLittleEndianBytes) {
  hoplat_hash_key key;
  for (int i = 0; i < 16; ++i) key.bytes[i] = static_cast<uint8_t>(3 * i + 1);
  const u64 w[3] = {0x0123456789abcdefULL, 0xfedcba9876543210ULL, 42};
  uint8_t bytes[24];
  for (int i = 0; i < 24; ++i) bytes[i] = static_cast<uint8_t>(w[i / 8] >> (8 * (i % 8)));
  for (int n = 0; n <= 3; ++n) {
    EXPECT_EQ(hoplat_siphash_words(&key, w, n), hoplat_siphash(&key, bytes, 8 * n)) << n;
  }
}

TEST(PktHashTest, HashIsSipHashOfTheCanonicalWords) {
  for (bool v6 : {false, true}) {
    const std::vector<uint8_t> pkt = v6 ? Tcp6() : Udp4();
    Bytes b{&pkt};
    uint8_t canon[HOPLAT_CANON_MAX];
    hoplat_pkt_info info;
    const int len = hoplat_canonical(v6, ReadBytes, &b, static_cast<u32>(pkt.size()), 0, canon,
                                     &info);
    ASSERT_GT(len, 0);
    EXPECT_EQ(Hash(pkt, v6).info.hash, hoplat_siphash(&hoplat_default_key, canon, len));
    EXPECT_EQ(canon[0], v6 ? 6 : 4);  // the family tag replaces version and TOS bits
  }
}

TEST(PktHashTest, TtlChecksumAndDscpDoNotChangeTheHash) {
  const auto base = Hash(Udp4(), false);
  ASSERT_EQ(base.rc, 0);
  EXPECT_EQ(base.info.length, 40u);
  EXPECT_EQ(base.info.flags, 0u);
  auto p = Udp4();
  p[8] = 63;     // TTL after one hop
  p[10] = 0x11;  // checksum
  p[11] = 0x22;
  p[1] = 0xb8;   // DSCP EF
  p[26] = 0x99;  // UDP checksum
  EXPECT_EQ(Hash(p, false).info.hash, base.info.hash);
}

TEST(PktHashTest, InvariantFieldsChangeTheHash) {
  const uint64_t base = Hash(Udp4(), false).info.hash;
  for (size_t at : {4u, 5u, 12u, 19u, 20u, 23u, 28u, 35u}) {  // id, addrs, ports, payload
    auto p = Udp4();
    p[at] ^= 1;
    EXPECT_NE(Hash(p, false).info.hash, base) << "byte " << at;
  }
  // Only the first HOPLAT_PAYLOAD_PREFIX (8) payload bytes are hashed.
  auto p = Udp4();
  p[28 + HOPLAT_PAYLOAD_PREFIX] ^= 1;
  EXPECT_EQ(Hash(p, false).info.hash, base);
}

TEST(PktHashTest, Ipv6HopLimitAndTrafficClassDoNotMatterFlowLabelDoes) {
  const auto base = Hash(Tcp6(), true);
  ASSERT_EQ(base.rc, 0);
  EXPECT_EQ(base.info.flags, static_cast<u32>(HOPLAT_F_IPV6));
  EXPECT_EQ(base.info.length, 68u);
  auto p = Tcp6();
  p[7] = 63;                         // hop limit
  p[0] = 0x6b;                       // traffic class high nibble
  p[1] = static_cast<uint8_t>(0x80 | (p[1] & 0x0f));
  p[56] = 0xff;                      // TCP checksum
  p[53] = 0x10;                      // TCP flags
  EXPECT_EQ(Hash(p, true).info.hash, base.info.hash);
  p = Tcp6();
  p[3] ^= 1;  // flow label
  EXPECT_NE(Hash(p, true).info.hash, base.info.hash);
  p = Tcp6();
  p[47] ^= 1;  // sequence number
  EXPECT_NE(Hash(p, true).info.hash, base.info.hash);
}

TEST(PktHashTest, TheKeyChangesEveryHash) {
  hoplat_hash_key other = hoplat_default_key;
  other.bytes[0] ^= 1;
  EXPECT_NE(Hash(Udp4(), false, other).info.hash, Hash(Udp4(), false).info.hash);
}

TEST(PktHashTest, TruncatedAndOddPacketsNeverReadOutOfBounds) {
  auto p = Udp4();
  for (size_t len = 0; len < p.size(); ++len) {
    std::vector<uint8_t> cut(p.begin(), p.begin() + len);
    const Result r = Hash(cut, false);
    if (len < 20) {
      EXPECT_EQ(r.rc, -1) << len;
    } else {
      EXPECT_EQ(r.rc, 0) << len;
      if (len < 28) {
        EXPECT_TRUE(r.info.flags & HOPLAT_F_NO_L4) << len;
      }
    }
  }
  auto bad = Udp4();
  bad[0] = 0x65;  // version 6 in an IPv4 hook
  EXPECT_EQ(Hash(bad, false).rc, -1);
  bad = Udp4();
  bad[0] = 0x43;  // IHL 3
  EXPECT_EQ(Hash(bad, false).rc, -1);
  bad = Tcp6();
  bad[52] = 0x20;  // TCP data offset 2 (< 5)
  EXPECT_TRUE(Hash(bad, true).info.flags & HOPLAT_F_NO_L4);
  // A total length far beyond the bytes present: reads stay in bounds.
  bad = Udp4();
  bad[2] = 0xff;
  bad[3] = 0xff;
  EXPECT_EQ(Hash(bad, false).rc, 0);
}

TEST(PktHashTest, NonFirstFragmentHasNoL4) {
  auto p = Udp4();
  p[6] = 0x00;
  p[7] = 0x10;  // offset 128 bytes
  const Result r = Hash(p, false);
  ASSERT_EQ(r.rc, 0);
  EXPECT_TRUE(r.info.flags & HOPLAT_F_FRAGMENT);
  EXPECT_TRUE(r.info.flags & HOPLAT_F_NO_L4);
  p = Udp4();
  p[6] = 0x20;  // more fragments, offset 0: the first fragment keeps its ports
  const Result first = Hash(p, false);
  EXPECT_TRUE(first.info.flags & HOPLAT_F_FRAGMENT);
  EXPECT_FALSE(first.info.flags & HOPLAT_F_NO_L4);
}

TEST(PktHashTest, GroAggregateHashesLikeItsFirstSegment) {
  // The first 1448-byte segment of a TCP flow, as the next router receives it...
  auto segment = Tcp6();
  const u32 payload = 1448;
  segment.resize(40 + 20 + payload, 0x77);
  std::memcpy(&segment[60], "GET / HT", 8);
  segment[4] = static_cast<uint8_t>((20 + payload) >> 8);
  segment[5] = static_cast<uint8_t>(20 + payload);
  // ...and this router's GRO aggregate of three of them: same headers and
  // first payload bytes, three times the length.
  auto aggregate = segment;
  aggregate.resize(40 + 20 + 3 * payload, 0x77);
  aggregate[4] = static_cast<uint8_t>((20 + 3 * payload) >> 8);
  aggregate[5] = static_cast<uint8_t>(20 + 3 * payload);
  EXPECT_NE(Hash(aggregate, true).info.hash, Hash(segment, true).info.hash);
  EXPECT_EQ(Hash(aggregate, true, hoplat_default_key, payload).info.hash,
            Hash(segment, true).info.hash);
  EXPECT_EQ(Hash(aggregate, true, hoplat_default_key, payload).info.length, 60 + 3 * payload)
      << "the record keeps the aggregate's real length";

  // IPv4 the same way (Udp4's header with TCP).
  std::vector<uint8_t> seg4(20 + 20 + payload, 0x77);
  std::fill(seg4.begin(), seg4.begin() + 40, 0);  // zero headers, 0x77 payload
  seg4[0] = 0x45;
  seg4[2] = static_cast<uint8_t>((40 + payload) >> 8);
  seg4[3] = static_cast<uint8_t>(40 + payload);
  seg4[9] = 6;
  seg4[32] = 5 << 4;
  auto agg4 = seg4;
  agg4.resize(40 + 2 * payload, 0x77);
  agg4[2] = static_cast<uint8_t>((40 + 2 * payload) >> 8);
  agg4[3] = static_cast<uint8_t>(40 + 2 * payload);
  EXPECT_EQ(Hash(agg4, false, hoplat_default_key, payload).info.hash, Hash(seg4, false).info.hash);
}

TEST(SamplingTest, KeepsTheSameShareOnEveryRouter) {
  std::mt19937_64 rng(3);
  int kept = 0;
  for (int i = 0; i < 100000; ++i) {
    const uint64_t h = rng();
    const bool k = hoplat_sampled(h, 4);
    EXPECT_EQ(k, hoplat_sampled(h, 4));  // a function of the hash alone
    kept += k;
  }
  EXPECT_NEAR(kept / 100000.0, 0.25, 0.01);
  EXPECT_TRUE(hoplat_sampled(UINT64_MAX, 1));
  EXPECT_TRUE(hoplat_sampled(0, 1000));
  EXPECT_FALSE(hoplat_sampled(UINT64_MAX, 2));
}

}  // namespace
