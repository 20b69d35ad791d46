// SPDX-License-Identifier: GPL-2.0
/*
 * Per-CPU record rings of one network namespace.
 *
 * Each ring has one producer (the hooks on its CPU, with BH disabled, so
 * they never run concurrently on it) and one consumer (the one reader of the
 * namespace), so head and tail need no lock: the producer publishes a record
 * with a release store of head, the consumer frees slots with a release
 * store of tail. A full ring refuses the record (the caller counts a drop):
 * the packet never waits.
 */
#include <linux/cpumask.h>
#include <linux/log2.h>
#include <linux/mm.h>
#include <linux/moduleparam.h>
#include <linux/percpu.h>
#include <linux/printk.h>
#include <linux/slab.h>
#include <linux/uaccess.h>

#include "hoplat.h"
#include "ring_core.h"

unsigned int hoplat_ring_records = 4096;
module_param_named(ring_records, hoplat_ring_records, uint, 0444);
MODULE_PARM_DESC(ring_records, "Records per CPU ring (power of two, 64..1048576; default 4096)");

struct hoplat_rings {
	struct hoplat_ring __percpu *pcpu;
	u32 mask;
};

/* At module load, before anything else: checks ring_records. */
int hoplat_ring_init(void)
{
	if (!is_power_of_2(hoplat_ring_records) || hoplat_ring_records < 64 ||
	    hoplat_ring_records > (1U << 20)) {
		pr_err("hoplat: ring_records must be a power of two in 64..1048576\n");
		return -EINVAL;
	}
	return 0;
}

struct hoplat_rings *hoplat_rings_alloc(unsigned int records)
{
	struct hoplat_rings *rings = kzalloc(sizeof(*rings), GFP_KERNEL);
	int cpu;

	if (!rings)
		return NULL;
	rings->mask = records - 1;
	rings->pcpu = alloc_percpu(struct hoplat_ring);
	if (!rings->pcpu)
		goto fail;
	for_each_possible_cpu(cpu) {
		struct hoplat_ring *r = per_cpu_ptr(rings->pcpu, cpu);

		r->slots = kvmalloc_node(array_size(records, sizeof(struct hoplat_record)),
					 GFP_KERNEL, cpu_to_node(cpu));
		if (!r->slots)
			goto fail;
	}
	return rings;
fail:
	hoplat_rings_free(rings);
	return NULL;
}

u64 hoplat_rings_unread(struct hoplat_rings *rings)
{
	u64 unread = 0;
	int cpu;

	for_each_possible_cpu(cpu) {
		const struct hoplat_ring *r = per_cpu_ptr(rings->pcpu, cpu);

		unread += (u32)(READ_ONCE(r->head) - READ_ONCE(r->tail));
	}
	return unread;
}

void hoplat_rings_free(struct hoplat_rings *rings)
{
	int cpu;

	if (!rings)
		return;
	if (rings->pcpu) {
		for_each_possible_cpu(cpu)
			kvfree(per_cpu_ptr(rings->pcpu, cpu)->slots);
		free_percpu(rings->pcpu);
	}
	kfree(rings);
}

/* BH disabled: this CPU's ring has one producer at a time. */
bool hoplat_rings_push(struct hoplat_rings *rings, const struct hoplat_record *rec, bool *wake)
{
	return hoplat_ring_push(this_cpu_ptr(rings->pcpu), rings->mask, rec, wake);
}

void hoplat_deliver(struct hoplat_net *hn, const struct hoplat_record *rec, bool *wake)
{
	struct hoplat_rings *rings;

	/* The hooks hold it already; a tracepoint probe holds only preemption. */
	rcu_read_lock();
	rings = rcu_dereference(hn->rings);
	if (!rings)
		HOPLAT_COUNT(hn, no_reader);
	else if (!hoplat_rings_push(rings, rec, wake))
		HOPLAT_COUNT(hn, ring_drops);
	rcu_read_unlock();
}

bool hoplat_rings_empty(struct hoplat_rings *rings)
{
	int cpu;

	for_each_possible_cpu(cpu) {
		struct hoplat_ring *r = per_cpu_ptr(rings->pcpu, cpu);

		if (smp_load_acquire(&r->head) != READ_ONCE(r->tail))
			return false;
	}
	return true;
}

/*
 * Copies up to `records` whole records to user memory, taking every CPU's
 * ring in turn from *next_cpu so that no CPU starves the others. Process
 * context, the namespace's only reader. Returns bytes copied or -EFAULT.
 */
ssize_t hoplat_rings_read(struct hoplat_rings *rings, char __user *buf, size_t records,
			  unsigned int *next_cpu)
{
	const size_t rec = sizeof(struct hoplat_record);
	unsigned int n_cpus = nr_cpu_ids, i;
	size_t done = 0;

	for (i = 0; i < n_cpus && done < records; i++) {
		unsigned int cpu = (*next_cpu + i) % n_cpus;
		struct hoplat_ring *r;
		u32 head, tail, take, first;

		if (!cpu_possible(cpu))
			continue;
		r = per_cpu_ptr(rings->pcpu, cpu);
		head = smp_load_acquire(&r->head);
		tail = r->tail;
		if (WARN_ON_ONCE(head - tail > rings->mask + 1))
			return -EIO;	/* cannot happen with one consumer: never copy past slots */
		take = min_t(size_t, head - tail, records - done);
		if (!take)
			continue;
		/* At most two runs: up to the end of the slot array, then from its start. */
		first = min(take, rings->mask + 1 - (tail & rings->mask));
		if (copy_to_user(buf + done * rec, &r->slots[tail & rings->mask], first * rec))
			return done ? (ssize_t)(done * rec) : -EFAULT;
		if (take > first &&
		    copy_to_user(buf + (done + first) * rec, &r->slots[0], (take - first) * rec)) {
			smp_store_release(&r->tail, tail + first);
			done += first;
			return (ssize_t)(done * rec);
		}
		smp_store_release(&r->tail, tail + take);
		done += take;
	}
	*next_cpu = (*next_cpu + 1) % n_cpus;
	return (ssize_t)(done * rec);
}
