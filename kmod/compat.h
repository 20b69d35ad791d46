/* SPDX-License-Identifier: GPL-2.0 */
/* Kernel-version differences, and nowhere else. Built against Debian's 6.1. */
#ifndef HOPLAT_COMPAT_H
#define HOPLAT_COMPAT_H

#include <linux/version.h>
#include <linux/timer.h>

/* timer_shutdown_sync() arrived in 6.2; before it, del_timer_sync() plus the
 * caller's own "do not re-arm" flag does the same. */
#if LINUX_VERSION_CODE < KERNEL_VERSION(6, 2, 0)
#define hoplat_timer_shutdown_sync(t) del_timer_sync(t)
#else
#define hoplat_timer_shutdown_sync(t) timer_shutdown_sync(t)
#endif

#endif /* HOPLAT_COMPAT_H */
