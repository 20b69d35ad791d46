// SPDX-License-Identifier: GPL-2.0
/*
 * Invariant fields -> a few 64-bit words -> SipHash-1-3. Built into the
 * module and into the userspace tests (tests/kmod/), so both hash alike.
 *
 * The hashed words, each loaded little-endian from the packet's own bytes
 * (network byte order inside) with the variant bytes masked out:
 *   IPv4: [0x04, protocol, total length, id, flags+fragment offset]
 *         [source address, destination address]
 *   IPv6: [0x06, flow label (20 bits, 3 bytes), payload length, next header, 0]
 *         [source address] x2, [destination address] x2
 *   then, unless a non-first fragment or the L4 header is missing/unknown:
 *   TCP:  [sport, dport, sequence] [acknowledgement, 0]
 *   UDP:  [sport, dport, length, 0]
 *   ICMP, ICMPv6: [type, code, id, sequence, 0, 0] (the 4 bytes after the checksum)
 *   then [up to HOPLAT_PAYLOAD_PREFIX (8) payload bytes after the L4 header
 *   (after the IP header without one), zero-padded], if the packet has any.
 * Never hashed: TTL / hop limit, checksums, DSCP/ECN (TOS, traffic class),
 * IPv4 header options, IPv6 extension headers' contents beyond the payload
 * word, TCP flags and options.
 */
#include "pkthash.h"
#include "include/uapi/linux/hoplat.h"

#ifdef __KERNEL__
#include <linux/compiler_attributes.h>
#include <linux/string.h>
#else
#include <string.h>
#ifndef fallthrough
#define fallthrough __attribute__((__fallthrough__))
#endif
#endif

const struct hoplat_hash_key hoplat_default_key = {
	.bytes = { 'h', 'o', 'p', 'l', 'a', 't', '-', 'd', 'e', 'f', 'a', 'u', 'l', 't', '-', 'k' },
};

#define ROTL64(x, b) (u64)(((x) << (b)) | ((x) >> (64 - (b))))

static inline u64 load_le64(const u8 *p)
{
	u64 v;

	memcpy(&v, p, sizeof(v));	/* one unaligned load */
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap64(v);
#endif
	return v;
}

struct sip {
	u64 v0, v1, v2, v3;
};

static inline __attribute__((always_inline)) void sip_round(struct sip *s)
{
	s->v0 += s->v1; s->v1 = ROTL64(s->v1, 13); s->v1 ^= s->v0; s->v0 = ROTL64(s->v0, 32);
	s->v2 += s->v3; s->v3 = ROTL64(s->v3, 16); s->v3 ^= s->v2;
	s->v0 += s->v3; s->v3 = ROTL64(s->v3, 21); s->v3 ^= s->v0;
	s->v2 += s->v1; s->v1 = ROTL64(s->v1, 17); s->v1 ^= s->v2; s->v2 = ROTL64(s->v2, 32);
}

static inline __attribute__((always_inline)) void sip_init(struct sip *s,
							  const struct hoplat_hash_key *key)
{
	const u64 k0 = load_le64(key->bytes), k1 = load_le64(key->bytes + 8);

	s->v0 = 0x736f6d6570736575ULL ^ k0;
	s->v1 = 0x646f72616e646f6dULL ^ k1;
	s->v2 = 0x6c7967656e657261ULL ^ k0;
	s->v3 = 0x7465646279746573ULL ^ k1;
}

/* SipHash-1-3: one compression round per word... */
static inline __attribute__((always_inline)) void sip_word(struct sip *s, u64 m)
{
	s->v3 ^= m;
	sip_round(s);
	s->v0 ^= m;
}

/* ...and three finalization rounds. b: the last 0..7 bytes and the length. */
static inline __attribute__((always_inline)) u64 sip_finish(struct sip *s, u64 b)
{
	sip_word(s, b);
	s->v2 ^= 0xff;
	sip_round(s);
	sip_round(s);
	sip_round(s);
	return s->v0 ^ s->v1 ^ s->v2 ^ s->v3;
}

