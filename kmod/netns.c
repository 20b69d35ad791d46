// SPDX-License-Identifier: GPL-2.0
/*
 * Per-namespace state (net_generic): set up in every network namespace,
 * present and future, with its configuration, counters, /proc/net/hoplat
 * and hooks; torn down with the namespace. Also the counters' sum.
 *
 * Tear-down comes in three steps, because the stash's entries refer to
 * their namespace and any namespace's hooks may count on it: pre_exit
 * unregisters the hooks, and the core waits for an RCU grace period (the
 * hooks run inside rcu_read_lock) before exit, so that no hook of the
 * namespace runs any more; exit removes /proc/net/hoplat and marks it
 * dying; exit_batch purges the stash and the hand-off table of the whole
 * batch at once, then frees the counters.
 */
#include <linux/percpu.h>
#include <linux/slab.h>
#include <linux/u64_stats_sync.h>
#include <net/net_namespace.h>

#include "hoplat.h"

unsigned int hoplat_net_id __read_mostly;

void hoplat_read_counters(struct hoplat_net *hn, struct hoplat_counters *out)
{
	u64 stale;
	int cpu;

	memset(out, 0, sizeof(*out));
	for_each_possible_cpu(cpu) {
		const struct hoplat_stats *s = per_cpu_ptr(hn->stats, cpu);
		struct hoplat_counters c;
		unsigned int start;

		do {
			start = u64_stats_fetch_begin(&s->syncp);
			c.seen = u64_stats_read(&s->seen);
			c.sampled = u64_stats_read(&s->sampled);
			c.ring_drops = u64_stats_read(&s->ring_drops);
			c.no_reader = u64_stats_read(&s->no_reader);
			c.parse_errors = u64_stats_read(&s->parse_errors);
			c.unmatched = u64_stats_read(&s->unmatched);
			c.filtered = u64_stats_read(&s->filtered);
			c.stash_full = u64_stats_read(&s->stash_full);
			c.handoff_gso = u64_stats_read(&s->handoff_gso);
			c.handoff_unseen = u64_stats_read(&s->handoff_unseen);
			c.handoff_full = u64_stats_read(&s->handoff_full);
		} while (u64_stats_fetch_retry(&s->syncp, start));
		out->seen += c.seen;
		out->sampled += c.sampled;
		out->ring_drops += c.ring_drops;
		out->no_reader += c.no_reader;
		out->parse_errors += c.parse_errors;
		out->unmatched += c.unmatched;
		out->filtered += c.filtered;
		out->stash_full += c.stash_full;
		out->handoff_gso += c.handoff_gso;
		out->handoff_unseen += c.handoff_unseen;
		out->handoff_full += c.handoff_full;
	}
	out->records_read = atomic64_read(&hn->records_read);
	out->close_discards = atomic64_read(&hn->close_discards);
	/* Entries too old to match are unmatched already; they are counted as
	 * such when dropped, and leave the stash's count then. */
	hoplat_stash_count(hn->net, &out->in_stash, &stale);
	out->unmatched += stale;
	out->in_handoff = hoplat_handoff_count(hn->net);
}

static int __net_init hoplat_net_init(struct net *net)
{
	struct hoplat_net *hn = hoplat_pernet(net);
	struct hoplat_config *cfg;
	int cpu, err;

	hn->net = net;
	mutex_init(&hn->config_lock);
	init_waitqueue_head(&hn->wait);
	timer_setup(&hn->flush_timer, hoplat_flush_timer_fn, 0);
	init_irq_work(&hn->wake_work, hoplat_wake_work_fn);
	hn->stats = alloc_percpu(struct hoplat_stats);
	if (!hn->stats)
		return -ENOMEM;
	for_each_possible_cpu(cpu)
		u64_stats_init(&per_cpu_ptr(hn->stats, cpu)->syncp);
	cfg = kzalloc(sizeof(*cfg), GFP_KERNEL);
	if (!cfg) {
		err = -ENOMEM;
		goto free_stats;
	}
	cfg->enabled = true;
	cfg->sample_one_in = 1;
	cfg->paths = HOPLAT_PATH_ALL;
	cfg->key = hoplat_default_key;
	RCU_INIT_POINTER(hn->config, cfg);
	err = hoplat_procfs_net_init(net);
	if (err)
		goto free_cfg;
	err = nf_register_net_hooks(net, hoplat_hook_ops, hoplat_hook_ops_count);
	if (err)
		goto remove_proc;
	return 0;
remove_proc:
	hoplat_procfs_net_exit(net);
free_cfg:
	kfree(cfg);
free_stats:
	free_percpu(hn->stats);
	return err;
}

static void __net_exit hoplat_net_pre_exit(struct net *net)
{
	/* The core's grace period follows, before exit: no hook runs after it. */
	nf_unregister_net_hooks(net, hoplat_hook_ops, hoplat_hook_ops_count);
}

static void __net_exit hoplat_net_exit(struct net *net)
{
	struct hoplat_net *hn = hoplat_pernet(net);

	hoplat_procfs_net_exit(net);
	/* A reader holds a reference on its namespace: none can be open here. */
	WARN_ON(atomic_read(&hn->reader_open));
	hn->dying = true;
}

static void __net_exit hoplat_net_exit_batch(struct list_head *net_exit_list)
{
	struct net *net;

	/* Once for the batch (a namespace churn exits many at once). The
	 * entries' own counts die with their namespace: nobody can read them. */
	hoplat_stash_purge();
	hoplat_handoff_purge();
	list_for_each_entry(net, net_exit_list, exit_list) {
		struct hoplat_net *hn = hoplat_pernet(net);

		/* Queued by a claimer that finished before the purge's grace period. */
		irq_work_sync(&hn->wake_work);
		kfree(rcu_dereference_protected(hn->config, true));
		free_percpu(hn->stats);
	}
}

static struct pernet_operations hoplat_net_ops = {
	.init = hoplat_net_init,
	.pre_exit = hoplat_net_pre_exit,
	.exit = hoplat_net_exit,
	.exit_batch = hoplat_net_exit_batch,
	.id = &hoplat_net_id,
	.size = sizeof(struct hoplat_net),
};

int hoplat_netns_init(void)
{
	return register_pernet_subsys(&hoplat_net_ops);
}

/* Tears down every namespace's state, as at its exit: no hook runs after this. */
void hoplat_netns_exit(void)
{
	unregister_pernet_subsys(&hoplat_net_ops);
}
