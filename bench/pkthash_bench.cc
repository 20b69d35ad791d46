// The module's per-packet work in userspace, from the module's own sources
// (kmod/pkthash.c, kmod/ring_core.h): hash the invariant fields, test
// sampling, fill a record, push it into a ring. Prints ns per packet for a
// 64-byte and a 1500-byte packet, IPv4 and IPv6.
//   build/bench/pkthash_bench [--iterations N] [--only 64|1500] [--family 4|6]
// bench/pkthash_instructions.sh counts instructions per packet with callgrind.
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "pkthash.h"
#include "ring_core.h"

namespace {

struct Bytes {
  const uint8_t* p;
  size_t len;
};

const void* ReadBytes(const void* ctx, u32 off, u32 len, void* /*buf*/) {
  const auto* b = static_cast<const Bytes*>(ctx);
  if (static_cast<size_t>(off) + len > b->len) return nullptr;
  return b->p + off;
}

std::vector<uint8_t> Packet(size_t size, bool v6) {
  std::vector<uint8_t> p(size, 0x5a);
  if (!v6) {
    p[0] = 0x45;
    p[2] = static_cast<uint8_t>(size >> 8);
    p[3] = static_cast<uint8_t>(size);
    p[8] = 64;
    p[9] = size > 100 ? 6 : 1;  // TCP for big packets, ICMP for small
    if (p[9] == 6) p[32] = 5 << 4;
  } else {
    p[0] = 0x60;
    const size_t payload = size - 40;
    p[4] = static_cast<uint8_t>(payload >> 8);
    p[5] = static_cast<uint8_t>(payload);
    p[6] = size > 100 ? 6 : 58;
    p[7] = 64;
    if (p[6] == 6) p[52] = 5 << 4;
  }
  return p;
}

struct Ring {
  hoplat_ring r{};
  std::vector<hoplat_record> slots = std::vector<hoplat_record>(4096);
  Ring() { r.slots = slots.data(); }
};

// The hot path: what hook.c does for one sampled packet, minus the clocks
// and the per-CPU stash lookups.
__attribute__((noinline)) bool HashAndEnqueue(const Bytes* pkt, bool v6, Ring* ring,
                                               uint32_t seq) {
  hoplat_pkt_info info;
  if (hoplat_hash_packet(&hoplat_default_key, v6, ReadBytes, pkt, static_cast<u32>(pkt->len), 0,
                         &info)) {
    return false;
  }
  if (!hoplat_sampled(info.hash, 1)) return false;
  hoplat_record rec;  // every field set, as hook.c does: no memset
  rec.hash = info.hash;
  rec.arrival_ns = seq;
  rec.exit_ns = seq + 1000;
  rec.residence_ns = 1000;
  rec.ifindex_in = 2;
  rec.ifindex_out = 3;
  rec.length = info.length;
  rec.flags = info.flags | HOPLAT_F_FORWARDED;
  rec.gso_segs = 1;
  rec.version = HOPLAT_RECORD_VERSION;
  rec.ttl = 64;
  rec.cpu = 0;
  rec.queue_ns = 0;
  bool wake;
  return hoplat_ring_push(&ring->r, 4095, &rec, &wake);
}

}  // namespace

int main(int argc, char** argv) {
  long iterations = 5'000'000;
  int only = 0, family = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--iterations")) iterations = std::atol(argv[i + 1]);
    if (!std::strcmp(argv[i], "--only")) only = std::atoi(argv[i + 1]);
    if (!std::strcmp(argv[i], "--family")) family = std::atoi(argv[i + 1]);
  }
  for (bool v6 : {false, true}) {
    if (family && (family == 6) != v6) continue;
    for (size_t size : {64u, 1500u}) {
      if (only && static_cast<size_t>(only) != size) continue;
      std::vector<uint8_t> p = Packet(size, v6);
      Ring ring;
      long ok = 0;
      const auto start = std::chrono::steady_clock::now();
      for (long i = 0; i < iterations; ++i) {
        p[size - 1] = static_cast<uint8_t>(i);  // vary the packet a little
        p[v6 ? 45 : 25] = static_cast<uint8_t>(i >> 8);
        const Bytes b{p.data(), p.size()};
        ok += HashAndEnqueue(&b, v6, &ring, static_cast<uint32_t>(i));
        if ((i & 1023) == 1023) ring.r.tail = ring.r.head;  // the reader drains
      }
      const double ns = std::chrono::duration<double, std::nano>(
                            std::chrono::steady_clock::now() - start).count();
      std::printf("hash+enqueue IPv%d %4zu-byte packet: %.1f ns/packet (%ld of %ld enqueued)\n",
                  v6 ? 6 : 4, size, ns / iterations, ok, iterations);
    }
  }
  return 0;
}
