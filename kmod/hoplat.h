/* SPDX-License-Identifier: GPL-2.0 */
/* hoplat module internals shared between its files. */
#ifndef HOPLAT_INTERNAL_H
#define HOPLAT_INTERNAL_H

#include <linux/irq_work.h>
#include <linux/mutex.h>
#include <linux/netfilter.h>
#include <linux/percpu.h>
#include <linux/timer.h>
#include <linux/u64_stats_sync.h>
#include <linux/wait.h>
#include <net/net_namespace.h>
#include <net/netns/generic.h>

#include "include/uapi/linux/hoplat.h"
#include "pkthash.h"

/* Read on the packet path under RCU; replaced whole under config_lock. */
struct hoplat_config {
	bool enabled;
	u32 sample_one_in;
	u32 paths;
	struct hoplat_hash_key key;
	struct rcu_head rcu;
};

/* Per CPU, written only with BH disabled on that CPU. */
struct hoplat_stats {
	u64_stats_t seen;
	u64_stats_t sampled;
	u64_stats_t ring_drops;
	u64_stats_t no_reader;
	u64_stats_t parse_errors;
	u64_stats_t unmatched;
	u64_stats_t filtered;
	u64_stats_t stash_full;
	u64_stats_t handoff_gso;
	u64_stats_t handoff_unseen;
	u64_stats_t handoff_full;
	struct u64_stats_sync syncp;
};

/* One event in a namespace's counters; BH disabled (the counters are per CPU). */
#define HOPLAT_COUNT(hn, field)                                   \
	do {                                                      \
		struct hoplat_stats *s = this_cpu_ptr((hn)->stats); \
		u64_stats_update_begin(&s->syncp);                \
		u64_stats_inc(&s->field);                         \
		u64_stats_update_end(&s->syncp);                  \
	} while (0)

struct hoplat_counters {
	u64 seen, sampled, ring_drops, no_reader, parse_errors, unmatched, records_read;
	u64 filtered, close_discards, stash_full;
	u64 handoff_gso, handoff_unseen, handoff_full;
	u64 in_stash;	/* a gauge: waiting between the hooks at the time of reading */
	u64 in_handoff;	/* a gauge: waiting for their device hand-off */
};

struct hoplat_rings;

/* Everything the module keeps per network namespace (net_generic). */
struct hoplat_net {
	struct net *net;
	struct hoplat_config __rcu *config;
	struct mutex config_lock;
	struct hoplat_stats __percpu *stats;
	/* Allocated while a reader has /dev/hoplat open in this namespace. */
	struct hoplat_rings __rcu *rings;
	atomic_t reader_open;
	atomic64_t records_read;
	atomic64_t close_discards;	/* records the last reader closed on */
	wait_queue_head_t wait;
	struct irq_work wake_work;	/* wakes the reader from a tracepoint probe */
	struct timer_list flush_timer;
	bool flushing;	/* the flush timer re-arms itself while set */
	/* Set at namespace exit, once its hooks are gone: the stash purges its entries. */
	bool dying;
};

/* netns.c: per-namespace state, its set-up and tear-down, its counters */
extern unsigned int hoplat_net_id;

static inline struct hoplat_net *hoplat_pernet(const struct net *net)
{
	return net_generic(net, hoplat_net_id);
}

int hoplat_netns_init(void);
void hoplat_netns_exit(void);
void hoplat_read_counters(struct hoplat_net *hn, struct hoplat_counters *out);

/* hook.c */
extern const struct nf_hook_ops hoplat_hook_ops[];
/* hoplat_read_t over an skb, from its network header */
const void *hoplat_skb_read(const void *ctx, u32 offset, u32 len, void *buf);
extern const unsigned int hoplat_hook_ops_count;

/*
 * stash.c: what the arrival hook leaves for the exit hook, per CPU for
 * received packets and in a shared table for locally sent ones
 */
struct hoplat_stashed_arrival {
	u64 hash;
	u64 arrival_real;
	u64 arrival_mono;
	u32 ifindex_in;
	u32 length;
	u32 flags;
	u16 gso_segs;
	u8 ttl;
	bool local_out;
};
int hoplat_stash_init(void);
void hoplat_stash_exit(void);
/*
 * The hooks call these with BH disabled. An entry they drop without its
 * exit is counted in the namespace it was sampled in (unmatched, or
 * stash_full), whichever namespace drops it. take looks in the shared table
 * too if the packet may have been sent by this host (POST_ROUTING).
 */
void hoplat_stash_forget(const struct sk_buff *skb);
void hoplat_stash_put(const struct net *net, const struct sk_buff *skb,
		      const struct hoplat_stashed_arrival *a);
bool hoplat_stash_take(const struct net *net, const struct sk_buff *skb, u64 now_mono,
		       bool maybe_local_out, struct hoplat_stashed_arrival *out);
/* Process context: this namespace's entries, waiting and too old to match. */
void hoplat_stash_count(const struct net *net, u64 *waiting, u64 *stale);
/* Process context: drops the entries of every namespace marked dying. */
void hoplat_stash_purge(void);

/*
 * handoff.c: records between POST_ROUTING and the driver hand-off
 * (net_dev_start_xmit), one lock-free table for all CPUs
 */
int hoplat_handoff_init(void);
void hoplat_handoff_exit(void);
/* Module parameter handoff: whether records wait for the hand-off at all. */
bool hoplat_handoff_enabled(void);
/* BH disabled. */
void hoplat_handoff_put(const struct net *net, const struct sk_buff *skb,
			const struct net_device *dev, u64 exit_mono,
			const struct hoplat_record *rec);
void hoplat_handoff_forget(const struct sk_buff *skb);
/* Process context. */
u64 hoplat_handoff_count(const struct net *net);
void hoplat_handoff_purge(void);

/* tracepoint.c: a kernel tracepoint by name (most are not exported) */
struct tracepoint *hoplat_tracepoint_find(const char *name);

/* ring.c: per-CPU single-producer single-consumer record rings */
extern unsigned int hoplat_ring_records;	/* module parameter ring_records */
int hoplat_ring_init(void);
struct hoplat_rings *hoplat_rings_alloc(unsigned int records);
void hoplat_rings_free(struct hoplat_rings *rings);
/* Records written and not read yet; only once no producer runs (after synchronize_net). */
u64 hoplat_rings_unread(struct hoplat_rings *rings);
bool hoplat_rings_push(struct hoplat_rings *rings, const struct hoplat_record *rec, bool *wake);
/*
 * BH disabled: rec into this CPU's ring of the namespace's reader, or
 * counted (no_reader, ring_drops). *wake: the reader should be woken.
 */
void hoplat_deliver(struct hoplat_net *hn, const struct hoplat_record *rec, bool *wake);
bool hoplat_rings_empty(struct hoplat_rings *rings);
ssize_t hoplat_rings_read(struct hoplat_rings *rings, char __user *buf, size_t records,
			  unsigned int *next_cpu);

/* chardev.c */
int hoplat_chardev_init(void);
void hoplat_chardev_exit(void);
void hoplat_flush_timer_fn(struct timer_list *t);
void hoplat_wake_work_fn(struct irq_work *work);

/* netlink.c */
int hoplat_netlink_init(void);
void hoplat_netlink_exit(void);

/* procfs.c */
int hoplat_procfs_net_init(struct net *net);
void hoplat_procfs_net_exit(struct net *net);

#endif /* HOPLAT_INTERNAL_H */
