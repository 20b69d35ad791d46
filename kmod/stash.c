// SPDX-License-Identifier: GPL-2.0
/*
 * Arrival state between the arrival hook and the exit hook.
 *
 * The kernel clears skb->tstamp before POST_ROUTING on the forwarding path,
 * and skb->cb belongs to IPCB/IP6CB there, so the module keeps its own,
 * keyed by skb address and namespace.
 *
 * Received packets (PRE_ROUTING -> POST_ROUTING or LOCAL_IN) are handled in
 * one softirq on one CPU: their arrivals go into a small per-CPU table, no
 * lock. Locally sent packets (LOCAL_OUT -> POST_ROUTING) run in the sender's
 * context, which a preemptible kernel (PREEMPT_RT, preempt=full) may migrate
 * between the two hooks: their arrivals go into a global table of
 * spinlocked buckets, taken with BH already disabled.
 *
 * Every arrival hook first forgets any entry for its skb address, so an
 * entry left by a packet dropped between the hooks can never be matched by
 * a later skb at the same address. Only pointers are compared, never
 * dereferenced: nothing is held.
 */
#include <linux/hash.h>
#include <linux/percpu.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>

#include "hoplat.h"

#define STASH_BITS 6
#define SHARED_BITS 8
#define STASH_MAX_AGE_NS (100 * NSEC_PER_MSEC)

struct stash_entry {
	const struct sk_buff *skb;	/* NULL: free */
	const struct net *net;
	struct hoplat_stashed_arrival a;
};

struct stash {
	struct stash_entry slot[1 << STASH_BITS];
};

struct shared_bucket {
	spinlock_t lock;
	struct stash_entry e;
};

static struct stash __percpu *hoplat_stash;
static struct shared_bucket shared[1 << SHARED_BITS];

int hoplat_stash_init(void)
{
	int i;

	hoplat_stash = alloc_percpu(struct stash);
	if (!hoplat_stash)
		return -ENOMEM;
	for (i = 0; i < ARRAY_SIZE(shared); i++)
		spin_lock_init(&shared[i].lock);
	return 0;
}

void hoplat_stash_exit(void)
{
	free_percpu(hoplat_stash);
}

static struct stash_entry *local_slot(const struct sk_buff *skb)
{
	return &this_cpu_ptr(hoplat_stash)->slot[hash_ptr(skb, STASH_BITS)];
}

static struct shared_bucket *shared_bucket(const struct sk_buff *skb)
{
	return &shared[hash_ptr(skb, SHARED_BITS)];
}

/*
 * Returns true if an entry for this skb address, left in any namespace,
 * was dropped. Both tables:
 * a received packet dropped before its exit leaves a per-CPU entry that a
 * locally sent skb at the same address would otherwise find at POST_ROUTING.
 */
bool hoplat_stash_forget(const struct sk_buff *skb)
{
	struct stash_entry *e = local_slot(skb);
	struct shared_bucket *b = shared_bucket(skb);
	bool forgot = false;

	if (e->skb == skb) {
		WRITE_ONCE(e->skb, NULL);
		forgot = true;
	}
	/* Unlocked peek: the lock is taken only when the bucket holds this very
	 * address, which is rare; most packets touch no shared line. */
	if (READ_ONCE(b->e.skb) != skb)
		return forgot;
	spin_lock(&b->lock);
	if (b->e.skb == skb) {
		WRITE_ONCE(b->e.skb, NULL);
		forgot = true;
	}
	spin_unlock(&b->lock);
	return forgot;
}

bool hoplat_stash_put(const struct net *net, const struct sk_buff *skb,
		      const struct hoplat_stashed_arrival *a)
{
	struct stash_entry *e;
	bool overwrote;

	if (a->local_out) {
		struct shared_bucket *b = shared_bucket(skb);

		spin_lock(&b->lock);
		overwrote = b->e.skb != NULL;
		WRITE_ONCE(b->e.skb, skb);
		b->e.net = net;
		b->e.a = *a;
		spin_unlock(&b->lock);
		return overwrote;
	}
	e = local_slot(skb);
	overwrote = e->skb != NULL;
	e->skb = skb;
	e->net = net;
	e->a = *a;
	return overwrote;
}

static bool take(struct stash_entry *e, const struct net *net, const struct sk_buff *skb,
		 u64 now_mono, struct hoplat_stashed_arrival *out, bool *stale)
{
	if (e->skb != skb || e->net != net)
		return false;
	WRITE_ONCE(e->skb, NULL);
	if (now_mono - e->a.arrival_mono > STASH_MAX_AGE_NS) {
		*stale = true;
		return false;
	}
	*out = e->a;
	return true;
}

bool hoplat_stash_take(const struct net *net, const struct sk_buff *skb, u64 now_mono,
		       bool maybe_local_out, struct hoplat_stashed_arrival *out, bool *stale)
{
	struct shared_bucket *b;
	bool found;

	*stale = false;
	if (take(local_slot(skb), net, skb, now_mono, out, stale))
		return true;
	if (!maybe_local_out)
		return false;
	b = shared_bucket(skb);
	if (READ_ONCE(b->e.skb) != skb)	/* unlocked peek, as in forget */
		return false;
	spin_lock(&b->lock);
	found = take(&b->e, net, skb, now_mono, out, stale);
	spin_unlock(&b->lock);
	return found;
}