u64 hoplat_siphash(const struct hoplat_hash_key *key, const u8 *data, size_t len)
{
	u64 b = (u64)len << 56;
	size_t i, left = len & 7;
	struct sip s;

	sip_init(&s, key);
	for (i = 0; i + 8 <= len; i += 8)
		sip_word(&s, load_le64(data + i));
	switch (left) {	/* the last 0..7 bytes, as the reference implementation takes them */
	case 7:
		b |= (u64)data[i + 6] << 48;
		fallthrough;
	case 6:
		b |= (u64)data[i + 5] << 40;
		fallthrough;
	case 5:
		b |= (u64)data[i + 4] << 32;
		fallthrough;
	case 4:
		b |= (u64)data[i + 3] << 24;
		fallthrough;
	case 3:
		b |= (u64)data[i + 2] << 16;
		fallthrough;
	case 2:
		b |= (u64)data[i + 1] << 8;
		fallthrough;
	case 1:
		b |= (u64)data[i];
	}
	return sip_finish(&s, b);
}

/* The same function over n whole words: hoplat_siphash() of their 8n bytes.
 * Inlined into hoplat_hash_packet(), the per-packet entry point. */
static inline __attribute__((always_inline)) u64 siphash_words(const struct hoplat_hash_key *key,
								const u64 *w, int n)
{
	struct sip s;
	int i;

	sip_init(&s, key);
	for (i = 0; i < n; i++)
		sip_word(&s, w[i]);
	return sip_finish(&s, (u64)(n * 8) << 56);
}

u64 hoplat_siphash_words(const struct hoplat_hash_key *key, const u64 *w, int n)
{
	return siphash_words(key, w, n);
}

static inline u32 load_le32(const u8 *p)
{
	u32 v;

	memcpy(&v, p, sizeof(v));
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	v = __builtin_bswap32(v);
#endif
	return v;
}

/* Up to 8 bytes, zero-padded, as one word. */
static inline u64 load_partial(const u8 *p, u32 n)
{
	u64 v = 0;

	if (n >= 8)
		return load_le64(p);
	while (n--)
		v |= (u64)p[n] << (8 * n);
	return v;
}

/* The payload prefix is hashed as one word (load_partial()). */
_Static_assert(HOPLAT_PAYLOAD_PREFIX <= 8, "HOPLAT_PAYLOAD_PREFIX must fit one word");

/*
 * pkt holds the first len bytes of the packet (len <= HOPLAT_PARSE_MAX);
 * every access is checked against len. Fills w[] (at most HOPLAT_WORDS_MAX)
 * and returns how many, or -1 without a readable IP header.
 */
static inline __attribute__((always_inline)) int words(bool ipv6, const u8 *pkt, u32 len,
							u32 gso_size, u64 *w,
							struct hoplat_pkt_info *out)
{
	u32 hlen, end, off, stop;
	bool l4_allowed = true;
	int n = 0, l4 = -1;
	const u8 *h;
	u8 proto;

