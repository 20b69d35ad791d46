// SPDX-License-Identifier: GPL-2.0
/*
 * Invariant fields -> canonical buffer -> SipHash-2-4. Built into the module
 * and into the userspace tests (tests/kmod/), so both hash alike.
 *
 * Canonical buffer, all fields copied raw (network byte order):
 *   IPv4: 0x04, protocol, total length, id, flags+fragment offset, saddr, daddr
 *   IPv6: 0x06, next header, payload length, flow label (20 bits, in 4 bytes),
 *         saddr, daddr
 *   then, unless a non-first fragment or the L4 header is missing/unknown:
 *   TCP:  0x06 tag, sport, dport, sequence, acknowledgement
 *   UDP:  0x11 tag, sport, dport, length
 *   ICMP, ICMPv6: tag, type, code, 4 bytes (id and sequence for echo)
 *   then one byte n and the first n <= 16 bytes after the L4 header (after the
 *   IP header when there is no L4 header).
 * Never hashed: TTL / hop limit, checksums, DSCP/ECN (TOS, traffic class),
 * IPv4 header options, IPv6 extension headers' contents, TCP flags and options.
 */
#include "pkthash.h"
#include "include/uapi/linux/hoplat.h"

#ifdef __KERNEL__
#include <linux/string.h>
#else
#include <string.h>
#endif

const struct hoplat_hash_key hoplat_default_key = {
	.bytes = { 'h', 'o', 'p', 'l', 'a', 't', '-', 'd', 'e', 'f', 'a', 'u', 'l', 't', '-', 'k' },
};

#define ROTL64(x, b) (u64)(((x) << (b)) | ((x) >> (64 - (b))))

static u64 load_le64(const u8 *p)
{
	return (u64)p[0] | (u64)p[1] << 8 | (u64)p[2] << 16 | (u64)p[3] << 24 |
	       (u64)p[4] << 32 | (u64)p[5] << 40 | (u64)p[6] << 48 | (u64)p[7] << 56;
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

	for (i = 0; i + 8 <= len; i += 8) {
		m = load_le64(data + i);
		v3 ^= m;
		SIPROUND;
		SIPROUND;
		v0 ^= m;
	}
	for (; left > 0; left--)
		b |= (u64)data[i + left - 1] << (8 * (left - 1));
	v3 ^= b;
	SIPROUND;
	SIPROUND;
	v0 ^= b;
	v2 ^= 0xff;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	SIPROUND;
	return v0 ^ v1 ^ v2 ^ v3;
}

struct canon {
	u8 *buf;
	int len;
};

static void put(struct canon *c, const void *p, int n)
{
	memcpy(c->buf + c->len, p, n);
	c->len += n;
}

static void put_u8(struct canon *c, u8 v)
{
	c->buf[c->len++] = v;
}

/* Appends the L4 fields; returns the L4 header length, or -1 without one. */
static int put_l4(struct canon *c, u8 proto, hoplat_read_t read, const void *ctx, u32 off)
{
	u8 tmp[16];
	const u8 *h;

	switch (proto) {
	case 6: /* TCP: ports, seq, ack; header length from data offset */
		h = read(ctx, off, 13, tmp);
		if (!h || (h[12] >> 4) < 5)
			return -1;
		put_u8(c, 6);
		put(c, h, 12);
		return (h[12] >> 4) * 4;
	case 17: /* UDP: ports, length */
		h = read(ctx, off, 8, tmp);
		if (!h)
			return -1;
		put_u8(c, 17);
		put(c, h, 6);
		return 8;
	case 1:	 /* ICMP */
	case 58: /* ICMPv6: type, code, then 4 bytes (id, seq for echo); not the checksum */
		h = read(ctx, off, 8, tmp);
		if (!h)
			return -1;
		put_u8(c, proto);
		put(c, h, 2);
		put(c, h + 4, 4);
		return 8;
	default:
		return -1;
	}
}

static void put_payload(struct canon *c, hoplat_read_t read, const void *ctx, u32 off, u32 end)
{
	u8 tmp[HOPLAT_PAYLOAD_PREFIX];
	u32 n = end > off ? end - off : 0;
	const u8 *p;

	if (n > HOPLAT_PAYLOAD_PREFIX)
		n = HOPLAT_PAYLOAD_PREFIX;
	p = n ? read(ctx, off, n, tmp) : NULL;
	if (!p)
		n = 0;
	put_u8(c, (u8)n);
	if (n)
		put(c, p, n);
}

int hoplat_canonical(bool ipv6, hoplat_read_t read, const void *ctx, u8 *buf,
		     struct hoplat_pkt_info *out)
{
	struct canon c = { .buf = buf, .len = 0 };
	u8 tmp[40];
	const u8 *ip;
	u32 hlen, end;
	u8 proto;
	int l4;
	bool first_fragment_or_whole = true;

	out->flags = ipv6 ? HOPLAT_F_IPV6 : 0;
	if (!ipv6) {
		ip = read(ctx, 0, 20, tmp);
		if (!ip || (ip[0] >> 4) != 4 || (ip[0] & 0xf) < 5)
			return -1;
		hlen = (ip[0] & 0xf) * 4;
		end = (u32)ip[2] << 8 | ip[3];
		proto = ip[9];
		put_u8(&c, 4);
		put_u8(&c, proto);
		put(&c, ip + 2, 6);	/* total length, id, flags + fragment offset */
		put(&c, ip + 12, 8);	/* saddr, daddr */
		if (ip[6] & 0x20 || ip[6] & 0x1f || ip[7]) {
			out->flags |= HOPLAT_F_FRAGMENT;
			first_fragment_or_whole = !(ip[6] & 0x1f || ip[7]);
		}
	} else {
		u8 flow[4];

		ip = read(ctx, 0, 40, tmp);
		if (!ip || (ip[0] >> 4) != 6)
			return -1;
		hlen = 40;
		end = 40 + ((u32)ip[4] << 8 | ip[5]);
		proto = ip[6];
		flow[0] = 0;
		flow[1] = ip[1] & 0x0f;
		flow[2] = ip[2];
		flow[3] = ip[3];
		put_u8(&c, 6);
		put_u8(&c, proto);
		put(&c, ip + 4, 2);	/* payload length */
		put(&c, flow, 4);
		put(&c, ip + 8, 32);	/* saddr, daddr */
		if (proto == 44)	/* fragment header: hashed as is, no L4 */
			out->flags |= HOPLAT_F_FRAGMENT;
	}
	out->length = end;
	l4 = first_fragment_or_whole ? put_l4(&c, proto, read, ctx, hlen) : -1;
	if (l4 < 0) {
		out->flags |= HOPLAT_F_NO_L4;
		l4 = 0;
	}
	put_payload(&c, read, ctx, hlen + (u32)l4, end);
	return c.len;
}

int hoplat_hash_packet(const struct hoplat_hash_key *key, bool ipv6, hoplat_read_t read,
		       const void *ctx, struct hoplat_pkt_info *out)
{
	u8 buf[HOPLAT_CANON_MAX];
	int len = hoplat_canonical(ipv6, read, ctx, buf, out);

	if (len < 0)
		return -1;
	out->hash = hoplat_siphash(key, buf, (size_t)len);
	return 0;
}
