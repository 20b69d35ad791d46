// SPDX-License-Identifier: GPL-2.0
/*
 * hoplat-probe: the guest side of the VM tests. Static, no libraries: reads
 * /dev/hoplat, captures packets and hashes them with the module's own
 * pkthash.c, sends UDP, and pokes the device and the genetlink family with
 * bad input. Prints one line per fact for the host to parse.
 *
 *   hoplat-probe read STOPFILE [N]      records until STOPFILE exists, then drain;
 *                                       N threads reading the same file
 *   hoplat-probe drain STOPFILE [N]     the same, counting instead of printing
 *   hoplat-probe hold STOPFILE          opens, reads nothing until STOPFILE, then counts
 *   hoplat-probe unread STOPFILE        opens, reads nothing, closes at STOPFILE
 *   hoplat-probe churn STOPFILE         opens and closes the device in a loop
 *   hoplat-probe flood ADDR PORT SECS   UDP datagrams as fast as possible
 *   hoplat-probe clockstep STEP_S HOLD_US SECS
 *                                       steps CLOCK_REALTIME forward by STEP_S and back
 *                                       again, each held HOLD_US, for SECS; ends as it began
 *   hoplat-probe clockset OFFSET_NS PPM steps CLOCK_REALTIME by OFFSET_NS and sets its
 *                                       frequency offset to PPM (a clock of its own)
 *   hoplat-probe hostclock ADDR PORT N [sync]
 *                                       N time exchanges with the lab's UDP time server;
 *                                       prints the fastest: the host's clock minus ours
 *                                       (sync: and steps our clock by it)
 *   hoplat-probe timeserver PORT        the lab's time server (on the host): answers
 *                                       each datagram {t1, 0} with {t1, its own time}
 *   hoplat-probe drainbench STOP1 STOP2 holds the device; at STOP1 times draining with
 *                                       1 MiB reads, at STOP2 with one record per read
 *   hoplat-probe capture IFACE STOPFILE hashes of IP packets received on IFACE
 *   hoplat-probe capture-out IFACE STOPFILE
 *                                       hashes of IP packets IFACE sends, after its qdisc,
 *                                       with the kernel's time stamp of each (ts=, ns)
 *   hoplat-probe udp ADDR PORT COUNT    COUNT datagrams with distinct payloads
 *   hoplat-probe sink PORT STOPFILE     receives (and drops) UDP on PORT, IPv4 and IPv6
 *   hoplat-probe errors                 bad-input checks in this (idle) namespace
 *   hoplat-probe set ATTR=VALUE...      enabled=, one_in=, paths= via genetlink
 *   hoplat-probe counters               genetlink counters of this namespace
 *   hoplat-probe config                 CONFIG paths=0xN one_in=N of this namespace
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/capability.h>
#include <linux/genetlink.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/timex.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "include/uapi/linux/hoplat.h"
#include "pkthash.h"

static int exists(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0;
}

static void print_record(const struct hoplat_record *r)
{
	const char *kind = r->flags & HOPLAT_F_FORWARDED ? "fwd" :
			   r->flags & HOPLAT_F_LOCAL_OUT ? "out" :
			   r->flags & HOPLAT_F_LOCAL_IN ? "in" : "?";

	/* q=-1: no hand-off timed (HOPLAT_F_HANDOFF unset). */
	printf("R hash=%016llx kind=%s arr=%llu exit=%llu res=%llu in=%u out=%u len=%u gso=%u v=%u "
	       "flags=%x ttl=%u q=%lld\n",
	       (unsigned long long)r->hash, kind, (unsigned long long)r->arrival_ns,
	       (unsigned long long)r->exit_ns, (unsigned long long)r->residence_ns, r->ifindex_in,
	       r->ifindex_out, r->length, r->gso_segs, r->version, r->flags, r->ttl,
	       r->flags & HOPLAT_F_HANDOFF ? (long long)r->queue_ns : -1LL);
}

struct reader_args {
	int fd;
	const char *stop;
	int print, hold;
	long total;
	int failed;
};

