// SPDX-License-Identifier: GPL-2.0
/*
 * The netfilter hooks: arrival at PRE_ROUTING and LOCAL_OUT (first of all
 * hooks), exit at POST_ROUTING and LOCAL_IN (last of all, after NAT and
 * filtering). A record leaving by POST_ROUTING waits for its hand-off to
 * the driver, after the qdisc (handoff.c). They run in softirq context, or in process context for local
 * traffic: every per-CPU access is made with BH disabled, nothing sleeps,
 * nothing allocates, and no lock is shared with readers.
 */
#include <linux/netfilter_ipv4.h>
#include <linux/netfilter_ipv6.h>
#include <linux/netdevice.h>
#include <linux/skbuff.h>
#include <linux/smp.h>
#include <linux/timekeeping.h>
#include <net/dst.h>

#include "hoplat.h"

const void *hoplat_skb_read(const void *ctx, u32 offset, u32 len, void *buf)
{
	const struct sk_buff *skb = ctx;

	return skb_header_pointer(skb, skb_network_offset(skb) + offset, len, buf);
}

/* The MTU ip_finish_output and ip6_finish_output hold a packet to. */
static unsigned int egress_mtu(const struct sk_buff *skb, const struct net_device *out)
{
	const struct dst_entry *dst = skb_dst(skb);

	return dst ? dst_mtu(dst) : out->mtu;
}

/*
 * A GSO packet that the stack segments after POST_ROUTING: for a device
 * without that offload (validate_xmit_skb), or larger than the MTU
 * (ip_finish_output_gso).
 */
static bool leaves_as_segments(struct sk_buff *skb, const struct net_device *out)
{
	return skb_is_gso(skb) && (netif_needs_gso(skb, netif_skb_features(skb)) ||
				   !skb_gso_validate_network_len(skb, egress_mtu(skb, out)));
}

/*
 * A packet that goes on to the driver as other skbs, known at POST_ROUTING:
 * fragments of one larger than the MTU; or, with too little headroom for
 * the link-layer header, the expanded copy that ip_finish_output2 and
 * ip6_finish_output2 make of an skb that is shared or that no socket owns
 * (skb_expand_head; a socket's own skb is expanded in place).
 */
static bool leaves_as_copy(const struct sk_buff *skb, const struct net_device *out)
{
	if (!skb_is_gso(skb) && skb->len > egress_mtu(skb, out))
		return true;
	return unlikely(skb_headroom(skb) < LL_RESERVED_SPACE(out) && out->header_ops &&
			(!skb->sk || skb_shared(skb)));
}

static u32 family_bit(const struct nf_hook_state *state)
{
	return state->pf == NFPROTO_IPV6 ? HOPLAT_PATH_IPV6 : HOPLAT_PATH_IPV4;
}

static unsigned int hoplat_arrival_hook(void *priv, struct sk_buff *skb,
					const struct nf_hook_state *state)
{
	struct hoplat_net *hn = hoplat_pernet(state->net);
	const struct hoplat_config *cfg = rcu_dereference(hn->config);
	bool local_out = state->hook == NF_INET_LOCAL_OUT;
	struct hoplat_pkt_info info;
	struct hoplat_stashed_arrival a;
	u32 gso_size;

	local_bh_disable();
	/* Whatever a dropped packet left at this address is not ours (it is
	 * counted in its own namespace). */
	hoplat_stash_forget(skb);
	hoplat_handoff_forget(skb);
	if (!cfg || !cfg->enabled || !(cfg->paths & family_bit(state)) ||
	    (local_out && !(cfg->paths & HOPLAT_PATH_LOCAL_OUT)))
		goto out;
	HOPLAT_COUNT(hn, seen);
	/* A GRO/GSO aggregate hashes like its first segment (see hash-fields.md). */
	gso_size = skb_is_gso(skb) ? skb_shinfo(skb)->gso_size : 0;
	if (hoplat_hash_packet(&cfg->key, state->pf == NFPROTO_IPV6, hoplat_skb_read, skb,
			       skb->len - skb_network_offset(skb), gso_size, &info)) {
		HOPLAT_COUNT(hn, parse_errors);
		goto out;
	}
	if (!hoplat_sampled(info.hash, cfg->sample_one_in))
		goto out;
	HOPLAT_COUNT(hn, sampled);
	a.hash = info.hash;
	a.arrival_mono = ktime_get_ns();
	/*
	 * The wall-clock time of that same instant, not a second reading: a
	 * vCPU (or an RT thread) preempted between two readings would put ms
	 * between them, and exit - arrival would no longer be the residence
	 * (or the residence plus a clock step that landed inside it).
	 */
	a.arrival_real = ktime_to_ns(ktime_mono_to_real(ns_to_ktime(a.arrival_mono)));
	a.ifindex_in = local_out || !state->in ? 0 : state->in->ifindex;
	a.length = info.length;
	a.flags = info.flags;
	a.gso_segs = skb_is_gso(skb) ? skb_shinfo(skb)->gso_segs : 1;
	a.ttl = info.ttl;
	a.local_out = local_out;
	hoplat_stash_put(state->net, skb, &a);
out:
	local_bh_enable();
	return NF_ACCEPT;
}

