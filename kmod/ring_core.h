/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The producer side of a record ring, shared by ring.c and the userspace
 * benchmark (bench/pkthash_bench.cc) so that the measured path is the real one.
 */
#ifndef HOPLAT_RING_CORE_H
#define HOPLAT_RING_CORE_H

#include "include/uapi/linux/hoplat.h"
#include "pkthash.h"

#ifdef __KERNEL__
#include <asm/barrier.h>
#define hoplat_load_acquire(p) smp_load_acquire(p)
#define hoplat_store_release(p, v) smp_store_release(p, v)
#else
#define hoplat_load_acquire(p) __atomic_load_n(p, __ATOMIC_ACQUIRE)
#define hoplat_store_release(p, v) __atomic_store_n(p, v, __ATOMIC_RELEASE)
#endif

struct hoplat_ring {
	struct hoplat_record *slots;	/* read-only after allocation */
	u32 head;			/* written by the producer */
	u32 pad[13];			/* keep tail on its own cache line */
	u32 tail;			/* written by the consumer */
};

/* One producer per ring. *wake is set when the ring just reached half full. */
static inline bool hoplat_ring_push(struct hoplat_ring *r, u32 mask,
				    const struct hoplat_record *rec, bool *wake)
{
	u32 head = r->head;
	u32 used = head - hoplat_load_acquire(&r->tail);

	if (used > mask)
		return false;
	r->slots[head & mask] = *rec;
	hoplat_store_release(&r->head, head + 1);
	*wake = used + 1 == (mask + 1) / 2;
	return true;
}

#endif /* HOPLAT_RING_CORE_H */
