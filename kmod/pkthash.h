/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The packet hash: which fields of a packet survive every hop, how they are
 * laid out, and the keyed hash over them. One C source (pkthash.c) is built
 * into the module and into the userspace tests so both agree bit for bit.
 * docs/hash-fields.md is the prose version of this file.
 */
#ifndef HOPLAT_PKTHASH_H
#define HOPLAT_PKTHASH_H

#ifdef __KERNEL__
#include <linux/types.h>
#else
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
#endif

#ifdef __cplusplus
extern "C" {
#endif

#define HOPLAT_KEY_LEN 16
#define HOPLAT_PAYLOAD_PREFIX 8	/* bytes of payload after the L4 header */
#define HOPLAT_WORDS_MAX 8		/* hashed 64-bit words, upper bound */
#define HOPLAT_CANON_MAX (HOPLAT_WORDS_MAX * 8)
#define HOPLAT_PARSE_MAX 128		/* bytes of the packet the parser looks at */

struct hoplat_hash_key {
	u8 bytes[HOPLAT_KEY_LEN];
};

/* "hoplat-default-k": what a fresh fleet uses, so it correlates out of the box. */
extern const struct hoplat_hash_key hoplat_default_key;

/*
 * Reads len bytes at offset (from the start of the IP header) into buf, or
 * returns a pointer to them in place; NULL if the packet is shorter. In the
 * kernel this is skb_header_pointer(); in tests, a bounded memcpy.
 */
typedef const void *(*hoplat_read_t)(const void *ctx, u32 offset, u32 len, void *buf);

struct hoplat_pkt_info {
	u64 hash;
	u32 length;	/* IP total length (IPv6: 40 + payload length) */
	u32 flags;	/* HOPLAT_F_IPV6, HOPLAT_F_FRAGMENT, HOPLAT_F_NO_L4 */
	u8 ttl;		/* IPv4 TTL / IPv6 hop limit: not hashed, routers change it */
};

/*
 * Hashes one packet of `avail` bytes (from the IP header on). Looks at the
 * first HOPLAT_PARSE_MAX of them, read with one call. Returns 0 on success;
 * -1 if the IP header is short or not the expected version (the caller
 * counts a parse error). A truncated or unknown L4 header is hashed without
 * it (HOPLAT_F_NO_L4).
 *
 * gso_size: for a GRO/GSO aggregate of TCP segments, the payload bytes per
 * segment (skb_shinfo()->gso_size), else 0. The aggregate then hashes with
 * its first segment's length, as the segment itself would on a router that
 * did not aggregate.
 */
int hoplat_hash_packet(const struct hoplat_hash_key *key, bool ipv6, hoplat_read_t read,
		       const void *ctx, u32 avail, u32 gso_size, struct hoplat_pkt_info *out);

/* The hashed words as bytes, little-endian (for tests and docs); returns the length or -1. */
int hoplat_canonical(bool ipv6, hoplat_read_t read, const void *ctx, u32 avail, u32 gso_size,
		     u8 *buf, struct hoplat_pkt_info *out);

/* SipHash-1-3 with a 128-bit key (portable C: the same in kernel and userspace). */
u64 hoplat_siphash(const struct hoplat_hash_key *key, const u8 *data, size_t len);
/* The same over n 64-bit words: equals hoplat_siphash() of their 8n little-endian bytes. */
u64 hoplat_siphash_words(const struct hoplat_hash_key *key, const u64 *w, int n);

/* Consistent sampling: the same packets are kept on every router. */
static inline bool hoplat_sampled(u64 hash, u32 one_in)
{
	return one_in <= 1 || hash <= (~(u64)0) / one_in;
}

#ifdef __cplusplus
}
#endif

#endif /* HOPLAT_PKTHASH_H */