	out->flags = ipv6 ? HOPLAT_F_IPV6 : 0;
	if (!ipv6) {
		if (len < 20 || (pkt[0] >> 4) != 4 || (pkt[0] & 0xf) < 5)
			return -1;
		hlen = (pkt[0] & 0xf) * 4;
		end = (u32)pkt[2] << 8 | pkt[3];
		proto = pkt[9];
		out->ttl = pkt[8];
		w[n++] = (load_le64(pkt) & 0xffffffffffff0000ULL) | 0x04 | (u64)proto << 8;
		w[n++] = load_le64(pkt + 12);
		if (pkt[6] & 0x3f || pkt[7]) {	/* MF, or an offset */
			out->flags |= HOPLAT_F_FRAGMENT;
			l4_allowed = !(pkt[6] & 0x1f || pkt[7]);
		}
	} else {
		if (len < 40 || (pkt[0] >> 4) != 6)
			return -1;
		hlen = 40;
		end = 40 + ((u32)pkt[4] << 8 | pkt[5]);
		proto = pkt[6];
		out->ttl = pkt[7];
		w[n++] = (load_le64(pkt) & 0x00ffffffffff0f00ULL) | 0x06;
		w[n++] = load_le64(pkt + 8);
		w[n++] = load_le64(pkt + 16);
		w[n++] = load_le64(pkt + 24);
		w[n++] = load_le64(pkt + 32);
		if (proto == 44)	/* fragment header: hashed as payload, no L4 */
			out->flags |= HOPLAT_F_FRAGMENT;
	}
	out->length = end;
	h = pkt + hlen;
	if (l4_allowed && hlen <= len) {
		switch (proto) {
		case 6:	/* TCP: ports, seq, ack; header length from the data offset */
			if (hlen + 16 <= len && (h[12] >> 4) >= 5) {
				w[n++] = load_le64(h);
				w[n++] = load_le32(h + 8);
				l4 = (h[12] >> 4) * 4;
			}
			break;
		case 17: /* UDP: ports, length; not the checksum */
			if (hlen + 8 <= len) {
				w[n++] = load_le64(h) & 0x0000ffffffffffffULL;
				l4 = 8;
			}
			break;
		case 1:	 /* ICMP */
		case 58: /* ICMPv6: type, code, then id and sequence for echo; not the checksum */
			if (hlen + 8 <= len) {
				w[n++] = (u64)(h[0] | h[1] << 8) | (u64)load_le32(h + 4) << 16;
				l4 = 8;
			}
			break;
		}
	}
	if (l4 < 0) {
		out->flags |= HOPLAT_F_NO_L4;
		l4 = 0;
	} else if (gso_size && proto == 6) {
		/* An aggregate: hash the length its first segment has on the wire. */
		u32 seg = (ipv6 ? 0 : hlen) + (u32)l4 + gso_size;
		u64 be16 = (u64)((seg >> 8) & 0xff) | (u64)(seg & 0xff) << 8;

		if (ipv6)
			w[0] = (w[0] & ~(0xffffULL << 32)) | be16 << 32;
		else
			w[0] = (w[0] & ~(0xffffULL << 16)) | be16 << 16;
	}
	off = hlen + (u32)l4;
	stop = len < end ? len : end;
	if (off < stop)
		w[n++] = load_partial(pkt + off, stop - off < HOPLAT_PAYLOAD_PREFIX ?
				      stop - off : HOPLAT_PAYLOAD_PREFIX);
	return n;
}

static inline __attribute__((always_inline)) int read_words(bool ipv6, hoplat_read_t read,
							     const void *ctx, u32 avail,
							     u32 gso_size, u64 *w,
							     struct hoplat_pkt_info *out)
{
	u8 tmp[HOPLAT_PARSE_MAX];
	u32 len = avail < HOPLAT_PARSE_MAX ? avail : HOPLAT_PARSE_MAX;
	/* One read for the whole parse: in the kernel a pointer into the linear
	 * part, or one copy; no call per field. */
	const u8 *pkt = len ? read(ctx, 0, len, tmp) : NULL;

	if (!pkt)
		return -1;
	return words(ipv6, pkt, len, gso_size, w, out);
}

int hoplat_canonical(bool ipv6, hoplat_read_t read, const void *ctx, u32 avail, u32 gso_size,
		     u8 *buf, struct hoplat_pkt_info *out)
{
	u64 w[HOPLAT_WORDS_MAX];
	int n = read_words(ipv6, read, ctx, avail, gso_size, w, out), i, b;

	for (i = 0; i < n; i++)
		for (b = 0; b < 8; b++)
			buf[i * 8 + b] = (u8)(w[i] >> (8 * b));
	return n < 0 ? -1 : n * 8;
}

int hoplat_hash_packet(const struct hoplat_hash_key *key, bool ipv6, hoplat_read_t read,
		       const void *ctx, u32 avail, u32 gso_size, struct hoplat_pkt_info *out)
{
	u64 w[HOPLAT_WORDS_MAX];
	int n = read_words(ipv6, read, ctx, avail, gso_size, w, out);

	if (n < 0)
		return -1;
	out->hash = siphash_words(key, w, n);
	return 0;
}
