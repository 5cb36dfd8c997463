/* The authentication of one inbound message (src/mailauth/inbound.c) on an
 * in-memory DNS whose answers the test releases: the header held back and
 * let through without our forged Authentication-Results however the message
 * is split, the verdicts of SPF and DMARC at each enforcement level, the
 * deadline when DNS never answers, and a run freed with lookups in flight. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <event2/event.h>

#include "core/buf.h"
#include "core/util.h"
#include "mailauth/inbound.h"
#include "mailauth/orgdomain.h"

/* ---- a DNS of TXT records, answered when the test says ---- */

#define ZONE_MAX 16
#define PENDING_MAX 32

struct fake_dns {
	struct { const char *name, *txt; } zone[ZONE_MAX];
	size_t nzone;
	const char *tempfail;           /* names under this suffix: SERVFAIL */
	bool silent;                    /* never answer (the deadline's test) */
	struct { char name[300]; int type; spf_dns_cb cb; void *arg; bool live; } q[PENDING_MAX];
	int nq;
	int cancelled;
};

static int fake_query(void *arg, const char *name, enum spf_rr t, spf_dns_cb cb, void *cbarg)
{
	struct fake_dns *f = arg;
	assert_true(f->nq < PENDING_MAX);
	int id = f->nq++;
	snprintf(f->q[id].name, sizeof(f->q[id].name), "%s", name);
	f->q[id].type = (int)t;
	f->q[id].cb = cb;
	f->q[id].arg = cbarg;
	f->q[id].live = true;
	return id;
}

static void fake_cancel(void *arg, int id)
{
	struct fake_dns *f = arg;
	assert_true(id >= 0 && id < f->nq && f->q[id].live);
	f->q[id].live = false;
	f->cancelled++;
}

static bool ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

static void answer(struct fake_dns *f, int i)
{
	const char *rr[ZONE_MAX];
	size_t n = 0;
	struct spf_dns_answer ans = { .st = SPF_DNS_NXDOMAIN };
	f->q[i].live = false;
	if (f->tempfail != NULL && ends_with(f->q[i].name, f->tempfail)) {
		ans.st = SPF_DNS_TEMPFAIL;
	} else if (f->q[i].type == SPF_RR_TXT) {
		for (size_t z = 0; z < f->nzone; z++)
			if (strcasecmp(f->zone[z].name, f->q[i].name) == 0)
				rr[n++] = f->zone[z].txt;
		if (n > 0)
			ans = (struct spf_dns_answer){ .st = SPF_DNS_OK, .rr = rr, .n = n };
	}
	f->q[i].cb(f->q[i].arg, &ans);
}

/* Answers every pending query, and those they lead to. */
static void fake_run(struct fake_dns *f)
{
	for (int i = 0; i < f->nq; i++)
		if (f->q[i].live)
			answer(f, i);
}

static int pending(const struct fake_dns *f)
{
	int n = 0;
	for (int i = 0; i < f->nq; i++)
		n += f->q[i].live;
	return n;
}

/* ---- running a message ---- */

static struct orgdomain *od;

struct run {
	struct fake_dns f;
	struct spf_dns dns;
	struct buf spooled;
	int verdicts;
	struct inbound_verdict v;
	char header[2048];
};

static void emit(void *arg, const char *data, size_t len)
{
	buf_append(&((struct run *)arg)->spooled, data, len);
}

static void done(void *arg, const struct inbound_verdict *v)
{
	struct run *r = arg;
	r->verdicts++;
	r->v = *v;
	snprintf(r->header, sizeof(r->header), "%.*s", (int)v->header_len, v->header);
	r->v.header = r->header;
}

static struct inbound_env env_of(struct run *r, struct event_base *base)
{
	r->dns = (struct spf_dns){ fake_query, fake_cancel, &r->f };
	return (struct inbound_env){
		.dns = &r->dns, .base = base, .od = od, .authserv_id = "mx.example.org",
		.spf = INBOUND_SPF_SOFT, .dmarc = DMARC_ENFORCE_RELAXED, .max_signatures = 5,
	};
}

/* msg through a run in pieces of chunk octets; DNS answered at the end. */
static struct inbound_auth *judge(struct run *r, const struct inbound_env *env,
                                  const char *sender, const char *msg, size_t chunk)
{
	buf_init(&r->spooled);
	struct inbound_auth *ia = inbound_auth_new(env);
	inbound_auth_start(ia, "192.0.2.1", "client.example.net", sender);
	size_t len = strlen(msg);
	for (size_t p = 0; p < len; p += chunk)
		inbound_auth_feed(ia, msg + p, len - p < chunk ? len - p : chunk, emit, r);
	inbound_auth_end(ia, emit, r);
	inbound_auth_wait(ia, done, r);
	fake_run(&r->f);
	return ia;
}

static const char forged_msg[] =
	"Authentication-Results: mx.example.org; dkim=pass header.d=bank.test\r\n"
	"From: <ceo@bank.test>\r\n"
	"Authentication-Results: other.example; spf=pass\r\n"
	"AUTHENTICATION-RESULTS:  \"MX.Example.Org\" ; dmarc=pass\r\n"
	"Subject: hi\r\n"
	"\r\n"
	"Authentication-Results: mx.example.org; in the body, untouched\r\n";

