// SPDX-License-Identifier: GPL-2.0
/*
 * Arrival state between the arrival hook and the exit hook.
 *
 * The kernel clears skb->tstamp before POST_ROUTING on the forwarding path,
 * and skb->cb belongs to IPCB/IP6CB there, so the module keeps its own: a
 * small per-CPU table keyed by skb address and netns. Forwarding runs from
 * PRE_ROUTING to POST_ROUTING synchronously on one CPU, so the exit hook
 * finds the entry on its own CPU. A packet dropped between the hooks leaves
 * an entry that is overwritten later (counted as unmatched) or found too old.
 * Only pointers are compared, never dereferenced: nothing is held.
 */
#include <linux/hash.h>
#include <linux/percpu.h>
#include <linux/skbuff.h>

#include "hoplat.h"

#define STASH_BITS 6
#define STASH_MAX_AGE_NS (100 * NSEC_PER_MSEC)

struct stash_entry {
	const struct sk_buff *skb;	/* NULL: free */
	const struct net *net;
	struct hoplat_arrival a;
};

struct stash {
	struct stash_entry slot[1 << STASH_BITS];
};

static DEFINE_PER_CPU(struct stash, hoplat_stash);

bool hoplat_stash_put(const struct net *net, const struct sk_buff *skb,
		      const struct hoplat_arrival *a)
{
	struct stash_entry *e = &this_cpu_ptr(&hoplat_stash)->slot[hash_ptr(skb, STASH_BITS)];
	bool overwrote = e->skb != NULL;

	e->skb = skb;
	e->net = net;
	e->a = *a;
	return overwrote;
}

bool hoplat_stash_take(const struct net *net, const struct sk_buff *skb, u64 now_mono,
		       struct hoplat_arrival *out, bool *stale)
{
	struct stash_entry *e = &this_cpu_ptr(&hoplat_stash)->slot[hash_ptr(skb, STASH_BITS)];

	*stale = false;
	if (e->skb != skb || e->net != net)
		return false;
	e->skb = NULL;
	if (now_mono - e->a.arrival_mono > STASH_MAX_AGE_NS) {
		*stale = true;	/* the same address, but another (dropped) packet's arrival */
		return false;
	}
	*out = e->a;
	return true;
}
