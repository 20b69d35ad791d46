// SPDX-License-Identifier: GPL-2.0
/*
 * Records between POST_ROUTING and the driver: the egress queue.
 *
 * POST_ROUTING runs before the qdisc. A record of a packet leaving by it is
 * complete but for its queue time, so it waits here, keyed by skb address,
 * until the skb is handed to a driver (the net_dev_start_xmit tracepoint,
 * after the qdisc, for every device, queueless ones too) and leaves with
 * queue_ns and HOPLAT_F_HANDOFF. The hand-off may run on another CPU than
 * POST_ROUTING did (the qdisc is run by whichever CPU holds it, or by a
 * timer), so the table is one for all CPUs, and lock-free: a way is
 * claimed by a cmpxchg of its key (free or skb -> CLAIMED); whoever
 * claimed it reads or writes the entry alone and frees the way by a store.
 * Packets that are never sampled cost one read of a set's keys (one cache
 * line, read-mostly) at their hand-off; no lock, no shared write.
 *
 * A record whose hand-off does not come still leaves, without the flag
 * (and counted why): a packet segmented in software (its segments are new
 * skbs) or expanded into a copy for its link-layer header is not put here
 * at all (hook.c); an entry older than handoff_timeout_ms (a qdisc drop, a
 * free without a tracepoint, a stacked device) is swept out every 100 ms;
 * one pushed out of a full set leaves at once; and an entry whose address
 * comes back as another packet (an arrival, or a hand-off of an skb with
 * another namespace, device, length or hash) was not handed off as that
 * packet.
 *
 * Records leave into the rings of the namespace the entry belongs to, on
 * the CPU that frees the entry, with BH disabled (a ring's producer
 * exclusion). A hand-off runs with preemption off: the reader is woken
 * through an irq_work, not directly (a PREEMPT_RT wait queue lock sleeps).
 * A hand-off with interrupts off (netpoll) is not taken: it could have
 * interrupted this CPU's producer.
 *
 * Namespace exit purges a dying namespace's entries under purge_lock (the
 * sweep takes it too) and waits a grace period: every claimer runs inside
 * an RCU read-side section (hooks, probe, BH-disabled sweep), so none
 * touches the namespace's counters after that.
 */
#include <linux/hash.h>
#include <linux/irq_work.h>
#include <linux/jiffies.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/netdevice.h>
#include <linux/random.h>
#include <linux/skbuff.h>
#include <linux/timekeeping.h>
#include <linux/tracepoint.h>
#include <linux/workqueue.h>
#include <trace/events/net.h>

#include "hoplat.h"

static bool hoplat_handoff = true;
module_param_named(handoff, hoplat_handoff, bool, 0444);
MODULE_PARM_DESC(handoff,
		 "Time the egress queue up to the driver hand-off (default 1; 0: records leave at POST_ROUTING, as before record version 3)");

bool hoplat_handoff_enabled(void)
{
	return hoplat_handoff;
}

static unsigned int hoplat_handoff_entries = 16384;
module_param_named(handoff_entries, hoplat_handoff_entries, uint, 0444);
MODULE_PARM_DESC(handoff_entries,
		 "Records waiting for their device hand-off, all CPUs (rounded up to a power of 2, at least 16; default 16384)");

static unsigned int hoplat_handoff_timeout_ms = 1000;
module_param_named(handoff_timeout_ms, hoplat_handoff_timeout_ms, uint, 0444);
MODULE_PARM_DESC(handoff_timeout_ms,
		 "Longest a record waits for its hand-off before it leaves without its queue time, ms (default 1000)");

#define HANDOFF_WAYS 8
#define SWEEP_MS 100
#define CLAIMED ((const struct sk_buff *)1UL)

struct handoff_entry {
	const struct net *net;
	u64 exit_mono;
	u32 ifindex;
	u32 net_len;	/* skb->len from the network header at POST_ROUTING */
	u64 exit_hash;	/* the packet as it left the exit hook: after NAT */
	struct hoplat_record rec;
};

/* A set's keys in one cache line; NULL: free, CLAIMED: being read or written. */
struct handoff_set {
	const struct sk_buff *skb[HANDOFF_WAYS];
} ____cacheline_aligned;