static unsigned int hoplat_exit_hook(void *priv, struct sk_buff *skb,
				     const struct nf_hook_state *state)
{
	struct hoplat_net *hn = hoplat_pernet(state->net);
	const struct hoplat_config *cfg = rcu_dereference(hn->config);
	bool local_in = state->hook == NF_INET_LOCAL_IN;
	struct hoplat_record rec;
	struct hoplat_stashed_arrival a;
	bool wake = false;
	u64 now_mono;
	u32 path;

	local_bh_disable();
	now_mono = ktime_get_ns();
	if (!hoplat_stash_take(state->net, skb, now_mono, !local_in, &a))
		goto out;
	path = a.local_out ? HOPLAT_PATH_LOCAL_OUT : local_in ? HOPLAT_PATH_LOCAL_IN :
								HOPLAT_PATH_FORWARD;
	if (!cfg || !cfg->enabled || !(cfg->paths & path)) {
		/* Sampled at arrival, but this path is not recorded (--paths). */
		HOPLAT_COUNT(hn, filtered);
		goto out;
	}

	rec.hash = a.hash;
	rec.arrival_ns = a.arrival_real;
	rec.exit_ns = ktime_to_ns(ktime_mono_to_real(ns_to_ktime(now_mono)));  /* as at arrival */
	rec.residence_ns = now_mono - a.arrival_mono;
	rec.ifindex_in = a.ifindex_in;
	rec.ifindex_out = local_in || !state->out ? 0 : state->out->ifindex;
	rec.length = a.length;
	rec.flags = a.flags | (a.local_out ? HOPLAT_F_LOCAL_OUT :
			       local_in ? HOPLAT_F_LOCAL_IN : HOPLAT_F_FORWARDED);
	rec.gso_segs = a.gso_segs;
	rec.version = HOPLAT_RECORD_VERSION;
	rec.ttl = a.ttl;
	rec.cpu = smp_processor_id();
	rec.queue_ns = 0;

	if (local_in || !state->out || !hoplat_handoff_enabled()) {
		hoplat_deliver(hn, &rec, &wake);
	} else if (leaves_as_segments(skb, state->out)) {
		/* Segmented in software before the driver: the segments are new skbs. */
		rec.flags |= HOPLAT_F_SW_GSO;
		HOPLAT_COUNT(hn, handoff_gso);
		hoplat_deliver(hn, &rec, &wake);
	} else if (leaves_as_copy(skb, state->out)) {
		HOPLAT_COUNT(hn, handoff_unseen);
		hoplat_deliver(hn, &rec, &wake);
	} else {
		/* Leaves at its hand-off to the driver, after the qdisc. */
		hoplat_handoff_put(state->net, skb, state->out, now_mono, &rec);
	}
out:
	local_bh_enable();
	if (wake)
		wake_up_interruptible(&hn->wait);
	return NF_ACCEPT;
}

const struct nf_hook_ops hoplat_hook_ops[] = {
	{ .hook = hoplat_arrival_hook, .pf = NFPROTO_IPV4, .hooknum = NF_INET_PRE_ROUTING,
	  .priority = NF_IP_PRI_FIRST },
	{ .hook = hoplat_arrival_hook, .pf = NFPROTO_IPV4, .hooknum = NF_INET_LOCAL_OUT,
	  .priority = NF_IP_PRI_FIRST },
	{ .hook = hoplat_exit_hook, .pf = NFPROTO_IPV4, .hooknum = NF_INET_POST_ROUTING,
	  .priority = NF_IP_PRI_LAST },
	{ .hook = hoplat_exit_hook, .pf = NFPROTO_IPV4, .hooknum = NF_INET_LOCAL_IN,
	  .priority = NF_IP_PRI_LAST },
	{ .hook = hoplat_arrival_hook, .pf = NFPROTO_IPV6, .hooknum = NF_INET_PRE_ROUTING,
	  .priority = NF_IP6_PRI_FIRST },
	{ .hook = hoplat_arrival_hook, .pf = NFPROTO_IPV6, .hooknum = NF_INET_LOCAL_OUT,
	  .priority = NF_IP6_PRI_FIRST },
	{ .hook = hoplat_exit_hook, .pf = NFPROTO_IPV6, .hooknum = NF_INET_POST_ROUTING,
	  .priority = NF_IP6_PRI_LAST },
	{ .hook = hoplat_exit_hook, .pf = NFPROTO_IPV6, .hooknum = NF_INET_LOCAL_IN,
	  .priority = NF_IP6_PRI_LAST },
};
const unsigned int hoplat_hook_ops_count = ARRAY_SIZE(hoplat_hook_ops);
