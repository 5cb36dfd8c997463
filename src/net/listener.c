#include "net/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/util.h"

#define LISTEN_BACKLOG 4096

/* SO_REUSEPORT would let a second postern (same user) share our port and
 * take part of the mail: first make sure nobody holds it. */
static int port_in_use(const struct sockaddr *sa, socklen_t len)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, busy = 0;
	if (fd < 0)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, sa, len) < 0 && errno == EADDRINUSE)
		busy = 1;
	close(fd);
	return busy;
}

int listener_bind(const struct listen_addr *la, bool check_free, char *err, size_t errlen,
                  bool *unavailable)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;
	memset(&ss, 0, sizeof(ss));
	*unavailable = false;
	if (strchr(la->host, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)la->port);
		inet_pton(AF_INET6, la->host, &s6->sin6_addr);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)la->port);
		inet_pton(AF_INET, la->host, &s4->sin_addr);
		len = sizeof(*s4);
	}
	if (check_free && port_in_use((struct sockaddr *)&ss, len)) {
		snprintf(err, errlen, "%s: address already in use (is another postern running?)", la->text);
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*unavailable = errno == EAFNOSUPPORT;
		snprintf(err, errlen, "%s: socket: %m", la->text);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ss.ss_family == AF_INET6) /* "[::]:25" means IPv6 only; list 0.0.0.0 too for v4 */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		*unavailable = errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT;
		snprintf(err, errlen, "%s: cannot listen: %m", la->text);
		close(fd);
		return -1;
	}
	return fd;
}

void sockaddr_ip(const struct sockaddr *sa, char *out, size_t outlen)
{
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)outlen);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)outlen);
		else
			inet_ntop(AF_INET6, a, out, (socklen_t)outlen);
	} else {
		snprintf(out, outlen, "unknown");
	}
}

int sockaddr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}

/* ---- connection limits: open-addressing table of per-IP counts ---------- */

struct ip_count {
	char ip[64];            /* ip_client_key(): an address or an IPv6 /64 */
	int count;              /* 0 = free slot (tombstones are not needed: see release) */
};

struct connlimit {
	pthread_mutex_t lock;
	int max_total, max_per_ip, total;
	struct ip_count *slots;
	size_t nslots;          /* power of two, > 2 * max_total */
};

static size_t hash_ip(const char *ip)
{
	size_t h = 1469598103934665603ULL;  /* FNV-1a */
	for (; *ip; ip++)
		h = (h ^ (unsigned char)*ip) * 1099511628211ULL;
	return h;
}

struct connlimit *connlimit_new(int max_total, int max_per_ip)
{
	struct connlimit *cl = xcalloc(1, sizeof(*cl));
	pthread_mutex_init(&cl->lock, NULL);
	cl->max_total = max_total;
	cl->max_per_ip = max_per_ip;
	cl->nslots = 64;
	while (cl->nslots < (size_t)max_total * 2 + 2)
		cl->nslots *= 2;
	cl->slots = xcalloc(cl->nslots, sizeof(struct ip_count));
	return cl;
}

void connlimit_free(struct connlimit *cl)
{
	if (cl == NULL)
		return;
	pthread_mutex_destroy(&cl->lock);
	free(cl->slots);
	free(cl);
}

static struct ip_count *find_slot(struct connlimit *cl, const char *ip)
{
	size_t mask = cl->nslots - 1;
	for (size_t i = hash_ip(ip) & mask;; i = (i + 1) & mask)
		if (cl->slots[i].count == 0 || strcmp(cl->slots[i].ip, ip) == 0)
			return &cl->slots[i];
}

bool connlimit_acquire(struct connlimit *cl, const char *addr)
{
	bool ok = false;
	char ip[64];
	ip_client_key(addr, ip, sizeof(ip));   /* IPv6 counted by its /64 */
	pthread_mutex_lock(&cl->lock);
	if (cl->total < cl->max_total) {
		struct ip_count *slot = find_slot(cl, ip);
		if (slot->count < cl->max_per_ip) {
			if (slot->count == 0)
				snprintf(slot->ip, sizeof(slot->ip), "%s", ip);
			slot->count++;
			cl->total++;
			ok = true;
		}
	}
	pthread_mutex_unlock(&cl->lock);
	return ok;
}

/* Removing from linear probing: re-insert the rest of the cluster so later
 * lookups never stop early at the freed slot. */
static void remove_slot(struct connlimit *cl, struct ip_count *slot)
{
	size_t mask = cl->nslots - 1, i = (size_t)(slot - cl->slots);
	slot->count = 0;
	for (i = (i + 1) & mask; cl->slots[i].count != 0; i = (i + 1) & mask) {
		struct ip_count moved = cl->slots[i];
		cl->slots[i].count = 0;
		*find_slot(cl, moved.ip) = moved;
	}
}

void connlimit_release(struct connlimit *cl, const char *addr)
{
	char ip[64];
	ip_client_key(addr, ip, sizeof(ip));
	pthread_mutex_lock(&cl->lock);
	struct ip_count *slot = find_slot(cl, ip);
	if (slot->count > 0) {
		cl->total--;
		if (--slot->count == 0)
			remove_slot(cl, slot);
	}
	pthread_mutex_unlock(&cl->lock);
}