static struct handoff_set *sets;
static struct handoff_entry *entries;	/* [set * HANDOFF_WAYS + way] */
static unsigned int set_bits;
static struct tracepoint *xmit_tp;
static DEFINE_MUTEX(purge_lock);
static void sweep(struct work_struct *work);
static DECLARE_DELAYED_WORK(sweep_work, sweep);

static struct handoff_set *set_of(const struct sk_buff *skb, struct handoff_entry **ents)
{
	unsigned int s = hash_ptr(skb, set_bits);

	*ents = &entries[s * HANDOFF_WAYS];
	return &sets[s];
}

static bool claim(const struct sk_buff **key, const struct sk_buff *expected)
{
	return cmpxchg(key, expected, CLAIMED) == expected;
}

/* The entry was written before its key (release), and read after its claim. */
static void publish(const struct sk_buff **key, const struct sk_buff *skb)
{
	smp_store_release(key, skb);
}

/*
 * Frees a claimed way: a release too, so that the next claimer's writes to
 * the entry come after this claimer's last read and write of it.
 */
static void release_way(const struct sk_buff **key)
{
	smp_store_release(key, NULL);
}

/* Module-private: the hand-off check's hash needs no agreement with anyone. */
static struct hoplat_hash_key exit_key;

/* The packet's hash as it is now, with exit_key; false if unreadable. */
static bool exit_hash_of(const struct sk_buff *skb, bool ipv6, u32 len, u64 *hash)
{
	struct hoplat_pkt_info info;

	if (hoplat_hash_packet(&exit_key, ipv6, hoplat_skb_read, skb, len,
			       skb_is_gso(skb) ? skb_shinfo(skb)->gso_size : 0, &info))
		return false;
	*hash = info.hash;
	return true;
}

static int find_way(const struct handoff_set *set, const struct sk_buff *skb)
{
	unsigned int w;

	for (w = 0; w < HANDOFF_WAYS; w++)
		if (READ_ONCE(set->skb[w]) == skb)
			return w;
	return -1;
}

/* BH disabled. A claimed entry leaves without its queue time. */
static void leave_unseen(struct handoff_entry *e, bool full, bool *wake)
{
	struct hoplat_net *hn = hoplat_pernet(e->net);

	if (full)
		HOPLAT_COUNT(hn, handoff_full);
	else
		HOPLAT_COUNT(hn, handoff_unseen);
	hoplat_deliver(hn, &e->rec, wake);
}

static void wake_reader(const struct net *net, bool wake)
{
	if (wake)
		irq_work_queue(&hoplat_pernet(net)->wake_work);
}

/* BH disabled: whatever this address left here was not handed off as it. */
void hoplat_handoff_forget(const struct sk_buff *skb)
{
	struct handoff_entry *ents;
	struct handoff_set *set = set_of(skb, &ents);
	int w;
	bool wake = false;

	if (!hoplat_handoff)
		return;
	w = find_way(set, skb);
	if (w < 0 || !claim(&set->skb[w], skb))
		return;
	leave_unseen(&ents[w], false, &wake);
	wake_reader(ents[w].net, wake);
	release_way(&set->skb[w]);
}

/*
 * BH disabled, at POST_ROUTING: rec waits for skb's hand-off on dev. A
 * full set pushes its oldest record out (it leaves now, counted); if every
 * way is being claimed by others at once, rec itself leaves now.
 */