/* One reading thread; several may share the fd (the device serializes them). */
static void *reader_loop(void *arg)
{
	struct reader_args *a = arg;
	struct hoplat_record *buf = malloc(4096 * sizeof(*buf));
	int stopping = 0;

	for (;;) {
		struct pollfd p = { .fd = a->fd, .events = POLLIN };
		ssize_t n;

		if (!stopping && exists(a->stop))
			stopping = 1;  /* one last drain below, then out */
		if (a->hold && !stopping) {
			usleep(20000);
			continue;
		}
		poll(&p, 1, stopping ? 0 : 100);
		n = read(a->fd, buf, 4096 * sizeof(*buf));
		if (n > 0) {
			flockfile(stdout);
			for (size_t i = 0; a->print && i < (size_t)n / sizeof(buf[0]); i++)
				print_record(&buf[i]);
			funlockfile(stdout);
			a->total += n / (ssize_t)sizeof(buf[0]);
			continue;
		}
		if (n < 0 && errno != EAGAIN) {
			printf("E read %s\n", strerror(errno));
			a->failed = 1;
			break;
		}
		if (stopping)
			break;
	}
	free(buf);
	return NULL;
}

static int cmd_read(const char *stop, int print, int hold, int threads)
{
	struct reader_args args[4];
	pthread_t tid[4];
	int fd = open(HOPLAT_DEVICE, O_RDONLY | O_NONBLOCK), i, failed = 0;
	long total = 0;

	if (fd < 0) {
		printf("E open %s\n", strerror(errno));
		return 1;
	}
	if (threads < 1 || threads > 4)
		threads = 1;
	printf("READY\n");
	fflush(stdout);
	for (i = 0; i < threads; i++) {
		args[i] = (struct reader_args){ .fd = fd, .stop = stop, .print = print, .hold = hold };
		pthread_create(&tid[i], NULL, reader_loop, &args[i]);
	}
	for (i = 0; i < threads; i++) {
		pthread_join(tid[i], NULL);
		total += args[i].total;
		failed |= args[i].failed;
		if (threads > 1)
			printf("THREAD %d records=%ld\n", i, args[i].total);
	}
	printf("TOTAL %ld\n", total);
	return failed;
}

/* Opens the device, reads nothing, and closes it once STOPFILE exists. */
static int cmd_unread(const char *stop)
{
	int fd = open(HOPLAT_DEVICE, O_RDONLY | O_NONBLOCK);

	if (fd < 0) {
		printf("E open %s\n", strerror(errno));
		return 1;
	}
	printf("READY\n");
	fflush(stdout);
	while (access(stop, F_OK) != 0)
		usleep(10000);
	close(fd);
	printf("CLOSED\n");
	return 0;
}