static const char forged_spooled[] =
	"From: <ceo@bank.test>\r\n"
	"Authentication-Results: other.example; spf=pass\r\n"
	"Subject: hi\r\n"
	"\r\n"
	"Authentication-Results: mx.example.org; in the body, untouched\r\n";

/* The same spool and verdict whatever the split; ours removed, others kept. */
static void test_header_held_and_forgeries_removed(void **state)
{
	(void)state;
	for (size_t chunk = 1; chunk <= sizeof(forged_msg); chunk++) {
		struct run r = { 0 };
		struct inbound_env env = env_of(&r, NULL);
		struct inbound_auth *ia = judge(&r, &env, "ceo@bank.test", forged_msg, chunk);
		assert_int_equal(r.verdicts, 1);
		assert_int_equal(r.spooled.len, strlen(forged_spooled));
		assert_memory_equal(r.spooled.data, forged_spooled, r.spooled.len);
		assert_int_equal(r.v.action, INBOUND_ACCEPT);
		assert_non_null(strstr(r.header, "Authentication-Results: mx.example.org;"));
		assert_non_null(strstr(r.header, "dmarc=none header.from=bank.test"));
		assert_null(strstr(r.header, "bank.test header.s"));
		inbound_auth_free(ia);
		buf_free(&r.spooled);
	}
}

static void add(struct fake_dns *f, const char *name, const char *txt)
{
	f->zone[f->nzone].name = name;
	f->zone[f->nzone++].txt = txt;
}

static const char plain_msg[] = "From: <ceo@bank.test>\r\nSubject: x\r\n\r\nbody\r\n";

static struct run *policy_run(enum inbound_spf_enforcement spf, enum dmarc_enforcement dmarc,
                              const char *p, const char *sender, struct inbound_auth **ia)
{
	struct run *r = xcalloc(1, sizeof(*r));
	add(&r->f, "bank.test", "v=spf1 -all");
	add(&r->f, "_dmarc.bank.test", p);
	struct inbound_env env = env_of(r, NULL);
	env.spf = spf;
	env.dmarc = dmarc;
	*ia = judge(r, &env, sender, plain_msg, 4096);
	assert_int_equal(r->verdicts, 1);
	return r;
}

static void end_run(struct run *r, struct inbound_auth *ia)
{
	inbound_auth_free(ia);
	buf_free(&r->spooled);
	free(r);
}

static void test_enforcement_levels(void **state)
{
	static const struct {
		enum inbound_spf_enforcement spf;
		enum dmarc_enforcement dmarc;
		const char *policy, *sender;
		enum inbound_action action;
		int code;
		const char *enh;
	} cases[] = {
		{ INBOUND_SPF_SOFT, DMARC_ENFORCE_RELAXED, "v=DMARC1; p=reject", "x@bank.test",
		  INBOUND_REFUSE, 550, "5.7.1" },
		{ INBOUND_SPF_SOFT, DMARC_ENFORCE_RELAXED, "v=DMARC1; p=quarantine", "x@bank.test",
		  INBOUND_JUNK, 0, NULL },
		{ INBOUND_SPF_SOFT, DMARC_ENFORCE_STRICT, "v=DMARC1; p=quarantine", "x@bank.test",
		  INBOUND_REFUSE, 550, "5.7.1" },
		{ INBOUND_SPF_SOFT, DMARC_ENFORCE_NONE, "v=DMARC1; p=reject", "x@bank.test",
		  INBOUND_ACCEPT, 0, NULL },
		{ INBOUND_SPF_SOFT, DMARC_ENFORCE_RELAXED, "v=DMARC1; p=none", "x@bank.test",
		  INBOUND_ACCEPT, 0, NULL },
		/* SPF fail refused before DMARC is asked what it thinks */
		{ INBOUND_SPF_STRICT, DMARC_ENFORCE_NONE, "v=DMARC1; p=none", "x@bank.test",
		  INBOUND_REFUSE, 550, "5.7.23" },
		{ INBOUND_SPF_NONE, DMARC_ENFORCE_NONE, "v=DMARC1; p=none", "x@bank.test",
		  INBOUND_ACCEPT, 0, NULL },
		/* a DMARC pct=0 policy is sampled out: quarantine becomes none */
		{ INBOUND_SPF_SOFT, DMARC_ENFORCE_RELAXED, "v=DMARC1; p=quarantine; pct=0",
		  "x@bank.test", INBOUND_ACCEPT, 0, NULL },
	};
	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct inbound_auth *ia;
		struct run *r = policy_run(cases[i].spf, cases[i].dmarc, cases[i].policy,
		                           cases[i].sender, &ia);
		if (r->v.action != cases[i].action)
			fail_msg("case %zu: action %d, want %d (%s)", i, r->v.action, cases[i].action,
			         r->header);
		if (cases[i].code != 0) {
			assert_int_equal(r->v.code, cases[i].code);
			assert_string_equal(r->v.enh, cases[i].enh);
		}
		assert_string_equal(r->v.spf, "fail");
		end_run(r, ia);
	}
}

