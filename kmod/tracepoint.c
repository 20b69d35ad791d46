// SPDX-License-Identifier: GPL-2.0
/*
 * Kernel tracepoints by name. The ones after the qdisc (net_dev_start_xmit)
 * are not exported to modules as symbols, so register_trace_<name>() cannot
 * link; the core's list of its own tracepoints can be walked instead
 * (for_each_kernel_tracepoint), and tracepoint_probe_register() attaches a
 * probe to what it finds, as lttng-modules does. A probe's prototype is
 * checked at compile time by its user (check_trace_callback_type_<name>).
 */
#include <linux/string.h>
#include <linux/tracepoint.h>

#include "hoplat.h"

struct tracepoint_lookup {
	const char *name;
	struct tracepoint *found;
};

static void match_tracepoint(struct tracepoint *tp, void *priv)
{
	struct tracepoint_lookup *l = priv;

	if (!l->found && !strcmp(tp->name, l->name))
		l->found = tp;
}

struct tracepoint *hoplat_tracepoint_find(const char *name)
{
	struct tracepoint_lookup l = { .name = name };

	for_each_kernel_tracepoint(match_tracepoint, &l);
	return l.found;
}