static int cmd_churn(const char *stop)
{
	long opened = 0, busy = 0;

	printf("READY\n");
	while (!exists(stop)) {
		struct hoplat_record rec;
		int fd = open(HOPLAT_DEVICE, O_RDONLY | O_NONBLOCK);

		if (fd < 0) {
			if (errno != EBUSY) {
				printf("E open %s\n", strerror(errno));
				return 1;
			}
			busy++;
			continue;
		}
		opened++;
		while (read(fd, &rec, sizeof(rec)) > 0)
			;
		close(fd);
	}
	printf("CHURN opened=%ld busy=%ld\n", opened, busy);
	return 0;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmd_flood(const char *addr, int port, double secs)
{
	struct sockaddr_in s4 = { .sin_family = AF_INET, .sin_port = htons(port) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	double end = now_s() + secs;
	long sent = 0;
	char msg[32];

	inet_pton(AF_INET, addr, &s4.sin_addr);
	while (now_s() < end) {
		for (int i = 0; i < 64; i++, sent++) {
			int len = snprintf(msg, sizeof(msg), "%08ld flood", sent);

			sendto(fd, msg, len, 0, (struct sockaddr *)&s4, sizeof(s4));
		}
	}
	printf("FLOOD sent=%ld\n", sent);
	return 0;
}

/* CLOCK_REALTIME - CLOCK_MONOTONIC in ns: what a step of the wall clock changes. */
static long long real_minus_mono_ns(void)
{
	struct timespec m1, r, m2;

	clock_gettime(CLOCK_MONOTONIC, &m1);
	clock_gettime(CLOCK_REALTIME, &r);
	clock_gettime(CLOCK_MONOTONIC, &m2);
	return ((long long)r.tv_sec * 1000000000LL + r.tv_nsec) -
	       (((long long)m1.tv_sec + m2.tv_sec) * 1000000000LL + m1.tv_nsec + m2.tv_nsec) / 2;
}

/* Adds `secs` to CLOCK_REALTIME in one atomic step (ADJ_SETOFFSET), as
 * settimeofday would set it but without the read-then-set race: steps that
 * cancel out leave the clock exactly where it was. */
static int step_realtime(long secs)
{
	struct timex tx = { .modes = ADJ_SETOFFSET | ADJ_NANO };

	tx.time.tv_sec = secs;
	tx.time.tv_usec = 0;  /* nanoseconds with ADJ_NANO */
	return adjtimex(&tx) < 0 ? -errno : 0;
}

static int cmd_clockstep(long step_s, long hold_us, double secs)
{
	long long before = real_minus_mono_ns(), after;
	struct timespec next;
	double end = now_s() + secs;
	long steps = 0;
	int rc = 0;

	clock_gettime(CLOCK_MONOTONIC, &next);
	while (now_s() < end && rc == 0) {
		/* Forward, hold, back, hold: an even number of steps in all. */
		for (int dir = 1; dir >= -1 && rc == 0; dir -= 2) {
			rc = step_realtime(dir * step_s);
			if (rc == 0)
				steps++;
			next.tv_nsec += hold_us * 1000;
			while (next.tv_nsec >= 1000000000L) {
				next.tv_nsec -= 1000000000L;
				next.tv_sec++;
			}
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
		}
	}
	if (steps % 2)  /* a failed step back: undo the one forward */
		step_realtime(-step_s);
	after = real_minus_mono_ns();
	printf("CLOCKSTEP steps=%ld rc=%d real_minus_mono_before=%lld after=%lld restored_within_ns=%lld\n",
	       steps, rc, before, after, after > before ? after - before : before - after);
	return rc != 0;
}

static long long realtime_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int cmd_clockset(long long offset_ns, double ppm)
{
	struct timex tx = { .modes = ADJ_SETOFFSET | ADJ_NANO };
	struct timex fx = { .modes = ADJ_FREQUENCY };
	int rc;

	tx.time.tv_sec = offset_ns / 1000000000LL;
	tx.time.tv_usec = offset_ns % 1000000000LL;  /* nanoseconds with ADJ_NANO */
	if (tx.time.tv_usec < 0) {
		tx.time.tv_sec--;
		tx.time.tv_usec += 1000000000L;
	}
	rc = adjtimex(&tx) < 0 ? -errno : 0;
	fx.freq = (long)(ppm * 65536.0);  /* ppm with 16 fractional bits */
	if (rc == 0)
		rc = adjtimex(&fx) < 0 ? -errno : 0;
	printf("CLOCKSET offset_ns=%lld ppm=%g rc=%d\n", offset_ns, ppm, rc);
	return rc != 0;
}

/*
 * NTP's exchange with the lab's time server (tests/lab/lab_test.cc): we
 * send our time t1, it answers with t1 and its own time T, we read t4. The
 * host's clock minus ours was T - (t1 + t4) / 2, to within (t4 - t1) / 2;
 * the fastest of N exchanges is printed.
 */
static int cmd_hostclock(const char *addr, int port, int n, int sync)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port) };
	long long best_rtt = -1, best_offset = 0, best_t = 0;
	struct timeval tv = { .tv_sec = 0, .tv_usec = 200000 };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
		return 1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	for (int i = 0; i < n; i++) {
		long long msg[2] = { realtime_ns(), 0 }, reply[2];
		long long t4;

		if (sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			continue;
		if (recv(fd, reply, sizeof(reply), 0) != sizeof(reply) || reply[0] != msg[0])
			continue;
		t4 = realtime_ns();
		if (best_rtt < 0 || t4 - msg[0] < best_rtt) {
			best_rtt = t4 - msg[0];
			best_offset = reply[1] - (msg[0] + t4) / 2;
			best_t = reply[1];
		}
		usleep(5000);
	}
	close(fd);
	if (best_rtt < 0) {
		printf("HOSTCLOCK none\n");
		return 1;
	}
	printf("HOSTCLOCK host_ns=%lld host_minus_guest_ns=%lld within_ns=%lld\n", best_t,
	       best_offset, best_rtt / 2);
	if (sync) {
		struct timex tx = { .modes = ADJ_SETOFFSET | ADJ_NANO };

		tx.time.tv_sec = best_offset / 1000000000LL;
		tx.time.tv_usec = best_offset % 1000000000LL;
		if (tx.time.tv_usec < 0) {
			tx.time.tv_sec--;
			tx.time.tv_usec += 1000000000L;
		}
		if (adjtimex(&tx) < 0) {
			printf("HOSTCLOCK sync failed: %s\n", strerror(errno));
			return 1;
		}
	}
	return 0;
}

