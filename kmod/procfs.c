// SPDX-License-Identifier: GPL-2.0
/* /proc/net/hoplat: the namespace's configuration and counters, for people. */
#include <linux/proc_fs.h>
#include <linux/seq_file.h>

#include "hoplat.h"

static int hoplat_proc_show(struct seq_file *m, void *v)
{
	struct net *net = seq_file_single_net(m);
	struct hoplat_net *hn = hoplat_pernet(net);
	const struct hoplat_config *cfg;
	struct hoplat_counters c;

	hoplat_read_counters(hn, &c);
	rcu_read_lock();
	cfg = rcu_dereference(hn->config);
	seq_printf(m, "enabled %u\nsample_one_in %u\npaths 0x%x\nreader %s\n", cfg->enabled,
		   cfg->sample_one_in, cfg->paths, atomic_read(&hn->reader_open) ? "open" : "none");
	rcu_read_unlock();
	seq_printf(m, "packets_seen %llu\npackets_sampled %llu\nring_drops %llu\nno_reader %llu\n"
		      "parse_errors %llu\nunmatched %llu\nrecords_read %llu\nfiltered %llu\n"
		      "close_discards %llu\nstash_full %llu\nin_stash %llu\nhandoff_gso %llu\n"
		      "handoff_unseen %llu\nhandoff_full %llu\nin_handoff %llu\n",
		   c.seen, c.sampled, c.ring_drops, c.no_reader, c.parse_errors, c.unmatched,
		   c.records_read, c.filtered, c.close_discards, c.stash_full, c.in_stash,
		   c.handoff_gso, c.handoff_unseen, c.handoff_full, c.in_handoff);
	return 0;
}

int hoplat_procfs_net_init(struct net *net)
{
	if (!proc_create_net_single("hoplat", 0444, net->proc_net, hoplat_proc_show, NULL))
		return -ENOMEM;
	return 0;
}

void hoplat_procfs_net_exit(struct net *net)
{
	remove_proc_entry("hoplat", net->proc_net);
}
