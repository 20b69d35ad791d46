/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * hoplat: the module's whole ABI. Records read from /dev/hoplat, and the
 * generic netlink family "hoplat". Shared by the kernel module and the agent.
 */
#ifndef _UAPI_LINUX_HOPLAT_H
#define _UAPI_LINUX_HOPLAT_H

#include <linux/types.h>

#define HOPLAT_DEVICE "/dev/hoplat"
/*
 * 2: ttl (was reserved0, zero in version 1).
 * 3: queue_ns and HOPLAT_F_HANDOFF (was reserved1, zero before).
 * Readers accept 1 to 3; what an older record lacks is unknown (0).
 */
#define HOPLAT_RECORD_VERSION 3

/* Record flags. */
#define HOPLAT_F_FORWARDED	(1U << 0) /* PRE_ROUTING -> POST_ROUTING */
#define HOPLAT_F_LOCAL_OUT	(1U << 1) /* LOCAL_OUT -> POST_ROUTING: this host sent it */
#define HOPLAT_F_LOCAL_IN	(1U << 2) /* PRE_ROUTING -> LOCAL_IN: delivered to this host */
#define HOPLAT_F_IPV6		(1U << 3)
#define HOPLAT_F_FRAGMENT	(1U << 4) /* an IP fragment: no L4 fields were hashed */
#define HOPLAT_F_NO_L4		(1U << 5) /* L4 header absent, unknown or truncated */
/* queue_ns holds POST_ROUTING -> hand-off to the driver (version 3) */
#define HOPLAT_F_HANDOFF	(1U << 6)
/* segmented in software after POST_ROUTING: the segments' hand-off is not timed */
#define HOPLAT_F_SW_GSO		(1U << 7)

/*
 * One sampled packet, 64 bytes, host byte order. Read whole: read() returns
 * a multiple of sizeof(struct hoplat_record).
 */
struct hoplat_record {
	__u64 hash;		/* keyed hash of the invariant fields */
	__u64 arrival_ns;	/* CLOCK_REALTIME at the arrival hook */
	__u64 exit_ns;		/* CLOCK_REALTIME at the exit hook */
	__u64 residence_ns;	/* CLOCK_MONOTONIC exit hook minus arrival: forwarding */
	__u32 ifindex_in;	/* 0 for locally originated packets */
	__u32 ifindex_out;	/* 0 for locally delivered packets */
	__u32 length;		/* IP total length at arrival, bytes */
	__u32 flags;		/* HOPLAT_F_* */
	__u16 gso_segs;		/* wire packets in this skb (GRO/GSO), at least 1 */
	__u8 version;		/* HOPLAT_RECORD_VERSION */
	__u8 ttl;		/* IPv4 TTL / IPv6 hop limit at arrival (every router lowers it) */
	__u32 cpu;		/* CPU that saw the packet at its exit hook */
	/*
	 * With HOPLAT_F_HANDOFF: CLOCK_MONOTONIC hand-off to the driver
	 * (net_dev_start_xmit, after the qdisc) minus the exit hook: the
	 * egress queue. 0 without it (delivered locally, software GSO, or a
	 * hand-off not seen).
	 */
	__u64 queue_ns;
};

/* Generic netlink. */
#define HOPLAT_GENL_NAME "hoplat"
#define HOPLAT_GENL_VERSION 1

enum hoplat_cmd {
	HOPLAT_CMD_UNSPEC,
	HOPLAT_CMD_GET_CONFIG,	 /* reply: the config attributes */
	HOPLAT_CMD_SET_CONFIG,	 /* needs CAP_NET_ADMIN in the netns' user ns */
	HOPLAT_CMD_GET_COUNTERS, /* reply: the counter attributes */
	__HOPLAT_CMD_MAX,
};
#define HOPLAT_CMD_MAX (__HOPLAT_CMD_MAX - 1)

enum hoplat_attr {
	HOPLAT_A_UNSPEC,
	HOPLAT_A_PAD,
	/* configuration, per network namespace */
	HOPLAT_A_ENABLED,	/* u8: 0 or 1 */
	HOPLAT_A_SAMPLE_ONE_IN,	/* u32 >= 1: keep one packet in N, by hash (1: all) */
	HOPLAT_A_HASH_KEY,	/* binary, 16 bytes */
	HOPLAT_A_PATHS,		/* u32: HOPLAT_PATH_* bits to record */
	/*
	 * Counters, per network namespace (u64). Every sampled packet ends in
	 * one of them: PACKETS_SAMPLED = RECORDS_READ + RING_DROPS + NO_READER +
	 * UNMATCHED + FILTERED + CLOSE_DISCARDS + STASH_FULL, exactly, once no
	 * packet has arrived for 100 ms (IN_STASH is then 0), none has left
	 * for the module parameter handoff_timeout_ms (IN_HANDOFF is then 0),
	 * and the reader, if one is open, has read its rings empty; while
	 * packets flow, add IN_STASH, IN_HANDOFF and the records waiting in
	 * the rings (docs/netlink.md). The HANDOFF_* counters are records
	 * delivered, not lost: they say why a record lacks its queue time.
	 */
	HOPLAT_A_PACKETS_SEEN,
	HOPLAT_A_PACKETS_SAMPLED,
	HOPLAT_A_RING_DROPS,	/* records lost to a full ring */
	HOPLAT_A_NO_READER,	/* records lost because nobody had the device open */
	HOPLAT_A_PARSE_ERRORS,	/* truncated or malformed headers */
	HOPLAT_A_UNMATCHED,	/* an arrival never seen at exit (dropped between the hooks) */
	HOPLAT_A_RECORDS_READ,
	HOPLAT_A_FILTERED,	/* sampled, but its path is not recorded (HOPLAT_A_PATHS) */
	HOPLAT_A_CLOSE_DISCARDS, /* records left unread in the rings when the reader closed */
	HOPLAT_A_STASH_FULL,	/* arrivals pushed out of a full stash set before their exit */
	HOPLAT_A_IN_STASH,	/* gauge: sampled arrivals waiting for their exit hook now */
	/*
	 * Records of packets that left by POST_ROUTING, delivered without
	 * HOPLAT_F_HANDOFF: segmented in software (GSO); hand-off not seen in
	 * time (dropped in the qdisc, freed, or stacked devices); pushed out of
	 * a full hand-off table. IN_HANDOFF (gauge) waits for its hand-off now.
	 */
	HOPLAT_A_HANDOFF_GSO,
	HOPLAT_A_HANDOFF_UNSEEN,
	HOPLAT_A_HANDOFF_FULL,
	HOPLAT_A_IN_HANDOFF,
	__HOPLAT_A_MAX,
};
#define HOPLAT_A_MAX (__HOPLAT_A_MAX - 1)

#define HOPLAT_PATH_FORWARD	(1U << 0)
#define HOPLAT_PATH_LOCAL_OUT	(1U << 1)
#define HOPLAT_PATH_LOCAL_IN	(1U << 2)
#define HOPLAT_PATH_IPV4	(1U << 3)
#define HOPLAT_PATH_IPV6	(1U << 4)
#define HOPLAT_PATH_ALL		0x1f

#endif /* _UAPI_LINUX_HOPLAT_H */
