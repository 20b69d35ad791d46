// SPDX-License-Identifier: GPL-2.0
/*
 * Arrival state between the arrival hook and the exit hook.
 *
 * The kernel clears skb->tstamp before POST_ROUTING on the forwarding path,
 * and skb->cb belongs to IPCB/IP6CB there, so the module keeps its own,
 * keyed by skb address and namespace.
 *
 * Received packets (PRE_ROUTING -> POST_ROUTING or LOCAL_IN) are handled in
 * one softirq on one CPU: their arrivals go into a per-CPU table, no lock.
 * With list receive (GRO, or a driver handing over a batch) PRE_ROUTING
 * sees a whole batch before the first of it reaches POST_ROUTING, so the
 * table must hold a batch at once: it is set-associative, 64 sets of 8
 * ways, the 8 skb pointers of a set in one cache line apart from the
 * arrivals, so that a lookup reads one line. GRO hands over lists of
 * gro_normal_batch (8 by default) packets, which fit even in one set; were
 * skb addresses random, a list of 64 (a whole NAPI budget) would overfill
 * one set about once in 20000 lists. (The 64 direct-mapped slots before
 * lost 1.4 % of the forwarded packets to collisions in the VM test's flood.)
 *
 * Locally sent packets (LOCAL_OUT -> POST_ROUTING) run in the sender's
 * context, which a preemptible kernel (PREEMPT_RT, preempt=full) may migrate
 * between the two hooks: their arrivals go into a global table of
 * spinlocked sets of 4 ways, taken with BH already disabled.
 *
 * Every arrival hook first forgets any entry for its skb address, so an
 * entry left by a packet dropped between the hooks can never be matched by
 * a later skb at the same address. Only skb pointers are compared, never
 * dereferenced: nothing is held.
 *
 * An entry dropped without its exit is counted in the namespace it was
 * sampled in, not in the one whose packet happens to drop it: unmatched if
 * its packet can no longer leave (dropped between the hooks, or older than
 * STASH_MAX_AGE_NS), stash_full if a full set pushed it out while its packet
 * still could. It is counted where it is dropped, within the same exclusion
 * (BH disabled on the table's CPU, or the set's lock): so once the purge has
 * passed a table, nobody counts on a namespace it purged.
 */
#include <linux/cpu.h>
#include <linux/hash.h>
#include <linux/mm.h>
#include <linux/mutex.h>
#include <linux/percpu.h>
#include <linux/skbuff.h>
#include <linux/slab.h>
#include <linux/spinlock.h>
#include <linux/timekeeping.h>
#include <linux/workqueue.h>

#include "hoplat.h"

#define LOCAL_SET_BITS 6
#define LOCAL_WAYS 8
#define SHARED_SET_BITS 6
#define SHARED_WAYS 4
#define STASH_MAX_AGE_NS (100 * NSEC_PER_MSEC)

struct stash_entry {
	const struct net *net;
	struct hoplat_stashed_arrival a;
};

/* A set's keys, one cache line: a lookup touches no entry. NULL: free. */
struct local_set {
	const struct sk_buff *skb[LOCAL_WAYS];
} ____cacheline_aligned;

struct local_stash {
	struct local_set set[1 << LOCAL_SET_BITS];
	struct stash_entry entry[1 << LOCAL_SET_BITS][LOCAL_WAYS];
};

struct shared_set {
	spinlock_t lock;
	const struct sk_buff *skb[SHARED_WAYS];
} ____cacheline_aligned_in_smp;

static DEFINE_PER_CPU(struct local_stash *, local_stash);
static struct shared_set shared[1 << SHARED_SET_BITS];
static struct stash_entry shared_entry[1 << SHARED_SET_BITS][SHARED_WAYS];

static DEFINE_PER_CPU(struct work_struct, purge_work);
static DEFINE_MUTEX(purge_lock);	/* one purge at a time: purge_work is reused */

static void purge_this_cpu(struct work_struct *work);

int hoplat_stash_init(void)
{
	int cpu, i;

	for_each_possible_cpu(cpu) {
		struct local_stash *st = kvzalloc_node(sizeof(*st), GFP_KERNEL, cpu_to_node(cpu));

		if (!st) {
			hoplat_stash_exit();
			return -ENOMEM;
		}
		per_cpu(local_stash, cpu) = st;
		INIT_WORK(per_cpu_ptr(&purge_work, cpu), purge_this_cpu);
	}
	for (i = 0; i < ARRAY_SIZE(shared); i++)
		spin_lock_init(&shared[i].lock);
	return 0;
}

void hoplat_stash_exit(void)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		kvfree(per_cpu(local_stash, cpu));
		per_cpu(local_stash, cpu) = NULL;
	}
}

