/* libFuzzer target for the inbound run (src/mailauth/inbound.c): a message
 * as a hostile server sends it, through the header holding, the removal of
 * Authentication-Results claiming our authserv-id, the DKIM and ARC
 * verifiers and DMARC, on a DNS that answers every _dmarc name with a
 * reject policy and everything else with NXDOMAIN.
 *
 * The first octet picks a split size; beyond the sanitizers it checks that
 * the message fed whole and fed in pieces spools the same octets and gets
 * the same verdict and Authentication-Results, and that nothing is spooled
 * that was not sent. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "mailauth/inbound.h"
#include "mailauth/orgdomain.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

#define PENDING_MAX 64

struct fake {
	struct { char name[300]; spf_dns_cb cb; void *arg; bool live; } q[PENDING_MAX];
	int nq;
};

static int query(void *arg, const char *name, enum spf_rr t, spf_dns_cb cb, void *cbarg)
{
	struct fake *f = arg;
	(void)t;
	if (f->nq == PENDING_MAX)
		return -1;
	snprintf(f->q[f->nq].name, sizeof(f->q[f->nq].name), "%s", name);
	f->q[f->nq].cb = cb;
	f->q[f->nq].arg = cbarg;
	f->q[f->nq].live = true;
	return f->nq++;
}

static void cancel(void *arg, int id)
{
	struct fake *f = arg;
	check(id >= 0 && id < f->nq && f->q[id].live);
	f->q[id].live = false;
}

static void run(struct fake *f)
{
	static const char *const reject[] = { "v=DMARC1; p=reject" };
	for (int i = 0; i < f->nq; i++) {
		if (!f->q[i].live)
			continue;
		f->q[i].live = false;
		struct spf_dns_answer ans = { .st = SPF_DNS_NXDOMAIN };
		if (strncmp(f->q[i].name, "_dmarc.", 7) == 0)
			ans = (struct spf_dns_answer){ .st = SPF_DNS_OK, .rr = reject, .n = 1 };
		f->q[i].cb(f->q[i].arg, &ans);
	}
}

struct outcome {
	struct buf spool;
	int verdicts;
	enum inbound_action action;
	int code;
	char header[4096];
};

static void emit(void *arg, const char *d, size_t n)
{
	buf_append(&((struct outcome *)arg)->spool, d, n);
}

static void done(void *arg, const struct inbound_verdict *v)
{
	struct outcome *o = arg;
	o->verdicts++;
	o->action = v->action;
	o->code = v->code;
	snprintf(o->header, sizeof(o->header), "%.*s", (int)v->header_len, v->header);
}

static void judge(const struct orgdomain *od, const char *msg, size_t len, size_t chunk,
                  struct outcome *o)
{
	struct fake f = { .nq = 0 };
	struct spf_dns dns = { query, cancel, &f };
	struct inbound_env env = {
		.dns = &dns, .od = od, .authserv_id = "mx.example.org", .spf = INBOUND_SPF_SOFT,
		.dmarc = DMARC_ENFORCE_RELAXED, .max_signatures = 5,
	};
	buf_init(&o->spool);
	struct inbound_auth *ia = inbound_auth_new(&env);
	inbound_auth_start(ia, "192.0.2.7", "client.example", "a@sender.example");
	for (size_t p = 0; p < len; p += chunk)
		inbound_auth_feed(ia, msg + p, len - p < chunk ? len - p : chunk, emit, o);
	inbound_auth_end(ia, emit, o);
	inbound_auth_wait(ia, done, o);
	run(&f);
	check(o->verdicts == 1);
	inbound_auth_free(ia);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct orgdomain *od;
	char err[256];
	if (od == NULL && (od = orgdomain_open(NULL, err, sizeof(err))) == NULL)
		abort();
	if (size < 1)
		return 0;
	size_t chunk = 1 + data[0] % 97;
	const char *msg = (const char *)data + 1;
	size_t len = size - 1;
	struct outcome whole = { .verdicts = 0 }, pieces = { .verdicts = 0 };
	judge(od, msg, len, len ? len : 1, &whole);
	judge(od, msg, len, chunk, &pieces);
	check(whole.spool.len <= len);
	check(whole.spool.len == pieces.spool.len);
	check(whole.spool.len == 0 || memcmp(whole.spool.data, pieces.spool.data,
	                                     whole.spool.len) == 0);
	check(whole.action == pieces.action && whole.code == pieces.code);
	check(strcmp(whole.header, pieces.header) == 0);
	buf_free(&whole.spool);
	buf_free(&pieces.spool);
	return 0;
}
