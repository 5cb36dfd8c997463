#include "mailauth/dkim_signer.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/log.h"
#include "core/util.h"
#include "mail/address.h"
#include "mailauth/dkim.h"
#include "store/msgbuf.h"
#include "store/store.h"

#define SIGNER_MAX_KEYS 8

struct cached_key {
	char *path;
	struct dkim_key *key;
};

struct dkim_signer {
	pthread_mutex_t lock;           /* the store handle and the cache */
	struct store *store;
	struct cached_key *cache;
	size_t ncache;
};

struct key_ref {
	char selector[64];
	char algorithm[32];
	char path[4096];
};

struct key_refs {
	struct key_ref ref[SIGNER_MAX_KEYS];
	size_t n;
};

static void collect_key(void *arg, const char *const *cols)
{
	struct key_refs *k = arg;
	if (k->n == SIGNER_MAX_KEYS)
		return;
	snprintf(k->ref[k->n].selector, sizeof(k->ref[0].selector), "%s", cols[1]);
	snprintf(k->ref[k->n].algorithm, sizeof(k->ref[0].algorithm), "%s", cols[2]);
	snprintf(k->ref[k->n].path, sizeof(k->ref[0].path), "%s", cols[3]);
	k->n++;
}

struct dkim_signer *dkim_signer_new(const char *data_dir, char *err, size_t errlen)
{
	struct dkim_signer *s = xcalloc(1, sizeof(*s));
	pthread_mutex_init(&s->lock, NULL);
	s->store = store_open(data_dir, err, errlen);
	if (s->store == NULL) {
		dkim_signer_free(s);
		return NULL;
	}
	return s;
}

void dkim_signer_free(struct dkim_signer *s)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < s->ncache; i++) {
		free(s->cache[i].path);
		dkim_key_free(s->cache[i].key);
	}
	free(s->cache);
	store_close(s->store);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* Loaded keys are kept: a key file never changes under the same path
 * (keygen refuses to overwrite), so the cache never goes stale. */
static struct dkim_key *key_for(struct dkim_signer *s, const char *path)
{
	char err[256];
	for (size_t i = 0; i < s->ncache; i++)
		if (strcmp(s->cache[i].path, path) == 0)
			return s->cache[i].key;
	struct dkim_key *k = dkim_key_load(path, err, sizeof(err));
	if (k == NULL) {
		log_event(LOG_ERROR, "dkim.key_unusable", "s", "path", path, "s", "error", err, NULL);
		return NULL;
	}
	s->cache = xrealloc(s->cache, (s->ncache + 1) * sizeof(struct cached_key));
	s->cache[s->ncache].path = xstrdup(path);
	s->cache[s->ncache++].key = k;
	return k;
}

struct body_reader {
	const struct msgbuf *mb;
	uint64_t off;
};

static ssize_t read_body(void *arg, void *buf, size_t len)
{
	struct body_reader *r = arg;
	ssize_t n = msgbuf_read_at(r->mb, r->off, buf, len);
	if (n > 0)
		r->off += (uint64_t)n;
	return n;
}

static void append(char **out, size_t *len, const char *s)
{
	size_t n = strlen(s);
	*out = xrealloc(*out, *len + n + 1);
	memcpy(*out + *len, s, n + 1);
	*len += n;
}

char *dkim_signer_sign(void *arg, const char *sender, const struct msgbuf *body)
{
	struct dkim_signer *s = arg;
	struct key_refs refs = { .n = 0 };
	char domain[256], err[256];
	size_t local_len;
	const char *sender_domain = mail_address_split(sender, &local_len);
	char *out = NULL;
	size_t len = 0;
	if (sender_domain == NULL ||
	    snprintf(domain, sizeof(domain), "%s", sender_domain) >= (int)sizeof(domain))
		return NULL;
	ascii_lower(domain);
	struct dkim_key *keys[SIGNER_MAX_KEYS];
	pthread_mutex_lock(&s->lock);
	store_dkim_list(s->store, domain, collect_key, &refs, err, sizeof(err));
	for (size_t i = 0; i < refs.n; i++)
		keys[i] = key_for(s, refs.ref[i].path);
	pthread_mutex_unlock(&s->lock);
	/* keys are read-only and live as long as the signer: sign unlocked */
	for (size_t i = 0; i < refs.n; i++) {
		struct dkim_key *k = keys[i];
		struct body_reader r = { body, 0 };
		char *sig = k ? dkim_sign(k, domain, refs.ref[i].selector, read_body, &r, time(NULL),
		                          err, sizeof(err)) : NULL;
		if (sig == NULL) {
			if (k != NULL)
				log_event(LOG_WARN, "dkim.not_signed", "s", "domain", domain,
				          "s", "selector", refs.ref[i].selector, "s", "error", err, NULL);
			continue;
		}
		append(&out, &len, sig);
		free(sig);
	}
	return out;
}

const struct dkim_key *dkim_signer_rsa_key(struct dkim_signer *s, const char *domain,
                                           char *selector, size_t len)
{
	struct key_refs refs = { .n = 0 };
	struct dkim_key *key = NULL;
	char err[256];
	pthread_mutex_lock(&s->lock);
	store_dkim_list(s->store, domain, collect_key, &refs, err, sizeof(err));
	/* the store lists the oldest first: the newest is the last */
	for (size_t i = refs.n; i-- > 0 && key == NULL;) {
		if (strcmp(refs.ref[i].algorithm, dkim_alg_name(DKIM_RSA_SHA256)) != 0)
			continue;
		key = key_for(s, refs.ref[i].path);
		if (key != NULL && dkim_key_alg(key) != DKIM_RSA_SHA256)
			key = NULL;     /* a file that is not what its row says */
		else if (key != NULL)
			snprintf(selector, len, "%s", refs.ref[i].selector);
	}
	pthread_mutex_unlock(&s->lock);
	return key;
}