/* Signed: a shared entry's arrival may come from another CPU's clock read. */
static bool too_old(u64 arrival_mono, u64 now_mono)
{
	return (s64)(now_mono - arrival_mono) > STASH_MAX_AGE_NS;
}

static int find_way(const struct sk_buff *const *keys, unsigned int ways,
		    const struct sk_buff *skb)
{
	unsigned int w;

	for (w = 0; w < ways; w++)
		if (READ_ONCE(keys[w]) == skb)
			return w;
	return -1;
}

/* Frees a way whose packet never reached its exit, charging the entry's namespace. */
static void drop_entry(const struct sk_buff **key, const struct stash_entry *e, bool pushed_out)
{
	struct hoplat_net *hn = hoplat_pernet(e->net);

	if (pushed_out)
		HOPLAT_COUNT(hn, stash_full);
	else
		HOPLAT_COUNT(hn, unmatched);
	WRITE_ONCE(*key, NULL);
}

/*
 * A free way, else the oldest one, dropped: unmatched if it can no longer
 * match (then it is also the oldest), else pushed out of a full set.
 */
static unsigned int make_room(const struct sk_buff **keys, const struct stash_entry *ents,
			      unsigned int ways, u64 now_mono)
{
	unsigned int w, oldest = 0;

	for (w = 0; w < ways; w++)
		if (!keys[w])
			return w;
	for (w = 1; w < ways; w++)
		if ((s64)(ents[w].a.arrival_mono - ents[oldest].a.arrival_mono) < 0)
			oldest = w;
	drop_entry(&keys[oldest], &ents[oldest],
		   !too_old(ents[oldest].a.arrival_mono, now_mono));
	return oldest;
}

static void store(const struct sk_buff **keys, struct stash_entry *ents, unsigned int ways,
		  const struct net *net, const struct sk_buff *skb,
		  const struct hoplat_stashed_arrival *a)
{
	unsigned int w = make_room(keys, ents, ways, a->arrival_mono);

	ents[w].net = net;
	ents[w].a = *a;
	/* Last: a way is taken once its key is set (hoplat_stash_count reads unlocked). */
	WRITE_ONCE(keys[w], skb);
}

/* Takes this namespace's entry for skb; one too old to be its arrival is unmatched. */
static bool take_from(const struct sk_buff **keys, struct stash_entry *ents, unsigned int ways,
		      const struct net *net, const struct sk_buff *skb, u64 now_mono,
		      struct hoplat_stashed_arrival *out)
{
	int w = find_way(keys, ways, skb);

	if (w < 0 || ents[w].net != net)
		return false;
	if (too_old(ents[w].a.arrival_mono, now_mono)) {
		drop_entry(&keys[w], &ents[w], false);
		return false;
	}
	*out = ents[w].a;
	WRITE_ONCE(keys[w], NULL);
	return true;
}

static unsigned int local_set_of(const struct sk_buff *skb)
{
	return hash_ptr(skb, LOCAL_SET_BITS);
}

static unsigned int shared_set_of(const struct sk_buff *skb)
{
	return hash_ptr(skb, SHARED_SET_BITS);
}

/*
 * Both tables: a received packet dropped before its exit leaves a per-CPU
 * entry that a locally sent skb at the same address would otherwise find
 * at POST_ROUTING. Put after forget, so an address has one entry per table.
 */
void hoplat_stash_forget(const struct sk_buff *skb)
{
	struct local_stash *st = this_cpu_read(local_stash);
	unsigned int s = local_set_of(skb), ss = shared_set_of(skb);
	struct shared_set *set = &shared[ss];
	int w;

	w = find_way(st->set[s].skb, LOCAL_WAYS, skb);
	if (w >= 0)
		drop_entry(&st->set[s].skb[w], &st->entry[s][w], false);
	/* Unlocked peek: the lock is taken only when the set holds this very
	 * address, which is rare; most packets write no shared line. */
	if (find_way(set->skb, SHARED_WAYS, skb) < 0)
		return;
	spin_lock(&set->lock);
	w = find_way(set->skb, SHARED_WAYS, skb);
	if (w >= 0)
		drop_entry(&set->skb[w], &shared_entry[ss][w], false);
	spin_unlock(&set->lock);
}

void hoplat_stash_put(const struct net *net, const struct sk_buff *skb,
		      const struct hoplat_stashed_arrival *a)
{
	struct local_stash *st;
	unsigned int s;

	if (a->local_out) {
		s = shared_set_of(skb);
		spin_lock(&shared[s].lock);
		store(shared[s].skb, shared_entry[s], SHARED_WAYS, net, skb, a);
		spin_unlock(&shared[s].lock);
		return;
	}
	st = this_cpu_read(local_stash);
	s = local_set_of(skb);
	store(st->set[s].skb, st->entry[s], LOCAL_WAYS, net, skb, a);
}

