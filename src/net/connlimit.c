#include "net/connlimit.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "net/listener.h"

/* One slot per client key (an address, or an IPv6 /64): its sessions in all,
 * and per service. An open-addressing table sized for the total cap. */
struct ip_count {
	char ip[64];            /* ip_client_key(); "" = free slot */
	int count;              /* 0 = free slot (no tombstones: see remove_slot) */
	int per_service[SVC_COUNT];
};

struct connlimit {
	pthread_mutex_t lock;
	int max_total, max_per_ip, total;
	int service_max[SVC_COUNT], service_max_per_ip[SVC_COUNT], service_total[SVC_COUNT];
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

struct connlimit *connlimit_new(const struct config *cfg)
{
	struct connlimit *cl = xcalloc(1, sizeof(*cl));
	pthread_mutex_init(&cl->lock, NULL);
	cl->max_total = cfg->limits.connections;
	cl->max_per_ip = cfg->limits.connections_per_ip;
	for (int i = 0; i < SVC_COUNT; i++) {
		cl->service_max[i] = cfg->policy[i].connections;
		cl->service_max_per_ip[i] = cfg->policy[i].connections_per_ip;
	}
	cl->nslots = 64;
	while (cl->nslots < (size_t)cl->max_total * 2 + 2)
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

static enum connlimit_verdict check(const struct connlimit *cl, enum service_id svc,
                                    const char *ip, const struct ip_count *slot)
{
	if (cl->total >= cl->max_total)
		return CONNLIMIT_TOTAL;
	if (cl->service_total[svc] >= cl->service_max[svc])
		return CONNLIMIT_SERVICE;
	/* every client of a UNIX socket is "unix": the file's mode decides who
	 * they are, and a cap per address would be a cap on all of them */
	if (strcmp(ip, NET_PEER_LOCAL) == 0)
		return CONNLIMIT_OK;
	if (slot->count >= cl->max_per_ip)
		return CONNLIMIT_PER_IP;
	if (slot->per_service[svc] >= cl->service_max_per_ip[svc])
		return CONNLIMIT_SERVICE_PER_IP;
	return CONNLIMIT_OK;
}

enum connlimit_verdict connlimit_acquire(struct connlimit *cl, enum service_id svc, const char *addr)
{
	char ip[64];
	ip_client_key(addr, ip, sizeof(ip));   /* IPv6 counted by its /64 */
	pthread_mutex_lock(&cl->lock);
	struct ip_count *slot = find_slot(cl, ip);
	enum connlimit_verdict v = check(cl, svc, ip, slot);
	if (v == CONNLIMIT_OK) {
		if (slot->count == 0)
			snprintf(slot->ip, sizeof(slot->ip), "%s", ip);
		slot->count++;
		slot->per_service[svc]++;
		cl->service_total[svc]++;
		cl->total++;
	}
	pthread_mutex_unlock(&cl->lock);
	return v;
}

/* Removing from linear probing: re-insert the rest of the cluster so later
 * lookups never stop early at the freed slot. */
static void remove_slot(struct connlimit *cl, struct ip_count *slot)
{
	size_t mask = cl->nslots - 1, i = (size_t)(slot - cl->slots);
	memset(slot, 0, sizeof(*slot));
	for (i = (i + 1) & mask; cl->slots[i].count != 0; i = (i + 1) & mask) {
		struct ip_count moved = cl->slots[i];
		memset(&cl->slots[i], 0, sizeof(cl->slots[i]));
		*find_slot(cl, moved.ip) = moved;
	}
}

void connlimit_release(struct connlimit *cl, enum service_id svc, const char *addr)
{
	char ip[64];
	ip_client_key(addr, ip, sizeof(ip));
	pthread_mutex_lock(&cl->lock);
	struct ip_count *slot = find_slot(cl, ip);
	if (slot->count > 0 && slot->per_service[svc] > 0) {
		cl->total--;
		cl->service_total[svc]--;
		slot->per_service[svc]--;
		if (--slot->count == 0)
			remove_slot(cl, slot);
	}
	pthread_mutex_unlock(&cl->lock);
}

const char *connlimit_reason(enum connlimit_verdict v)
{
	switch (v) {
	case CONNLIMIT_OK: return "ok";
	case CONNLIMIT_TOTAL: return "connection limit";
	case CONNLIMIT_PER_IP: return "connection limit";
	case CONNLIMIT_SERVICE: return "service connection limit";
	case CONNLIMIT_SERVICE_PER_IP: return "service connection limit per address";
	}
	return "?";
}