static int cmd_timeserver(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
				  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		perror("timeserver");
		return 1;
	}
	for (;;) {
		long long msg[2];
		struct sockaddr_in from;
		socklen_t len = sizeof(from);

		if (recvfrom(fd, msg, sizeof(msg), 0, (struct sockaddr *)&from, &len) != sizeof(msg))
			continue;
		msg[1] = realtime_ns();
		sendto(fd, msg, sizeof(msg), 0, (struct sockaddr *)&from, len);
	}
}

/* Drains everything queued with reads of `bytes`; returns records, sets *secs. */
static long drain_timed(int fd, size_t bytes, double *secs)
{
	static char buf[1 << 20];
	double start = now_s();
	long records = 0;
	ssize_t n;

	while ((n = read(fd, buf, bytes)) > 0)
		records += n / (ssize_t)sizeof(struct hoplat_record);
	*secs = now_s() - start;
	return records;
}

static int cmd_drainbench(const char *stop1, const char *stop2)
{
	int fd = open(HOPLAT_DEVICE, O_RDONLY | O_NONBLOCK);
	double secs;
	long n;

	if (fd < 0) {
		printf("E open %s\n", strerror(errno));
		return 1;
	}
	printf("READY\n");
	while (!exists(stop1))
		usleep(10000);
	n = drain_timed(fd, 1 << 20, &secs);
	printf("DRAIN big_reads records=%ld seconds=%.6f rate=%.0f\n", n, secs, n / secs);
	while (!exists(stop2))
		usleep(10000);
	n = drain_timed(fd, sizeof(struct hoplat_record), &secs);
	printf("DRAIN one_per_read records=%ld seconds=%.6f rate=%.0f\n", n, secs, n / secs);
	return 0;
}

struct bytes {
	const unsigned char *p;
	size_t len;
};

static const void *read_bytes(const void *ctx, u32 off, u32 len, void *buf)
{
	const struct bytes *b = ctx;

	(void)buf;
	if ((size_t)off + len > b->len)
		return NULL;
	return b->p + off;
}

/*
 * outgoing: the packets IFACE sends, as the driver gets them (after the
 * qdisc: the kernel copies them to packet sockets in xmit_one, just before
 * net_dev_start_xmit), each with the kernel's CLOCK_REALTIME stamp of that
 * copy (ts=, ns). Otherwise the packets IFACE receives.
 */
static int cmd_capture(const char *ifname, const char *stop, int outgoing)
{
	int fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_ALL));
	struct sockaddr_ll sll = { .sll_family = AF_PACKET, .sll_protocol = htons(ETH_P_ALL) };
	unsigned char frame[65536];
	int one = 1;

	sll.sll_ifindex = (int)if_nametoindex(ifname);
	if (fd < 0 || !sll.sll_ifindex || bind(fd, (struct sockaddr *)&sll, sizeof(sll)) ||
	    setsockopt(fd, SOL_SOCKET, SO_TIMESTAMPNS, &one, sizeof(one))) {
		printf("E capture %s: %s\n", ifname, strerror(errno));
		return 1;
	}
	printf("READY\n");
	fflush(stdout);
	for (int stopping = 0;;) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		struct sockaddr_ll from;
		socklen_t fl = sizeof(from);
		struct hoplat_pkt_info info;
		struct bytes b;
		ssize_t n;
		int v6;

		if (!stopping && exists(stop))
			stopping = 1;  /* drain what is queued, then out */
		char control[256];
		struct iovec iov = { .iov_base = frame, .iov_len = sizeof(frame) };
		struct msghdr msg = { .msg_name = &from, .msg_namelen = fl, .msg_iov = &iov,
				      .msg_iovlen = 1, .msg_control = control,
				      .msg_controllen = sizeof(control) };
		unsigned long long ts = 0;

		/*
		 * Outgoing: no poll. A sleeper on the socket is woken from inside
		 * the transmit path, between the copy's time stamp and the
		 * driver hand-off the tests compare it with.
		 */
		if (!stopping && !outgoing && poll(&p, 1, 100) <= 0)
			continue;
		n = recvmsg(fd, &msg, MSG_DONTWAIT);
		if (n < 0 && stopping)
			break;
		if (n < 0 && outgoing) {
			usleep(2000);
			continue;
		}
		if (n < 14 || (from.sll_pkttype == PACKET_OUTGOING) != outgoing)
			continue;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c))
			if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_TIMESTAMPNS) {
				struct timespec t;

				memcpy(&t, CMSG_DATA(c), sizeof(t));
				ts = (unsigned long long)t.tv_sec * 1000000000ULL + t.tv_nsec;
			}
		if (frame[12] == 0x08 && frame[13] == 0x00)
			v6 = 0;
		else if (frame[12] == 0x86 && frame[13] == 0xdd)
			v6 = 1;
		else
			continue;
		b.p = frame + 14;
		b.len = (size_t)n - 14;
		if (hoplat_hash_packet(&hoplat_default_key, v6, read_bytes, &b, (u32)b.len, 0, &info) == 0)
			printf("C hash=%016llx v6=%d tos=%u ttl=%u proto=%u len=%u ts=%llu\n",
			       (unsigned long long)info.hash, v6,
			       v6 ? ((b.p[0] & 0xf) << 4 | b.p[1] >> 4) : b.p[1], v6 ? b.p[7] : b.p[8],
			       v6 ? b.p[6] : b.p[9], info.length, ts);
	}
	return 0;
}