bool hoplat_stash_take(const struct net *net, const struct sk_buff *skb, u64 now_mono,
		       bool maybe_local_out, struct hoplat_stashed_arrival *out)
{
	struct local_stash *st = this_cpu_read(local_stash);
	unsigned int s = local_set_of(skb);
	bool found;

	if (take_from(st->set[s].skb, st->entry[s], LOCAL_WAYS, net, skb, now_mono, out))
		return true;
	if (!maybe_local_out)
		return false;
	s = shared_set_of(skb);
	if (find_way(shared[s].skb, SHARED_WAYS, skb) < 0)	/* unlocked peek, as in forget */
		return false;
	spin_lock(&shared[s].lock);
	found = take_from(shared[s].skb, shared_entry[s], SHARED_WAYS, net, skb, now_mono, out);
	spin_unlock(&shared[s].lock);
	return found;
}

static void count_set(const struct sk_buff *const *keys, const struct stash_entry *ents,
		      unsigned int ways, const struct net *net, u64 now_mono, u64 *waiting,
		      u64 *stale)
{
	unsigned int w;

	for (w = 0; w < ways; w++) {
		if (!READ_ONCE(keys[w]) || READ_ONCE(ents[w].net) != net)
			continue;
		if (too_old(READ_ONCE(ents[w].a.arrival_mono), now_mono))
			(*stale)++;
		else
			(*waiting)++;
	}
}

/*
 * Unlocked and racy while packets flow (an entry may be counted as it is
 * written or taken), exact once they stop. An entry too old to match is
 * counted here as what it will be counted as when it is dropped
 * (unmatched), and leaves this count then: the sum stays the same.
 */
void hoplat_stash_count(const struct net *net, u64 *waiting, u64 *stale)
{
	u64 now_mono = ktime_get_ns();
	unsigned int s;
	int cpu;

	*waiting = 0;
	*stale = 0;
	for_each_possible_cpu(cpu) {
		const struct local_stash *st = per_cpu(local_stash, cpu);

		for (s = 0; s < ARRAY_SIZE(st->set); s++)
			count_set(st->set[s].skb, st->entry[s], LOCAL_WAYS, net, now_mono, waiting,
				  stale);
		cond_resched();
	}
	for (s = 0; s < ARRAY_SIZE(shared); s++)
		count_set(shared[s].skb, shared_entry[s], SHARED_WAYS, net, now_mono, waiting, stale);
}

/* Entries of a dying namespace go uncounted: nobody can read its counters any more. */
static void purge_set(const struct sk_buff **keys, const struct stash_entry *ents,
		      unsigned int ways)
{
	unsigned int w;

	for (w = 0; w < ways; w++)
		if (keys[w] && hoplat_pernet(ents[w].net)->dying)
			WRITE_ONCE(keys[w], NULL);
}

static void purge_local(struct local_stash *st)
{
	unsigned int s;

	for (s = 0; s < ARRAY_SIZE(st->set); s++)
		purge_set(st->set[s].skb, st->entry[s], LOCAL_WAYS);
}

static void purge_this_cpu(struct work_struct *work)
{
	/*
	 * A CPU's table is written only by that CPU with BH disabled: with BH
	 * disabled here too, no hook runs on it meanwhile. On PREEMPT_RT
	 * local_bh_disable() takes a per-CPU lock instead, which the hooks
	 * hold as well: the same exclusion.
	 */
	local_bh_disable();
	purge_local(this_cpu_read(local_stash));
	local_bh_enable();
}

/*
 * At namespace exit, after the dying namespaces' hooks are gone and no
 * longer running (so none of theirs is added after this): the hooks of
 * other namespaces would count on a dying namespace's entry when they drop
 * it, after its counters are freed.
 */
void hoplat_stash_purge(void)
{
	unsigned int s;
	int cpu;

	mutex_lock(&purge_lock);
	cpus_read_lock();
	for_each_online_cpu(cpu)
		schedule_work_on(cpu, per_cpu_ptr(&purge_work, cpu));
	/* No hook runs on an offline CPU, and none comes up while we hold cpus_read_lock. */
	for_each_possible_cpu(cpu)
		if (!cpu_online(cpu))
			purge_local(per_cpu(local_stash, cpu));
	for_each_online_cpu(cpu)
		flush_work(per_cpu_ptr(&purge_work, cpu));
	cpus_read_unlock();
	for (s = 0; s < ARRAY_SIZE(shared); s++) {
		spin_lock_bh(&shared[s].lock);
		purge_set(shared[s].skb, shared_entry[s], SHARED_WAYS);
		spin_unlock_bh(&shared[s].lock);
	}
	mutex_unlock(&purge_lock);
}