void hoplat_handoff_put(const struct net *net, const struct sk_buff *skb,
			const struct net_device *dev, u64 exit_mono,
			const struct hoplat_record *rec)
{
	struct handoff_entry *ents;
	struct handoff_set *set = set_of(skb, &ents);
	const struct sk_buff *k;
	u32 net_len = skb->len - skb_network_offset(skb);
	bool wake = false;
	u64 exit_hash;
	int w, tries;

	if (!exit_hash_of(skb, rec->flags & HOPLAT_F_IPV6, net_len, &exit_hash)) {
		/* Unreadable as it leaves (it was readable at arrival): not timed. */
		HOPLAT_COUNT(hoplat_pernet(net), handoff_unseen);
		hoplat_deliver(hoplat_pernet(net), rec, &wake);
		wake_reader(net, wake);
		return;
	}
	hoplat_handoff_forget(skb);
	for (tries = 0; tries < 2; tries++) {
		int oldest = -1;

		for (w = 0; w < HANDOFF_WAYS; w++) {
			k = READ_ONCE(set->skb[w]);
			if (!k) {
				if (claim(&set->skb[w], NULL))
					goto store;
				continue;
			}
			if (k != CLAIMED && (oldest < 0 ||
					     (s64)(READ_ONCE(ents[w].exit_mono) -
						   READ_ONCE(ents[oldest].exit_mono)) < 0))
				oldest = w;
		}
		if (oldest < 0)
			continue;
		w = oldest;
		k = READ_ONCE(set->skb[w]);
		if (k != CLAIMED && k && claim(&set->skb[w], k)) {
			leave_unseen(&ents[w], true, &wake);
			wake_reader(ents[w].net, wake);
			goto store;
		}
	}
	HOPLAT_COUNT(hoplat_pernet(net), handoff_full);
	hoplat_deliver(hoplat_pernet(net), rec, &wake);
	wake_reader(net, wake);
	return;
store:
	ents[w].net = net;
	ents[w].exit_mono = exit_mono;
	ents[w].ifindex = dev->ifindex;
	ents[w].net_len = net_len;
	ents[w].exit_hash = exit_hash;
	ents[w].rec = *rec;
	publish(&set->skb[w], skb);
}

/*
 * The skb at this address is the entry's packet: the same namespace, device
 * and length, and the same hash as it left the exit hook (the invariant
 * fields; TTL, checksums and DSCP may still change, and NAT is done by
 * then). An skb freed without a tracepoint, or replaced by a copy, leaves
 * its address to the next skb, which may be sent on the same device with
 * the same length (the next packet of a flow): without the hash that one's
 * hand-off would be taken for this one's.
 */
static bool same_packet(const struct handoff_entry *e, const struct sk_buff *skb,
			const struct net_device *dev)
{
	u32 len = skb->len - skb_network_offset(skb);
	u64 hash;

	return e->net == dev_net(dev) && e->ifindex == dev->ifindex && e->net_len == len &&
	       exit_hash_of(skb, e->rec.flags & HOPLAT_F_IPV6, len, &hash) && hash == e->exit_hash;
}

/*
 * net_dev_start_xmit: skb is handed to dev's driver, after the qdisc. BH
 * and preemption off (or interrupts off, under netpoll: not taken).
 */
static void handoff_probe(void *data, const struct sk_buff *skb, const struct net_device *dev)
{
	struct handoff_entry *ents, *e;
	struct handoff_set *set;
	bool wake = false;
	int w;

	if (irqs_disabled())
		return;
	set = set_of(skb, &ents);
	w = find_way(set, skb);
	if (w < 0 || !claim(&set->skb[w], skb))
		return;
	e = &ents[w];
	if (!same_packet(e, skb, dev)) {
		/* Not this packet: the address was reused after a drop, or the
		 * packet went on as a copy. */
		leave_unseen(e, false, &wake);
	} else {
		e->rec.queue_ns = ktime_get_ns() - e->exit_mono;
		e->rec.flags |= HOPLAT_F_HANDOFF;
		hoplat_deliver(hoplat_pernet(e->net), &e->rec, &wake);
	}
	wake_reader(e->net, wake);
	release_way(&set->skb[w]);
}

/* Entries older than the timeout leave without their queue time. */
static void sweep(struct work_struct *work)
{
	u64 timeout = (u64)hoplat_handoff_timeout_ms * NSEC_PER_MSEC;
	unsigned int s, w, n_sets = 1U << set_bits;

	mutex_lock(&purge_lock);
	for (s = 0; s < n_sets; s++) {
		struct handoff_entry *ents = &entries[s * HANDOFF_WAYS];
		u64 now = ktime_get_ns();

		local_bh_disable();
		for (w = 0; w < HANDOFF_WAYS; w++) {
			/* Acquire: the entry read below is k's publisher's or later. */
			const struct sk_buff *k = smp_load_acquire(&sets[s].skb[w]);
			bool wake = false;

			if (!k || k == CLAIMED ||
			    (s64)(now - READ_ONCE(ents[w].exit_mono)) <= (s64)timeout ||
			    !claim(&sets[s].skb[w], k))
				continue;
			/* Claimed: it may have been taken and put again meanwhile. */
			if ((s64)(now - ents[w].exit_mono) <= (s64)timeout) {
				publish(&sets[s].skb[w], k);
				continue;
			}
			leave_unseen(&ents[w], false, &wake);
			wake_reader(ents[w].net, wake);
			release_way(&sets[s].skb[w]);
		}
		local_bh_enable();
		if ((s & 255) == 255)
			cond_resched();
	}
	mutex_unlock(&purge_lock);
	schedule_delayed_work(&sweep_work, msecs_to_jiffies(SWEEP_MS));
}