static int cmd_udp(const char *addr, int port, int count)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int fd, i;

	if (strchr(addr, ':')) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
		sl = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(port);
		inet_pton(AF_INET, addr, &s4->sin_addr);
		sl = sizeof(*s4);
	}
	fd = socket(ss.ss_family, SOCK_DGRAM, 0);
	for (i = 0; i < count; i++) {
		char msg[64];
		int len = snprintf(msg, sizeof(msg), "%04d hoplat probe datagram", i);

		if (sendto(fd, msg, len, 0, (struct sockaddr *)&ss, sl) != len) {
			printf("E sendto %s\n", strerror(errno));
			return 1;
		}
		usleep(20000);
	}
	return 0;
}

static int cmd_sink(int port, const char *stop)
{
	struct sockaddr_in6 sa = { .sin6_family = AF_INET6, .sin6_port = htons(port) };
	int fd = socket(AF_INET6, SOCK_DGRAM, 0), off = 0;
	char buf[2048];

	setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &off, sizeof(off));
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		printf("E sink %s\n", strerror(errno));
		return 1;
	}
	printf("READY\n");
	while (!exists(stop)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };

		if (poll(&p, 1, 100) > 0)
			recv(fd, buf, sizeof(buf), 0);
	}
	return 0;
}

/* ---- generic netlink, by hand ---- */

struct nlreq {
	struct nlmsghdr n;
	struct genlmsghdr g;
	char attrs[256];
};

static int nl_fd(void)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	int fd = socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)))
		return -1;
	return fd;
}

static void add_attr(struct nlreq *r, unsigned short type, const void *data, unsigned short len)
{
	struct nlattr *a = (struct nlattr *)((char *)r + NLMSG_ALIGN(r->n.nlmsg_len));

	a->nla_type = type;
	a->nla_len = NLA_HDRLEN + len;
	memcpy((char *)a + NLA_HDRLEN, data, len);
	r->n.nlmsg_len = NLMSG_ALIGN(r->n.nlmsg_len) + NLA_ALIGN(a->nla_len);
}

/* Sends r and returns the kernel's answer: 0, -errno, or 1 with a reply in out. */
static int nl_talk(int fd, struct nlreq *r, char *out, size_t outlen)
{
	static unsigned int seq;
	char buf[8192];
	ssize_t n;

	r->n.nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	r->n.nlmsg_seq = ++seq;
	if (send(fd, r, r->n.nlmsg_len, 0) < 0)
		return -errno;
	for (;;) {
		struct nlmsghdr *h;

		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return -errno;
		for (h = (struct nlmsghdr *)buf; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_ERROR) {
				struct nlmsgerr *e = NLMSG_DATA(h);

				return e->error;
			}
			if (out && h->nlmsg_len <= outlen)
				memcpy(out, h, h->nlmsg_len);
		}
	}
}

static int family_id(int fd)
{
	struct nlreq r = { .n = { .nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN), .nlmsg_type = GENL_ID_CTRL },
			   .g = { .cmd = CTRL_CMD_GETFAMILY, .version = 1 } };
	char out[4096];
	struct nlmsghdr *h = (struct nlmsghdr *)out;
	struct nlattr *a;
	int len;

	add_attr(&r, CTRL_ATTR_FAMILY_NAME, HOPLAT_GENL_NAME, sizeof(HOPLAT_GENL_NAME));
	memset(out, 0, sizeof(out));
	if (nl_talk(fd, &r, out, sizeof(out)) < 0)
		return -1;
	len = (int)h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	for (a = (struct nlattr *)((char *)NLMSG_DATA(h) + GENL_HDRLEN); len >= NLA_HDRLEN;
	     len -= NLA_ALIGN(a->nla_len), a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len)))
		if (a->nla_type == CTRL_ATTR_FAMILY_ID)
			return *(unsigned short *)((char *)a + NLA_HDRLEN);
	return -1;
}

