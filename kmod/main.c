// SPDX-License-Identifier: GPL-2.0
/*
 * hoplat: per-packet arrival and exit timestamps with an invariant hash, for
 * per-hop latency across routers. Module init and exit only: each part
 * sets itself up in its own file. See docs/architecture.md.
 */
#include <linux/init.h>
#include <linux/module.h>
#include <linux/printk.h>
#include <linux/rcupdate.h>

#include "hoplat.h"

static int __init hoplat_module_init(void)
{
	int err;

	err = hoplat_ring_init();
	if (err)
		return err;
	err = hoplat_stash_init();
	if (err)
		return err;
	err = hoplat_handoff_init();
	if (err)
		goto stash_exit;
	err = hoplat_netns_init();
	if (err)
		goto handoff_exit;
	err = hoplat_netlink_init();
	if (err)
		goto netns_exit;
	err = hoplat_chardev_init();
	if (err)
		goto netlink_exit;
	pr_info("hoplat: loaded (ring %u records per CPU)\n", hoplat_ring_records);
	return 0;
netlink_exit:
	hoplat_netlink_exit();
netns_exit:
	hoplat_netns_exit();
handoff_exit:
	hoplat_handoff_exit();
stash_exit:
	hoplat_stash_exit();
	return err;
}

static void __exit hoplat_module_exit(void)
{
	hoplat_chardev_exit();
	hoplat_netlink_exit();
	hoplat_netns_exit();	/* no hook runs after this */
	hoplat_handoff_exit();
	hoplat_stash_exit();
	rcu_barrier();	/* kfree_rcu() of configurations */
}

module_init(hoplat_module_init);
module_exit(hoplat_module_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("hoplat: per-hop packet latency (arrival/exit timestamps, invariant hash)");
MODULE_VERSION("0.1.0");