/* Racy while packets flow, exact once they stop (as the stash's count). */
u64 hoplat_handoff_count(const struct net *net)
{
	unsigned int s, w, n_sets = 1U << set_bits;
	u64 n = 0;

	for (s = 0; s < n_sets; s++) {
		for (w = 0; w < HANDOFF_WAYS; w++) {
			const struct sk_buff *k = smp_load_acquire(&sets[s].skb[w]);

			if (k && k != CLAIMED && READ_ONCE(entries[s * HANDOFF_WAYS + w].net) == net)
				n++;
		}
		if ((s & 255) == 255)
			cond_resched();
	}
	return n;
}

/*
 * Process context, at namespace exit, once the dying namespaces' hooks no
 * longer run: their entries go, uncounted (nobody can read their counters).
 */
void hoplat_handoff_purge(void)
{
	unsigned int s, w, n_sets = 1U << set_bits;

	mutex_lock(&purge_lock);
	for (s = 0; s < n_sets; s++) {
		for (w = 0; w < HANDOFF_WAYS; w++) {
			/* Acquire: e->net is k's publisher's (a freed way keeps a stale one). */
			const struct sk_buff *k = smp_load_acquire(&sets[s].skb[w]);
			struct handoff_entry *e = &entries[s * HANDOFF_WAYS + w];

			if (!k || k == CLAIMED || !hoplat_pernet(READ_ONCE(e->net))->dying ||
			    !claim(&sets[s].skb[w], k))
				continue;
			/* Claimed: it may have been taken and put again meanwhile. */
			if (hoplat_pernet(e->net)->dying)
				release_way(&sets[s].skb[w]);
			else
				publish(&sets[s].skb[w], k);
		}
		if ((s & 255) == 255)
			cond_resched();
	}
	mutex_unlock(&purge_lock);
	/* A claimer that took a dying namespace's entry before the scan is done after this. */
	synchronize_rcu();
}

int hoplat_handoff_init(void)
{
	/* Two sets at least: hash_ptr() takes 1 to 32 bits, never 0. */
	unsigned int n = max(hoplat_handoff_entries, 2U * HANDOFF_WAYS);
	int err;

	check_trace_callback_type_net_dev_start_xmit(handoff_probe);
	get_random_bytes(&exit_key, sizeof(exit_key));
	if (!hoplat_handoff)
		n = 2 * HANDOFF_WAYS;	/* never used */
	set_bits = ilog2(roundup_pow_of_two(n) / HANDOFF_WAYS);
	hoplat_handoff_entries = (1U << set_bits) * HANDOFF_WAYS;
	sets = kvcalloc(1U << set_bits, sizeof(*sets), GFP_KERNEL);
	entries = kvcalloc(hoplat_handoff_entries, sizeof(*entries), GFP_KERNEL);
	if (!sets || !entries) {
		err = -ENOMEM;
		goto free;
	}
	if (!hoplat_handoff)
		return 0;
	xmit_tp = hoplat_tracepoint_find("net_dev_start_xmit");
	if (!xmit_tp) {
		pr_err("hoplat: no net_dev_start_xmit tracepoint\n");
		err = -ENOENT;
		goto free;
	}
	err = tracepoint_probe_register(xmit_tp, handoff_probe, NULL);
	if (err)
		goto free;
	schedule_delayed_work(&sweep_work, msecs_to_jiffies(SWEEP_MS));
	return 0;
free:
	kvfree(entries);
	kvfree(sets);
	return err;
}

/* After every namespace's exit: the table is empty, and stays so. */
void hoplat_handoff_exit(void)
{
	if (hoplat_handoff) {
		tracepoint_probe_unregister(xmit_tp, handoff_probe, NULL);
		tracepoint_synchronize_unregister();
		cancel_delayed_work_sync(&sweep_work);
	}
	kvfree(entries);
	kvfree(sets);
}