/* A DNS failure: temperror, deferred only where enforcement is strict. */
static void test_dns_failures(void **state)
{
	(void)state;
	struct run r = { .f.tempfail = "broken.test" };
	struct inbound_env env = env_of(&r, NULL);
	env.spf = INBOUND_SPF_STRICT;
	struct inbound_auth *ia = judge(&r, &env, "x@broken.test", plain_msg, 4096);
	assert_int_equal(r.v.action, INBOUND_REFUSE);
	assert_int_equal(r.v.code, 451);
	assert_string_equal(r.v.enh, "4.7.24");
	inbound_auth_free(ia);
	buf_free(&r.spooled);

	static const char msg[] = "From: <a@host.broken.test>\r\n\r\nx\r\n";
	struct run r2 = { .f.tempfail = "broken.test" };
	env = env_of(&r2, NULL);
	env.dmarc = DMARC_ENFORCE_STRICT;
	ia = judge(&r2, &env, "", msg, 7);
	assert_int_equal(r2.v.action, INBOUND_REFUSE);
	assert_int_equal(r2.v.code, 451);
	assert_string_equal(r2.v.dmarc, "temperror");
	inbound_auth_free(ia);
	buf_free(&r2.spooled);
}

/* DNS that never answers: the deadline ends the wait with temperrors. */
static void test_deadline(void **state)
{
	(void)state;
	struct event_base *base = event_base_new();
	struct run r = { 0 };
	struct inbound_env env = env_of(&r, base);
	env.deadline_ms = 200;
	buf_init(&r.spooled);
	struct inbound_auth *ia = inbound_auth_new(&env);
	inbound_auth_start(ia, "192.0.2.1", "client.example.net", "x@slow.test");
	inbound_auth_feed(ia, plain_msg, strlen(plain_msg), emit, &r);
	inbound_auth_end(ia, emit, &r);
	inbound_auth_wait(ia, done, &r);
	assert_int_equal(r.verdicts, 0);
	assert_true(pending(&r.f) > 0);
	event_base_dispatch(base);      /* only the deadline's timer is there */
	assert_int_equal(r.verdicts, 1);
	assert_string_equal(r.v.spf, "temperror");
	assert_int_equal(r.v.action, INBOUND_ACCEPT);   /* soft, relaxed: delivered */
	assert_int_equal(pending(&r.f), 0);              /* every lookup cancelled */
	inbound_auth_free(ia);
	event_base_free(base);
	buf_free(&r.spooled);
}

/* A session that ends mid-way frees its run: lookups cancelled, no verdict. */
static void test_free_with_lookups_in_flight(void **state)
{
	(void)state;
	for (int stage = 0; stage < 3; stage++) {
		struct run r = { 0 };
		add(&r.f, "_dmarc.bank.test", "v=DMARC1; p=reject");
		struct inbound_env env = env_of(&r, NULL);
		buf_init(&r.spooled);
		struct inbound_auth *ia = inbound_auth_new(&env);
		inbound_auth_start(ia, "192.0.2.1", "client.example.net", "x@bank.test");
		if (stage >= 1) {
			inbound_auth_feed(ia, plain_msg, strlen(plain_msg), emit, &r);
			inbound_auth_end(ia, emit, &r);
		}
		if (stage >= 2) {
			answer(&r.f, 0);        /* SPF answered: DMARC's lookup starts */
			inbound_auth_wait(ia, done, &r);
		}
		inbound_auth_free(ia);
		assert_int_equal(pending(&r.f), 0);
		assert_int_equal(r.verdicts, 0);
		buf_free(&r.spooled);
	}
}

/* Past INBOUND_HEADER_MAX the header goes on unread, and the message is refused. */
static void test_header_too_large(void **state)
{
	(void)state;
	struct run r = { 0 };
	struct inbound_env env = env_of(&r, NULL);
	size_t n = INBOUND_HEADER_MAX + 4096;
	char *msg = xmalloc(n + 32);
	memcpy(msg, "From: <a@b.test>\r\nX-Big: ", 25);
	memset(msg + 25, 'y', n - 25);
	strcpy(msg + n, "\r\n\r\nbody\r\n");
	struct inbound_auth *ia = judge(&r, &env, "a@b.test", msg, 65536);
	assert_int_equal(r.v.action, INBOUND_REFUSE);
	assert_int_equal(r.v.code, 552);
	assert_int_equal(r.spooled.len, strlen(msg));   /* nothing lost on the way */
	inbound_auth_free(ia);
	buf_free(&r.spooled);
	free(msg);
}

static int setup(void **state)
{
	char err[256];
	(void)state;
	od = orgdomain_open(NULL, err, sizeof(err));
	return od == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	(void)state;
	orgdomain_close(od);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_held_and_forgeries_removed),
		cmocka_unit_test(test_enforcement_levels),
		cmocka_unit_test(test_dns_failures),
		cmocka_unit_test(test_deadline),
		cmocka_unit_test(test_free_with_lookups_in_flight),
		cmocka_unit_test(test_header_too_large),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
