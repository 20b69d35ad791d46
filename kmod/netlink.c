// SPDX-License-Identifier: GPL-2.0
/*
 * Generic netlink family "hoplat": get and set the configuration of the
 * caller's network namespace, and read its counters. Changes need
 * CAP_NET_ADMIN in the namespace's user namespace. Attributes are checked by
 * policy before any handler runs: malformed messages get EINVAL or ERANGE.
 */
#include <linux/slab.h>
#include <net/genetlink.h>
#include <net/netlink.h>

#include "hoplat.h"

static const struct nla_policy hoplat_policy[HOPLAT_A_MAX + 1] = {
	[HOPLAT_A_ENABLED] = NLA_POLICY_MAX(NLA_U8, 1),
	[HOPLAT_A_SAMPLE_ONE_IN] = NLA_POLICY_MIN(NLA_U32, 1),
	[HOPLAT_A_HASH_KEY] = NLA_POLICY_EXACT_LEN(HOPLAT_KEY_LEN),
	[HOPLAT_A_PATHS] = NLA_POLICY_MASK(NLA_U32, HOPLAT_PATH_ALL),
};

static struct genl_family hoplat_family;

/* The key only to CAP_NET_ADMIN: with it, anyone could craft packets that
 * are always, or never, sampled. */
static int put_config(struct sk_buff *msg, const struct hoplat_config *c, bool with_key)
{
	if (nla_put_u8(msg, HOPLAT_A_ENABLED, c->enabled) ||
	    nla_put_u32(msg, HOPLAT_A_SAMPLE_ONE_IN, c->sample_one_in) ||
	    (with_key && nla_put(msg, HOPLAT_A_HASH_KEY, HOPLAT_KEY_LEN, c->key.bytes)) ||
	    nla_put_u32(msg, HOPLAT_A_PATHS, c->paths))
		return -EMSGSIZE;
	return 0;
}

static int put_counters(struct sk_buff *msg, struct hoplat_net *hn)
{
	struct hoplat_counters c;

	hoplat_read_counters(hn, &c);
	if (nla_put_u64_64bit(msg, HOPLAT_A_PACKETS_SEEN, c.seen, HOPLAT_A_PAD) ||
	    nla_put_u64_64bit(msg, HOPLAT_A_PACKETS_SAMPLED, c.sampled, HOPLAT_A_PAD) ||
	    nla_put_u64_64bit(msg, HOPLAT_A_RING_DROPS, c.ring_drops, HOPLAT_A_PAD) ||
	    nla_put_u64_64bit(msg, HOPLAT_A_NO_READER, c.no_reader, HOPLAT_A_PAD) ||
	    nla_put_u64_64bit(msg, HOPLAT_A_PARSE_ERRORS, c.parse_errors, HOPLAT_A_PAD) ||
	    nla_put_u64_64bit(msg, HOPLAT_A_UNMATCHED, c.unmatched, HOPLAT_A_PAD) ||
	    nla_put_u64_64bit(msg, HOPLAT_A_FILTERED, c.filtered, HOPLAT_A_PAD) ||
	    nla_put_u64_64bit(msg, HOPLAT_A_CLOSE_DISCARDS, c.close_discards, HOPLAT_A_PAD) ||
	    nla_put_u64_64bit(msg, HOPLAT_A_STASH_FULL, c.stash_full, HOPLAT_A_PAD) ||
	    nla_put_u64_64bit(msg, HOPLAT_A_IN_STASH, c.in_stash, HOPLAT_A_PAD) ||
	    nla_put_u64_64bit(msg, HOPLAT_A_HANDOFF_GSO, c.handoff_gso, HOPLAT_A_PAD) ||
	    nla_put_u64_64bit(msg, HOPLAT_A_HANDOFF_UNSEEN, c.handoff_unseen, HOPLAT_A_PAD) ||
	    nla_put_u64_64bit(msg, HOPLAT_A_HANDOFF_FULL, c.handoff_full, HOPLAT_A_PAD) ||
	    nla_put_u64_64bit(msg, HOPLAT_A_IN_HANDOFF, c.in_handoff, HOPLAT_A_PAD) ||
	    nla_put_u64_64bit(msg, HOPLAT_A_RECORDS_READ, c.records_read, HOPLAT_A_PAD))
		return -EMSGSIZE;
	return 0;
}