static void init_req(struct nlreq *r, int fam, int cmd)
{
	memset(r, 0, sizeof(*r));
	r->n.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	r->n.nlmsg_type = (unsigned short)fam;
	r->g.cmd = (unsigned char)cmd;
	r->g.version = HOPLAT_GENL_VERSION;
}

static int set_attrs(int fd, int fam, int argc, char **argv)
{
	struct nlreq r;
	int i;

	init_req(&r, fam, HOPLAT_CMD_SET_CONFIG);
	for (i = 0; i < argc; i++) {
		unsigned int v = (unsigned int)strtoul(strchr(argv[i], '=') + 1, NULL, 0);
		unsigned char v8 = (unsigned char)v;

		if (!strncmp(argv[i], "enabled=", 8))
			add_attr(&r, HOPLAT_A_ENABLED, &v8, 1);
		else if (!strncmp(argv[i], "one_in=", 7))
			add_attr(&r, HOPLAT_A_SAMPLE_ONE_IN, &v, 4);
		else if (!strncmp(argv[i], "paths=", 6))
			add_attr(&r, HOPLAT_A_PATHS, &v, 4);
	}
	return nl_talk(fd, &r, NULL, 0);
}

static int cmd_counters(void)
{
	int fd = nl_fd(), fam = fd < 0 ? -1 : family_id(fd), len;
	static const char *names[] = { [HOPLAT_A_PACKETS_SEEN] = "seen",
		[HOPLAT_A_PACKETS_SAMPLED] = "sampled", [HOPLAT_A_RING_DROPS] = "ring_drops",
		[HOPLAT_A_NO_READER] = "no_reader", [HOPLAT_A_PARSE_ERRORS] = "parse_errors",
		[HOPLAT_A_UNMATCHED] = "unmatched", [HOPLAT_A_RECORDS_READ] = "records_read",
		[HOPLAT_A_FILTERED] = "filtered", [HOPLAT_A_CLOSE_DISCARDS] = "close_discards",
		[HOPLAT_A_STASH_FULL] = "stash_full", [HOPLAT_A_IN_STASH] = "in_stash",
		[HOPLAT_A_HANDOFF_GSO] = "handoff_gso", [HOPLAT_A_HANDOFF_UNSEEN] = "handoff_unseen",
		[HOPLAT_A_HANDOFF_FULL] = "handoff_full", [HOPLAT_A_IN_HANDOFF] = "in_handoff" };
	char out[4096];
	struct nlmsghdr *h = (struct nlmsghdr *)out;
	struct nlattr *a;
	struct nlreq r;

	if (fam < 0) {
		printf("E genetlink family not found\n");
		return 1;
	}
	init_req(&r, fam, HOPLAT_CMD_GET_COUNTERS);
	if (nl_talk(fd, &r, out, sizeof(out)) < 0)
		return 1;
	len = (int)h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	printf("COUNTERS");
	for (a = (struct nlattr *)((char *)NLMSG_DATA(h) + GENL_HDRLEN); len >= NLA_HDRLEN;
	     len -= NLA_ALIGN(a->nla_len), a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len))) {
		unsigned long long v;

		if (a->nla_type < sizeof(names) / sizeof(names[0]) && names[a->nla_type]) {
			memcpy(&v, (char *)a + NLA_HDRLEN, 8);
			printf(" %s=%llu", names[a->nla_type], v);
		}
	}
	printf("\n");
	return 0;
}

/*
 * Does the GET_CONFIG reply carry the attribute? 1, 0, or -errno; a u32
 * attribute's value in *value if value is not NULL.
 */
static int config_get(int fd, int fam, unsigned short type, unsigned int *value)
{
	char out[4096];
	struct nlmsghdr *h = (struct nlmsghdr *)out;
	struct nlattr *a;
	struct nlreq r;
	int len, rc;

	init_req(&r, fam, HOPLAT_CMD_GET_CONFIG);
	memset(out, 0, sizeof(out));
	rc = nl_talk(fd, &r, out, sizeof(out));
	if (rc < 0)
		return rc;
	len = (int)h->nlmsg_len - NLMSG_LENGTH(GENL_HDRLEN);
	for (a = (struct nlattr *)((char *)NLMSG_DATA(h) + GENL_HDRLEN); len >= NLA_HDRLEN;
	     len -= NLA_ALIGN(a->nla_len), a = (struct nlattr *)((char *)a + NLA_ALIGN(a->nla_len)))
		if (a->nla_type == type) {
			if (value)
				memcpy(value, (char *)a + NLA_HDRLEN, 4);
			return 1;
		}
	return 0;
}

