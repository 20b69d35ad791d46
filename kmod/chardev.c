// SPDX-License-Identifier: GPL-2.0
/*
 * /dev/hoplat: a file is bound to the opener's network namespace and reads
 * only its records. One reader per namespace (a second open() gets EBUSY),
 * so every record goes to exactly one reader. The namespace's rings exist
 * while its reader has the device open. read() returns as many whole
 * records as fit; it blocks until there is at least one (O_NONBLOCK: EAGAIN;
 * a signal interrupts it). Wake-ups are batched: a ring reaching half full,
 * or the flush timer every flush_ms; never one per packet.
 */
#include <linux/fs.h>
#include <linux/miscdevice.h>
#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/mutex.h>
#include <linux/nsproxy.h>
#include <linux/poll.h>
#include <linux/sched.h>
#include <linux/slab.h>

#include "compat.h"
#include "hoplat.h"

static unsigned int hoplat_flush_ms = 10;
module_param_named(flush_ms, hoplat_flush_ms, uint, 0444);
MODULE_PARM_DESC(flush_ms, "Longest a record waits before the reader is woken, ms (default 10)");

struct hoplat_reader {
	struct net *net;
	struct hoplat_net *hn;
	struct hoplat_rings *rings;
	/* The rings have one consumer: threads sharing this file take turns. */
	struct mutex read_lock;
	unsigned int next_cpu;
};

void hoplat_flush_timer_fn(struct timer_list *t)
{
	struct hoplat_net *hn = from_timer(hn, t, flush_timer);
	struct hoplat_rings *rings;

	rcu_read_lock();
	rings = rcu_dereference(hn->rings);
	if (rings && !hoplat_rings_empty(rings))
		wake_up_interruptible(&hn->wait);
	rcu_read_unlock();
	if (READ_ONCE(hn->flushing))
		mod_timer(&hn->flush_timer, jiffies + msecs_to_jiffies(hoplat_flush_ms));
}

void hoplat_wake_work_fn(struct irq_work *work)
{
	struct hoplat_net *hn = container_of(work, struct hoplat_net, wake_work);

	wake_up_interruptible(&hn->wait);
}

static int hoplat_open(struct inode *inode, struct file *file)
{
	struct hoplat_reader *r;
	struct hoplat_net *hn;
	struct net *net;

	r = kzalloc(sizeof(*r), GFP_KERNEL);
	if (!r)
		return -ENOMEM;
	net = get_net(current->nsproxy->net_ns);
	hn = hoplat_pernet(net);
	if (atomic_cmpxchg(&hn->reader_open, 0, 1) != 0) {
		put_net(net);
		kfree(r);
		return -EBUSY;
	}
	r->rings = hoplat_rings_alloc(hoplat_ring_records);
	if (!r->rings) {
		atomic_set(&hn->reader_open, 0);
		put_net(net);
		kfree(r);
		return -ENOMEM;
	}
	mutex_init(&r->read_lock);
	r->net = net;
	r->hn = hn;
	rcu_assign_pointer(hn->rings, r->rings);
	WRITE_ONCE(hn->flushing, true);
	mod_timer(&hn->flush_timer, jiffies + msecs_to_jiffies(hoplat_flush_ms));
	file->private_data = r;
	return nonseekable_open(inode, file);
}

static int hoplat_release(struct inode *inode, struct file *file)
{
	struct hoplat_reader *r = file->private_data;
	struct hoplat_net *hn = r->hn;

	WRITE_ONCE(hn->flushing, false);
	hoplat_timer_shutdown_sync(&hn->flush_timer);
	RCU_INIT_POINTER(hn->rings, NULL);
	synchronize_net();	/* no hook is still pushing into the rings */
	/* Sampled, recorded, never read: accounted for, not lost silently. */
	atomic64_add(hoplat_rings_unread(r->rings), &hn->close_discards);
	hoplat_rings_free(r->rings);
	atomic_set_release(&hn->reader_open, 0);
	put_net(r->net);
	kfree(r);
	return 0;
}

static ssize_t hoplat_read(struct file *file, char __user *buf, size_t count, loff_t *ppos)
{
	struct hoplat_reader *r = file->private_data;
	const size_t records = count / sizeof(struct hoplat_record);
	ssize_t n;
	int err;

	if (records == 0)
		return -EINVAL;
	for (;;) {
		if (mutex_lock_interruptible(&r->read_lock))
			return -ERESTARTSYS;
		n = hoplat_rings_read(r->rings, buf, records, &r->next_cpu);
		mutex_unlock(&r->read_lock);
		if (n != 0) {
			if (n > 0)
				atomic64_add(n / sizeof(struct hoplat_record), &r->hn->records_read);
			return n;
		}
		if (file->f_flags & O_NONBLOCK)
			return -EAGAIN;
		err = wait_event_interruptible(r->hn->wait, !hoplat_rings_empty(r->rings));
		if (err)
			return err;
	}
}

static __poll_t hoplat_poll(struct file *file, poll_table *wait)
{
	struct hoplat_reader *r = file->private_data;

	poll_wait(file, &r->hn->wait, wait);
	return hoplat_rings_empty(r->rings) ? 0 : EPOLLIN | EPOLLRDNORM;
}

static const struct file_operations hoplat_fops = {
	.owner = THIS_MODULE,
	.open = hoplat_open,
	.release = hoplat_release,
	.read = hoplat_read,
	.poll = hoplat_poll,
	.llseek = no_llseek,
};

static struct miscdevice hoplat_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "hoplat",
	.fops = &hoplat_fops,
	.mode = 0600,
};

int hoplat_chardev_init(void)
{
	if (hoplat_flush_ms == 0)	/* before any reader can arm the timer */
		hoplat_flush_ms = 1;
	return misc_register(&hoplat_misc);
}

void hoplat_chardev_exit(void)
{
	misc_deregister(&hoplat_misc);
}