static int reply(struct sk_buff *skb, struct genl_info *info, u8 cmd, struct hoplat_net *hn)
{
	struct sk_buff *msg = genlmsg_new(NLMSG_GOODSIZE, GFP_KERNEL);
	void *hdr;
	int err;

	if (!msg)
		return -ENOMEM;
	hdr = genlmsg_put_reply(msg, info, &hoplat_family, 0, cmd);
	if (!hdr) {
		nlmsg_free(msg);
		return -EMSGSIZE;
	}
	if (cmd == HOPLAT_CMD_GET_COUNTERS) {
		err = put_counters(msg, hn);
	} else {
		bool with_key = netlink_ns_capable(skb, hn->net->user_ns, CAP_NET_ADMIN);

		rcu_read_lock();
		err = put_config(msg, rcu_dereference(hn->config), with_key);
		rcu_read_unlock();
	}
	if (err) {
		nlmsg_free(msg);
		return err;
	}
	genlmsg_end(msg, hdr);
	return genlmsg_reply(msg, info);
}

static int hoplat_get_config(struct sk_buff *skb, struct genl_info *info)
{
	return reply(skb, info, HOPLAT_CMD_GET_CONFIG, hoplat_pernet(genl_info_net(info)));
}

static int hoplat_get_counters(struct sk_buff *skb, struct genl_info *info)
{
	return reply(skb, info, HOPLAT_CMD_GET_COUNTERS, hoplat_pernet(genl_info_net(info)));
}

static int hoplat_set_config(struct sk_buff *skb, struct genl_info *info)
{
	struct hoplat_net *hn = hoplat_pernet(genl_info_net(info));
	struct hoplat_config *old, *new;
	struct nlattr **a = info->attrs;

	if (!a[HOPLAT_A_ENABLED] && !a[HOPLAT_A_SAMPLE_ONE_IN] && !a[HOPLAT_A_HASH_KEY] &&
	    !a[HOPLAT_A_PATHS]) {
		GENL_SET_ERR_MSG(info, "nothing to set");
		return -EINVAL;
	}
	mutex_lock(&hn->config_lock);
	old = rcu_dereference_protected(hn->config, lockdep_is_held(&hn->config_lock));
	new = kmemdup(old, sizeof(*old), GFP_KERNEL);
	if (!new) {
		mutex_unlock(&hn->config_lock);
		return -ENOMEM;
	}
	if (a[HOPLAT_A_ENABLED])
		new->enabled = nla_get_u8(a[HOPLAT_A_ENABLED]);
	if (a[HOPLAT_A_SAMPLE_ONE_IN])
		new->sample_one_in = nla_get_u32(a[HOPLAT_A_SAMPLE_ONE_IN]);
	if (a[HOPLAT_A_HASH_KEY])
		nla_memcpy(new->key.bytes, a[HOPLAT_A_HASH_KEY], HOPLAT_KEY_LEN);
	if (a[HOPLAT_A_PATHS])
		new->paths = nla_get_u32(a[HOPLAT_A_PATHS]);
	rcu_assign_pointer(hn->config, new);
	mutex_unlock(&hn->config_lock);
	kfree_rcu(old, rcu);
	return 0;
}

static const struct genl_small_ops hoplat_ops[] = {
	{ .cmd = HOPLAT_CMD_GET_CONFIG, .doit = hoplat_get_config },
	{ .cmd = HOPLAT_CMD_SET_CONFIG, .doit = hoplat_set_config, .flags = GENL_UNS_ADMIN_PERM },
	{ .cmd = HOPLAT_CMD_GET_COUNTERS, .doit = hoplat_get_counters },
};

static struct genl_family hoplat_family __ro_after_init = {
	.name = HOPLAT_GENL_NAME,
	.version = HOPLAT_GENL_VERSION,
	.maxattr = HOPLAT_A_MAX,
	.policy = hoplat_policy,
	.netnsok = true,
	.module = THIS_MODULE,
	.small_ops = hoplat_ops,
	.n_small_ops = ARRAY_SIZE(hoplat_ops),
	/* Every command is new: the header's reserved field is checked too. */
	.resv_start_op = HOPLAT_CMD_GET_CONFIG,
};

int hoplat_netlink_init(void)
{
	return genl_register_family(&hoplat_family);
}

void hoplat_netlink_exit(void)
{
	genl_unregister_family(&hoplat_family);
}