static int config_has(int fd, int fam, unsigned short type)
{
	return config_get(fd, fam, type, NULL);
}

static int cmd_config(void)
{
	int fd = nl_fd(), fam = fd < 0 ? -1 : family_id(fd);
	unsigned int paths = 0, one_in = 0;

	if (fam < 0 || config_get(fd, fam, HOPLAT_A_PATHS, &paths) != 1 ||
	    config_get(fd, fam, HOPLAT_A_SAMPLE_ONE_IN, &one_in) != 1) {
		printf("E no config\n");
		return 1;
	}
	printf("CONFIG paths=0x%x one_in=%u\n", paths, one_in);
	return 0;
}

static int failures;

static void expect(const char *what, int got, int want)
{
	printf("%s %s got=%d want=%d\n", got == want ? "OK" : "FAIL", what, got, want);
	failures += got != want;
}

static int drop_net_admin(void)
{
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[0].effective &= ~(1U << CAP_NET_ADMIN);
	data[0].permitted &= ~(1U << CAP_NET_ADMIN);
	return (int)syscall(SYS_capset, &hdr, data);
}

static int cmd_errors(void)
{
	char small[10];
	struct hoplat_record rec;
	struct nlreq r;
	int fd, fd2, nfd, fam, rc;
	unsigned int zero = 0, big = 0xffffffffu;
	unsigned char key3[3] = { 1, 2, 3 };
	struct pollfd p;

	fd = open(HOPLAT_DEVICE, O_RDONLY | O_NONBLOCK);
	expect("open", fd >= 0 ? 0 : -errno, 0);
	fd2 = open(HOPLAT_DEVICE, O_RDONLY);
	expect("second_open_ebusy", fd2 >= 0 ? 0 : -errno, -EBUSY);
	rc = (int)read(fd, small, sizeof(small));
	expect("small_read_einval", rc < 0 ? -errno : rc, -EINVAL);
	rc = (int)read(fd, &rec, sizeof(rec));
	expect("nonblock_read_eagain", rc < 0 ? -errno : rc, -EAGAIN);
	p.fd = fd;
	p.events = POLLIN;
	expect("poll_idle", poll(&p, 1, 50), 0);
	close(fd);
	fd = open(HOPLAT_DEVICE, O_RDONLY);
	expect("reopen_after_close", fd >= 0 ? 0 : -errno, 0);
	close(fd);

	nfd = nl_fd();
	fam = nfd < 0 ? -1 : family_id(nfd);
	expect("genl_family_found", fam > 0, 1);
	init_req(&r, fam, HOPLAT_CMD_GET_CONFIG);
	expect("get_config", nl_talk(nfd, &r, NULL, 0), 0);
	init_req(&r, fam, HOPLAT_CMD_SET_CONFIG);
	expect("set_nothing_einval", nl_talk(nfd, &r, NULL, 0), -EINVAL);
	init_req(&r, fam, HOPLAT_CMD_SET_CONFIG);
	add_attr(&r, HOPLAT_A_SAMPLE_ONE_IN, &zero, 4);
	expect("one_in_zero_erange", nl_talk(nfd, &r, NULL, 0), -ERANGE);
	init_req(&r, fam, HOPLAT_CMD_SET_CONFIG);
	add_attr(&r, HOPLAT_A_HASH_KEY, key3, 3);
	expect("short_key_erange", nl_talk(nfd, &r, NULL, 0), -ERANGE);
	init_req(&r, fam, HOPLAT_CMD_SET_CONFIG);
	add_attr(&r, HOPLAT_A_PATHS, &big, 4);
	expect("bad_paths_einval", nl_talk(nfd, &r, NULL, 0), -EINVAL);
	init_req(&r, fam, HOPLAT_CMD_SET_CONFIG);
	add_attr(&r, HOPLAT_A_ENABLED, &zero, 4); /* u8 attribute sent as 4 bytes: still parsed? */
	rc = nl_talk(nfd, &r, NULL, 0);
	printf("INFO enabled_as_u32 -> %d\n", rc);
	init_req(&r, fam, HOPLAT_CMD_SET_CONFIG);
	add_attr(&r, HOPLAT_A_SAMPLE_ONE_IN, key3, 1); /* truncated u32 */
	expect("truncated_u32_einval", nl_talk(nfd, &r, NULL, 0), -EINVAL);
	init_req(&r, fam, 99);
	expect("unknown_cmd_eopnotsupp", nl_talk(nfd, &r, NULL, 0), -EOPNOTSUPP);
	init_req(&r, fam, HOPLAT_CMD_SET_CONFIG);
	r.n.nlmsg_len += 3; /* a dangling half attribute header */
	rc = nl_talk(nfd, &r, NULL, 0);
	expect("garbage_tail_rejected", rc < 0, 1);
	{
		char *argv1[] = { "enabled=1", "one_in=1" };

		expect("set_ok", set_attrs(nfd, fam, 2, argv1), 0);
	}
	expect("config_shows_key_to_admin", config_has(nfd, fam, HOPLAT_A_HASH_KEY), 1);
	expect("drop_cap_net_admin", drop_net_admin(), 0);
	expect("config_hides_key_from_others", config_has(nfd, fam, HOPLAT_A_HASH_KEY), 0);
	expect("config_still_readable", config_has(nfd, fam, HOPLAT_A_SAMPLE_ONE_IN), 1);
	{
		char *argv1[] = { "one_in=2" };

		expect("set_unprivileged_eperm", set_attrs(nfd, fam, 1, argv1), -EPERM);
	}
	init_req(&r, fam, HOPLAT_CMD_GET_COUNTERS);
	expect("counters_unprivileged", nl_talk(nfd, &r, NULL, 0), 0);
	printf("ERRORS_DONE failures=%d\n", failures);
	return failures != 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "read"))
		return cmd_read(argv[2], 1, 0, argc == 4 ? atoi(argv[3]) : 1);
	if ((argc == 3 || argc == 4) && !strcmp(argv[1], "drain"))
		return cmd_read(argv[2], 0, 0, argc == 4 ? atoi(argv[3]) : 1);
	if (argc == 3 && !strcmp(argv[1], "hold"))
		return cmd_read(argv[2], 0, 1, 1);
	if (argc == 3 && !strcmp(argv[1], "unread"))
		return cmd_unread(argv[2]);
	if (argc == 3 && !strcmp(argv[1], "churn"))
		return cmd_churn(argv[2]);
	if (argc == 4 && !strcmp(argv[1], "capture"))
		return cmd_capture(argv[2], argv[3], 0);
	if (argc == 4 && !strcmp(argv[1], "capture-out"))
		return cmd_capture(argv[2], argv[3], 1);
	if (argc == 5 && !strcmp(argv[1], "udp"))
		return cmd_udp(argv[2], atoi(argv[3]), atoi(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "sink"))
		return cmd_sink(atoi(argv[2]), argv[3]);
	if (argc == 5 && !strcmp(argv[1], "flood"))
		return cmd_flood(argv[2], atoi(argv[3]), atof(argv[4]));
	if (argc == 5 && !strcmp(argv[1], "clockstep"))
		return cmd_clockstep(atol(argv[2]), atol(argv[3]), atof(argv[4]));
	if (argc == 4 && !strcmp(argv[1], "clockset"))
		return cmd_clockset(atoll(argv[2]), atof(argv[3]));
	if ((argc == 5 || argc == 6) && !strcmp(argv[1], "hostclock"))
		return cmd_hostclock(argv[2], atoi(argv[3]), atoi(argv[4]),
				     argc == 6 && !strcmp(argv[5], "sync"));
	if (argc == 3 && !strcmp(argv[1], "timeserver"))
		return cmd_timeserver(atoi(argv[2]));
	if (argc == 4 && !strcmp(argv[1], "drainbench"))
		return cmd_drainbench(argv[2], argv[3]);
	if (argc == 2 && !strcmp(argv[1], "errors"))
		return cmd_errors();
	if (argc == 2 && !strcmp(argv[1], "counters"))
		return cmd_counters();
	if (argc == 2 && !strcmp(argv[1], "config"))
		return cmd_config();
	if (argc >= 3 && !strcmp(argv[1], "set")) {
		int fd = nl_fd(), fam = fd < 0 ? -1 : family_id(fd);
		int rc = fam < 0 ? -ENOENT : set_attrs(fd, fam, argc - 2, argv + 2);

		printf("SET %d\n", rc);
		return rc != 0;
	}
	fprintf(stderr, "usage: see the comment at the top of tests/vm/probe.c\n");
	return 2;
}
