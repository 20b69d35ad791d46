// SPDX-License-Identifier: GPL-2.0
/*
 * Invariant fields -> canonical buffer -> SipHash-1-3. Built into the module
 * and into the userspace tests (tests/kmod/), so both hash alike.
 *
 * Canonical buffer, all fields copied raw (network byte order):
 *   IPv4: 0x04, protocol, total length, id, flags+fragment offset, saddr, daddr
 *   IPv6: 0x06, next header, payload length, flow label (20 bits, in 4 bytes),
 *         saddr, daddr
 *   then, unless a non-first fragment or the L4 header is missing/unknown:
 *   TCP:  sport, dport, sequence, acknowledgement
 *   UDP:  sport, dport, length
 *   ICMP, ICMPv6: type, code, 4 bytes (id and sequence for echo)
 *   then one byte n and the first n <= 8 bytes after the L4 header (after the
 *   IP header when there is no L4 header).
 * Never hashed: TTL / hop limit, checksums, DSCP/ECN (TOS, traffic class),
 * IPv4 header options, IPv6 extension headers' contents, TCP flags and options.
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

#define SIPROUND                                                          \
	do {                                                              \
		v0 += v1; v1 = ROTL64(v1, 13); v1 ^= v0; v0 = ROTL64(v0, 32); \
		v2 += v3; v3 = ROTL64(v3, 16); v3 ^= v2;                  \
		v0 += v3; v3 = ROTL64(v3, 21); v3 ^= v0;                  \
		v2 += v1; v1 = ROTL64(v1, 17); v1 ^= v2; v2 = ROTL64(v2, 32); \
	} while (0)

u64 hoplat_siphash(const struct hoplat_hash_key *key, const u8 *data, size_t len)
{
	const u64 k0 = load_le64(key->bytes), k1 = load_le64(key->bytes + 8);
	u64 v0 = 0x736f6d6570736575ULL ^ k0;
	u64 v1 = 0x646f72616e646f6dULL ^ k1;
	u64 v2 = 0x6c7967656e657261ULL ^ k0;
	u64 v3 = 0x7465646279746573ULL ^ k1;
	u64 b = (u64)len << 56, m;
	size_t i, left = len & 7;

	/* SipHash-1-3: one compression round, three finalization rounds. */
	for (i = 0; i + 8 <= len; i += 8) {
		m = load_le64(data + i);
		v3 ^= m;
		SIPROUND;
		v0 ^= m;
	}
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
	v3 ^= b;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

struct canon {
	u8 *buf;
	int len;
};

static void put(struct canon *c, const u8 *p, int n)
{
	memcpy(c->buf + c->len, p, n);
	c->len += n;
}

static void put_u8(struct canon *c, u8 v)
{
	c->buf[c->len++] = v;
}

/* Appends the L4 fields of pkt[off..len); returns the L4 header length, or -1. */
static int put_l4(struct canon *c, u8 proto, const u8 *pkt, u32 len, u32 off)
{
	const u8 *h = pkt + off;

	switch (proto) {
	case 6: /* TCP: ports, seq, ack; header length from data offset */
		if (off + 13 > len || (h[12] >> 4) < 5)
			return -1;
		put(c, h, 12);
		return (h[12] >> 4) * 4;
	case 17: /* UDP: ports, length */
		if (off + 8 > len)
			return -1;
		put(c, h, 6);
		return 8;
	case 1:	 /* ICMP */
	case 58: /* ICMPv6: type, code, then 4 bytes (id, seq for echo); not the checksum */
		if (off + 8 > len)
			return -1;
		put(c, h, 2);
		put(c, h + 4, 4);
		return 8;
	default:
		return -1;
	}
}

/*
 * pkt holds the first len bytes of the packet (len <= HOPLAT_PARSE_MAX);
 * every access below is checked against it.
 */
static int canonical(bool ipv6, const u8 *pkt, u32 len, u8 *buf, struct hoplat_pkt_info *out)
{
	struct canon c = { .buf = buf, .len = 0 };
	u32 hlen, end, off, n;
	bool l4_allowed = true;
	u8 proto;
	int l4;

	out->flags = ipv6 ? HOPLAT_F_IPV6 : 0;
	if (!ipv6) {
		if (len < 20 || (pkt[0] >> 4) != 4 || (pkt[0] & 0xf) < 5)
			return -1;
		hlen = (pkt[0] & 0xf) * 4;
		end = (u32)pkt[2] << 8 | pkt[3];
		proto = pkt[9];
		put_u8(&c, 4);
		put_u8(&c, proto);
		put(&c, pkt + 2, 6);	/* total length, id, flags + fragment offset */
		put(&c, pkt + 12, 8);	/* saddr, daddr */
		if (pkt[6] & 0x3f || pkt[7]) {	/* MF, or an offset */
			out->flags |= HOPLAT_F_FRAGMENT;
			l4_allowed = !(pkt[6] & 0x1f || pkt[7]);
		}
	} else {
		u8 flow[4];

		if (len < 40 || (pkt[0] >> 4) != 6)
			return -1;
		hlen = 40;
		end = 40 + ((u32)pkt[4] << 8 | pkt[5]);
		proto = pkt[6];
		flow[0] = 0;
		flow[1] = pkt[1] & 0x0f;
		flow[2] = pkt[2];
		flow[3] = pkt[3];
		put_u8(&c, 6);
		put_u8(&c, proto);
		put(&c, pkt + 4, 2);	/* payload length */
		put(&c, flow, 4);
		put(&c, pkt + 8, 32);	/* saddr, daddr */
		if (proto == 44)	/* fragment header: hashed as payload, no L4 */
			out->flags |= HOPLAT_F_FRAGMENT;
	}
	out->length = end;
	l4 = l4_allowed && hlen <= len ? put_l4(&c, proto, pkt, len, hlen) : -1;
	if (l4 < 0) {
		out->flags |= HOPLAT_F_NO_L4;
		l4 = 0;
	}
	/* Payload prefix: bounded by the bytes we have and by the IP length. */
	off = hlen + (u32)l4;
	n = 0;
	if (off < len && off < end) {
		n = (len < end ? len : end) - off;
		if (n > HOPLAT_PAYLOAD_PREFIX)
			n = HOPLAT_PAYLOAD_PREFIX;
	}
	put_u8(&c, (u8)n);
	put(&c, pkt + off, (int)n);
	return c.len;
}

int hoplat_canonical(bool ipv6, hoplat_read_t read, const void *ctx, u32 avail, u8 *buf,
		     struct hoplat_pkt_info *out)
{
	u8 tmp[HOPLAT_PARSE_MAX];
	u32 len = avail < HOPLAT_PARSE_MAX ? avail : HOPLAT_PARSE_MAX;
	/* One read for the whole parse: in the kernel a pointer into the linear
	 * part, or one copy; no call per field. */
	const u8 *pkt = len ? read(ctx, 0, len, tmp) : NULL;

	if (!pkt)
		return -1;
	return canonical(ipv6, pkt, len, buf, out);
}

int hoplat_hash_packet(const struct hoplat_hash_key *key, bool ipv6, hoplat_read_t read,
		       const void *ctx, u32 avail, struct hoplat_pkt_info *out)
{
	u8 buf[HOPLAT_CANON_MAX];
	int len = hoplat_canonical(ipv6, read, ctx, avail, buf, out);

	if (len < 0)
		return -1;
	out->hash = hoplat_siphash(key, buf, (size_t)len);
	return 0;
}
