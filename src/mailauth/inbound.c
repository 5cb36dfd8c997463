/* The authentication of one inbound message; see inbound.h.
 *
 * Three things run side by side on the loop: SPF from MAIL FROM, and the
 * DKIM and ARC verifiers, whose key lookups start once the header is whole.
 * DMARC needs the other results, so it starts when SPF and DKIM are both
 * done; ARC may then vouch for a DMARC failure (arc.trusted_sealers). The
 * verdict is made once, in make_verdict(). */
#include "mailauth/inbound.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <event2/event.h>

#include "core/util.h"
#include "mail/address.h"
#include "mail/header.h"
#include "mailauth/arc_verify.h"
#include "mailauth/authres.h"
#include "mailauth/dmarc_report.h"
#include "mailauth/txt_lookup.h"

#define IDENT_MAX 512

struct inbound_auth {
	struct inbound_env env;
	struct txt_lookups *txt;
	struct dkim_dns dkim_dns;
	struct dmarc_dns dmarc_dns;

	/* SPF */
	struct spf_check *spf;
	bool spf_done;
	enum spf_result spf_result;
	char mailfrom[IDENT_MAX], helo[256];
	char spf_domain[256];
	char spf_text[200];             /* the explanation or the reason, for a refusal */

	/* the header, held until it is whole */
	char *hdr;
	size_t hdr_len, hdr_cap, hdr_scan;
	bool header_done, header_too_big;
	/* the From: domain DMARC judges; "" when none could be read */
	char from_domain[ORGDOMAIN_NAME_MAX];
	bool from_domains_differ;       /* From: holds addresses of several domains */

	/* DKIM and ARC */
	struct dkim_verify *dkim;
	struct arc_verify *arc;
	bool dkim_done, arc_done;
	struct dkim_result *dkim_res;
	size_t ndkim;
	enum arc_cv arc_cv;
	char arc_reason[160];
	char *trusted_aar;              /* what a trusted sealer said, or NULL */
	char trusted_sealer[DKIM_NAME_MAX + 1];

	/* DMARC */
	struct dmarc_discovery *disc;
	bool dmarc_started, dmarc_done;
	bool discovering;               /* inside dmarc_discover(), which may answer at once */
	struct dmarc_found found;
	struct dmarc_input dmarc_in;    /* what it was judged on (aggregate data) */
	struct dmarc_dkim_sig *dmarc_sigs;
	struct dmarc_outcome outcome;
	bool arc_override;              /* a trusted sealer's dmarc=pass was taken */

	/* the end */
	bool finishing, finished;
	inbound_done_fn *done;
	void *done_arg;
	struct event *deadline;
	struct inbound_verdict v;
	char *field, *payload;
};

static const char *const spf_enforcement_names[] = {
	[INBOUND_SPF_NONE] = "none", [INBOUND_SPF_SOFT] = "soft", [INBOUND_SPF_STRICT] = "strict",
};

const char *inbound_spf_enforcement_name(enum inbound_spf_enforcement e)
{
	return (size_t)e < ARRAY_LEN(spf_enforcement_names) ? spf_enforcement_names[e] : "soft";
}

static void maybe_done(struct inbound_auth *ia);

struct inbound_auth *inbound_auth_new(const struct inbound_env *env)
{
	struct inbound_auth *ia = xcalloc(1, sizeof(*ia));
	ia->env = *env;
	ia->txt = txt_lookups_new(env->dns);
	txt_lookups_dkim(ia->txt, env->keys, &ia->dkim_dns);
	txt_lookups_dmarc(ia->txt, &ia->dmarc_dns);
	ia->spf_done = true;            /* until a MAIL FROM starts it */
	ia->spf_result = SPF_NONE;
	return ia;
}

/* ---- SPF -------------------------------------------------------------- */

static void on_spf(void *arg, const struct spf_outcome *o)
{
	struct inbound_auth *ia = arg;
	ia->spf = NULL;
	ia->spf_done = true;
	ia->spf_result = o->result;
	str_copy(ia->spf_domain, sizeof(ia->spf_domain), o->domain ? o->domain : "");
	str_copy(ia->spf_text, sizeof(ia->spf_text),
	         o->explanation ? o->explanation : o->reason ? o->reason : "");
	maybe_done(ia);
}

void inbound_auth_start(struct inbound_auth *ia, const char *ip, const char *helo,
                        const char *sender)
{
	str_copy(ia->mailfrom, sizeof(ia->mailfrom), sender);
	str_copy(ia->helo, sizeof(ia->helo), helo);
	struct spf_request req = { .ip = ip, .sender = sender, .helo = helo,
	                           .receiver = ia->env.authserv_id };
	ia->spf_done = false;
	ia->spf = spf_check_start(ia->env.dns, &req, on_spf, ia);
}

/* ---- the header ------------------------------------------------------- */

struct from_scan {
	char first[ORGDOMAIN_NAME_MAX];
	size_t n;
	bool differ;
};

static void on_from_address(void *arg, const struct mail_address_view *a)
{
	struct from_scan *fs = arg;
	const char *d = a->s[MAIL_ADDRESS_DOMAIN];
	size_t dlen = a->n[MAIL_ADDRESS_DOMAIN];
	if (a->kind != MAIL_ADDRESS_MAILBOX || d == NULL || dlen == 0)
		return;
	char dom[ORGDOMAIN_NAME_MAX], norm[ORGDOMAIN_NAME_MAX];
	size_t n = dlen < sizeof(dom) - 1 ? dlen : sizeof(dom) - 1;
	memcpy(dom, d, n);
	dom[n] = '\0';
	if (orgdomain_normalize(dom, norm, sizeof(norm)) < 0)
		str_copy(norm, sizeof(norm), dom);
	if (fs->n++ == 0)
		str_copy(fs->first, sizeof(fs->first), norm);
	else if (strcasecmp(fs->first, norm) != 0)
		fs->differ = true;
}

/* RFC 7489 6.6.1: the one From: field's domain. With several From: fields
 * (refused by the syntax check before this matters) the first counts. */
static void read_from_domain(struct inbound_auth *ia, const char *hdr, size_t len)
{
	struct mail_field f;
	if (!mail_header_find(hdr, len, "From", &f))
		return;
	char *value = mail_unfold_dup(f.value, f.value_len);
	struct from_scan fs = { .n = 0 };
	mail_address_list_parse(value, strlen(value), on_from_address, &fs);
	free(value);
	str_copy(ia->from_domain, sizeof(ia->from_domain), fs.first);
	ia->from_domains_differ = fs.differ;
}

/* The held header to the spool, without the Authentication-Results
 * fields that claim to be ours. */
static void emit_header(struct inbound_auth *ia, size_t hdr_len, inbound_emit_fn *emit,
                        void *arg)
{
	struct mail_header_iter it;
	struct mail_field f;
	const char *from = ia->hdr;
	mail_header_iter_init(&it, ia->hdr, hdr_len, MAIL_HEADER_LENIENT);
	while (mail_header_next(&it, &f)) {
		if (!authres_field_claims(&f, ia->env.authserv_id) &&
		    (ia->env.ours == NULL || !ia->env.ours(ia->env.ours_arg, &f)))
			continue;
		emit(arg, from, (size_t)(f.raw - from));
		from = f.raw + f.raw_len;
	}
	emit(arg, from, (size_t)(ia->hdr + ia->hdr_len - from));
}

static void on_dkim(void *arg, const struct dkim_result *r, size_t n);
static void on_arc(void *arg, const struct arc_result *r);

/* The header is whole: the verifiers read it and start their lookups, and
 * the held octets (the body's first ones too) go on. */
static void header_complete(struct inbound_auth *ia, size_t hdr_len, size_t body_at,
                            inbound_emit_fn *emit, void *arg)
{
	struct dkim_verify_limits lim = { .max_signatures = ia->env.max_signatures,
	                                  .clock_skew = DKIM_VERIFY_CLOCK_SKEW };
	time_t now = time(NULL);
	ia->header_done = true;
	if (ia->hdr == NULL) {          /* an empty message: an empty header, not a NULL one */
		ia->hdr = xmalloc(1);
		ia->hdr_cap = 1;
	}
	read_from_domain(ia, ia->hdr, hdr_len);
	ia->dkim = dkim_verify_new(&ia->dkim_dns, &lim, now);
	(void)dkim_verify_header(ia->dkim, ia->hdr, hdr_len);
	ia->arc = arc_verify_new(&ia->dkim_dns, NULL, now);
	(void)arc_verify_header(ia->arc, ia->hdr, hdr_len);
	emit_header(ia, body_at, emit, arg);
	if (body_at < ia->hdr_len) {
		dkim_verify_body(ia->dkim, ia->hdr + body_at, ia->hdr_len - body_at);
		arc_verify_body(ia->arc, ia->hdr + body_at, ia->hdr_len - body_at);
	}
	free(ia->hdr);
	ia->hdr = NULL;
	ia->hdr_len = ia->hdr_cap = 0;
}

/* Over INBOUND_HEADER_MAX: what is held goes on unread, and so does the
 * rest; the message is refused at its end. */
static void header_overflow(struct inbound_auth *ia, inbound_emit_fn *emit, void *arg)
{
	ia->header_too_big = true;
	emit(arg, ia->hdr, ia->hdr_len);
	free(ia->hdr);
	ia->hdr = NULL;
	ia->hdr_len = ia->hdr_cap = 0;
}

static void hold(struct inbound_auth *ia, const char *data, size_t len)
{
	if (ia->hdr_len + len > ia->hdr_cap) {
		size_t cap = ia->hdr_cap ? ia->hdr_cap : 4096;
		while (cap < ia->hdr_len + len)
			cap *= 2;
		ia->hdr = xrealloc(ia->hdr, cap);
		ia->hdr_cap = cap;
	}
	memcpy(ia->hdr + ia->hdr_len, data, len);
	ia->hdr_len += len;
}

void inbound_auth_feed(struct inbound_auth *ia, const char *data, size_t len,
                       inbound_emit_fn *emit, void *arg)
{
	if (len == 0)
		return;
	if (ia->header_too_big) {
		emit(arg, data, len);
		return;
	}
	if (ia->header_done) {
		emit(arg, data, len);
		dkim_verify_body(ia->dkim, data, len);
		arc_verify_body(ia->arc, data, len);
		return;
	}
	size_t room = INBOUND_HEADER_MAX + 2 - ia->hdr_len;   /* the empty line's CRLF */
	size_t take = len < room ? len : room;
	hold(ia, data, take);
	size_t hdr_len, body_at;
	if (mail_header_block_end(ia->hdr, ia->hdr_len, &ia->hdr_scan, &hdr_len, &body_at)) {
		header_complete(ia, hdr_len, body_at, emit, arg);
		if (take < len)
			inbound_auth_feed(ia, data + take, len - take, emit, arg);
	} else if (ia->hdr_len > INBOUND_HEADER_MAX) {
		header_overflow(ia, emit, arg);
		if (take < len)
			emit(arg, data + take, len - take);
	}
}

/* ---- DKIM and ARC results ---------------------------------------------- */

static void on_dkim(void *arg, const struct dkim_result *r, size_t n)
{
	struct inbound_auth *ia = arg;
	ia->dkim_res = n ? xmalloc(n * sizeof(*r)) : NULL;
	if (n)
		memcpy(ia->dkim_res, r, n * sizeof(*r));
	ia->ndkim = n;
	ia->dkim_done = true;
	maybe_done(ia);
}

static void on_arc(void *arg, const struct arc_result *r)
{
	struct inbound_auth *ia = arg;
	ia->arc_cv = r->cv;
	str_copy(ia->arc_reason, sizeof(ia->arc_reason), r->reason);
	unsigned i = arc_trusted_instance(r, ia->env.trusted_sealers, ia->env.ntrusted);
	if (i > 0 && r->sets[i - 1].aar != NULL) {
		ia->trusted_aar = xstrdup(r->sets[i - 1].aar);
		str_copy(ia->trusted_sealer, sizeof(ia->trusted_sealer), r->sets[i - 1].seal_domain);
	}
	ia->arc_done = true;
	maybe_done(ia);
}

/* ---- DMARC -------------------------------------------------------------- */

static enum dmarc_spf_result dmarc_spf_of(enum spf_result r)
{
	switch (r) {
	case SPF_PASS: return DMARC_SPF_PASS;
	case SPF_FAIL: return DMARC_SPF_FAIL;
	case SPF_SOFTFAIL: return DMARC_SPF_SOFTFAIL;
	case SPF_NEUTRAL: return DMARC_SPF_NEUTRAL;
	case SPF_TEMPERROR: return DMARC_SPF_TEMPERROR;
	case SPF_PERMERROR: return DMARC_SPF_PERMERROR;
	case SPF_NONE: break;
	}
	return DMARC_SPF_NONE;
}

/* RFC 7489 4.2 and ARC (RFC 8617 7.2): a failure the newest trusted
 * sealer saw as a DMARC pass, before forwarding changed the message or
 * the path, is taken as a pass (local policy, "arc" override). */
static bool trusted_sealer_passed(const struct inbound_auth *ia)
{
	char result[32];
	return ia->trusted_aar != NULL &&
	       authres_method_result(ia->trusted_aar, "dmarc", result, sizeof(result)) == 0 &&
	       strcasecmp(result, "pass") == 0;
}

static void evaluate_dmarc(struct inbound_auth *ia)
{
	struct dmarc_dkim_sig *sigs = xcalloc(ia->ndkim + 1, sizeof(*sigs));
	for (size_t i = 0; i < ia->ndkim; i++)
		sigs[i] = (struct dmarc_dkim_sig){
			.d = ia->dkim_res[i].domain,
			.pass = ia->dkim_res[i].verdict == DKIM_PASS,
			.whole_body = !ia->dkim_res[i].body_partial,
		};
	ia->dmarc_sigs = sigs;
	struct dmarc_input in = {
		.from_domain = ia->found.from_domain,
		.spf = dmarc_spf_of(ia->spf_result),
		.spf_domain = ia->spf_domain,
		.dkim = sigs,
		.ndkim = ia->ndkim,
	};
	ia->dmarc_in = in;
	dmarc_evaluate(ia->env.od, &ia->found, &in, ia->env.dmarc,
	               ia->env.sample ? ia->env.sample : dmarc_sample_random, ia->env.sample_arg,
	               &ia->outcome);
	if (ia->outcome.result == DMARC_RESULT_FAIL && trusted_sealer_passed(ia)) {
		ia->arc_override = true;
		ia->outcome.disposition = DMARC_DISP_ACCEPT;
	}
}

static void on_dmarc_found(void *arg, const struct dmarc_found *found)
{
	struct inbound_auth *ia = arg;
	ia->disc = NULL;
	ia->found = *found;
	evaluate_dmarc(ia);
	ia->dmarc_done = true;
	if (!ia->discovering)
		maybe_done(ia);
}

static void start_dmarc(struct inbound_auth *ia)
{
	ia->dmarc_started = true;
	if (ia->from_domain[0] == '\0' || ia->env.od == NULL) {
		ia->dmarc_done = true;          /* nothing to judge: dmarc=none */
		ia->found.status = DMARC_FOUND_NONE;
		return;
	}
	ia->discovering = true;
	ia->disc = dmarc_discover(&ia->dmarc_dns, ia->env.od, ia->from_domain, on_dmarc_found, ia);
	ia->discovering = false;
}

/* ---- the verdict -------------------------------------------------------- */

/* "pass,fail": each signature's result, for the log */
static void dkim_summary(struct inbound_auth *ia)
{
	size_t len = 0;
	char *out = ia->v.dkim;
	str_copy(out, sizeof(ia->v.dkim), "none");
	for (size_t i = 0; i < ia->ndkim && len + 12 < sizeof(ia->v.dkim); i++)
		len += (size_t)snprintf(out + len, sizeof(ia->v.dkim) - len, "%s%s", i ? "," : "",
		                        dkim_verdict_name(ia->dkim_res[i].verdict));
}

static const char *dmarc_result_text(const struct inbound_auth *ia)
{
	if (!ia->dmarc_started || ia->found.status == DMARC_FOUND_NONE)
		return "none";
	if (ia->found.status == DMARC_FOUND_TEMPERROR)
		return "temperror";
	if (ia->found.status == DMARC_FOUND_PERMERROR)
		return "permerror";
	return dmarc_result_name(ia->outcome.result);
}

/* "p=reject dis=junk", the comment of the dmarc entry */
static void dmarc_comment(const struct inbound_auth *ia, char *out, size_t len)
{
	static const char *const dis[] = {
		[DMARC_DISP_ACCEPT] = "none", [DMARC_DISP_JUNK] = "quarantine",
		[DMARC_DISP_REJECT] = "reject", [DMARC_DISP_DEFER] = "defer",
	};
	if (ia->found.status != DMARC_FOUND_RECORD) {
		out[0] = '\0';
		return;
	}
	snprintf(out, len, "p=%s dis=%s%s%s", dmarc_policy_name(ia->outcome.policy),
	         dis[ia->outcome.disposition], ia->arc_override ? " arc override by " : "",
	         ia->arc_override ? ia->trusted_sealer : "");
}

static void build_authres(struct inbound_auth *ia)
{
	size_t n = 0, cap = ia->ndkim + 4;
	struct authres_entry *e = xcalloc(cap, sizeof(*e));
	char comment[ORGDOMAIN_NAME_MAX + DKIM_NAME_MAX + 64];
	authres_spf(&e[n++], spf_result_name(ia->spf_result), ia->mailfrom, ia->helo);
	for (size_t i = 0; i < ia->ndkim; i++) {
		const struct dkim_result *r = &ia->dkim_res[i];
		authres_dkim(&e[n], dkim_verdict_name(r->verdict), r->domain, r->selector, r->b_prefix);
		e[n++].reason = r->verdict == DKIM_PASS ? NULL : r->reason;
	}
	if (ia->ndkim == 0)
		e[n++] = (struct authres_entry){ .method = "dkim", .result = "none" };
	dmarc_comment(ia, comment, sizeof(comment));
	authres_dmarc(&e[n++], dmarc_result_text(ia), ia->from_domain[0] ? ia->from_domain : NULL,
	              ia->found.status == DMARC_FOUND_RECORD
	                      ? dmarc_policy_name(ia->outcome.applied) : NULL,
	              comment[0] ? comment : NULL);
	authres_arc(&e[n++], arc_cv_name(ia->arc_cv));
	ia->field = authres_header_new(ia->env.authserv_id, e, n, &ia->v.header_len);
	free(e);
	ia->v.header = ia->field;
	/* the payload on one line: what follows "Authentication-Results:" */
	const char *colon = strchr(ia->field, ':');
	ia->payload = mail_unfold_dup(colon + 1, strlen(colon + 1));
	ia->v.payload = ia->payload;
}

__attribute__((format(printf, 5, 6)))
static void refuse(struct inbound_auth *ia, int code, const char *enh, const char *log_result,
                   const char *fmt, ...)
{
	va_list ap;
	ia->v.action = INBOUND_REFUSE;
	ia->v.code = code;
	ia->v.enh = enh;
	ia->v.log_result = log_result;
	va_start(ap, fmt);
	vsnprintf(ia->v.text, sizeof(ia->v.text), fmt, ap);
	va_end(ap);
}

/* What postern does, in order of precedence: an unreadable header, SPF
 * under strict enforcement, then the DMARC disposition. */
static void decide(struct inbound_auth *ia)
{
	bool spf_strict = ia->env.spf == INBOUND_SPF_STRICT;
	if (ia->header_too_big) {
		refuse(ia, 552, "5.3.4", "rejected: header too large",
		       "Message header too large (over %s)", "256 KiB");
	} else if (spf_strict && ia->spf_result == SPF_FAIL) {
		refuse(ia, 550, "5.7.23", "rejected: SPF fail", "SPF check failed: %s", ia->spf_text);
	} else if (spf_strict && ia->spf_result == SPF_TEMPERROR) {
		refuse(ia, 451, "4.7.24", "deferred: SPF temperror",
		       "SPF check could not be completed (%s), try again later", ia->spf_text);
	} else if (ia->from_domains_differ && ia->env.dmarc != DMARC_ENFORCE_NONE) {
		/* RFC 7489 6.6.1: which domain would the reader believe? */
		refuse(ia, 550, "5.7.1", "rejected: From in several domains",
		       "From: addresses in several domains cannot be authenticated (%s)",
		       "RFC 7489 6.6.1");
	} else if (ia->found.status == DMARC_FOUND_RECORD &&
	           ia->outcome.disposition == DMARC_DISP_REJECT) {
		refuse(ia, 550, "5.7.1", "rejected: DMARC policy",
		       "Message refused by the DMARC policy of %s", ia->found.policy_domain);
	} else if (ia->found.status == DMARC_FOUND_RECORD &&
	           ia->outcome.disposition == DMARC_DISP_DEFER) {
		refuse(ia, 451, "4.4.3", "deferred: DMARC temperror",
		       "DMARC policy of %s could not be checked, try again later",
		       ia->found.policy_domain);
	} else if (ia->env.dmarc == DMARC_ENFORCE_STRICT &&
	           ia->found.status == DMARC_FOUND_TEMPERROR) {
		refuse(ia, 451, "4.4.3", "deferred: DMARC temperror",
		       "DMARC policy of %s could not be looked up, try again later", ia->from_domain);
	} else if (ia->found.status == DMARC_FOUND_RECORD &&
	           ia->outcome.disposition == DMARC_DISP_JUNK) {
		ia->v.action = INBOUND_JUNK;
	}
}

static void make_verdict(struct inbound_auth *ia)
{
	struct inbound_verdict *v = &ia->v;
	build_authres(ia);
	decide(ia);
	v->arc_cv = ia->arc_cv;
	v->spf = spf_result_name(ia->spf_result);
	v->dmarc = dmarc_result_text(ia);
	v->arc = arc_cv_name(ia->arc_cv);
	dkim_summary(ia);
	v->failed = ia->spf_result == SPF_FAIL || ia->arc_cv == ARC_CV_FAIL ||
	            (ia->found.status == DMARC_FOUND_RECORD &&
	             ia->outcome.result == DMARC_RESULT_FAIL);
	for (size_t i = 0; i < ia->ndkim; i++)
		v->failed |= ia->dkim_res[i].verdict == DKIM_FAIL;
}

bool inbound_auth_dmarc_event(const struct inbound_auth *ia, const char *source_ip,
                              struct dmarc_agg_event *ev, char rua[DMARC_REPORT_RUA_TEXT])
{
	if (!ia->finished || ia->found.status != DMARC_FOUND_RECORD || ia->dmarc_sigs == NULL)
		return false;
	dmarc_report_event(ev, rua, time(NULL), source_ip, ia->env.od, &ia->found, &ia->dmarc_in,
	                   &ia->outcome);
	return true;
}

static void finish_now(struct inbound_auth *ia)
{
	ia->finished = true;
	if (ia->deadline != NULL)
		event_del(ia->deadline);
	make_verdict(ia);
	ia->done(ia->done_arg, &ia->v);    /* may free ia */
}

/* Called whenever a result arrives: DMARC starts once SPF and DKIM are
 * known, and the verdict once everything is and the caller waits. */
static void maybe_done(struct inbound_auth *ia)
{
	if (ia->finished || !ia->spf_done || !ia->dkim_done)
		return;
	if (!ia->dmarc_started)
		start_dmarc(ia);
	if (ia->finishing && ia->dmarc_done && ia->arc_done)
		finish_now(ia);
}

/* The deadline: whatever has not answered is a temporary error. */
static void on_deadline(evutil_socket_t fd, short what, void *arg)
{
	struct inbound_auth *ia = arg;
	(void)fd;
	(void)what;
	if (!ia->spf_done) {
		spf_check_cancel(ia->spf);
		ia->spf = NULL;
		ia->spf_done = true;
		ia->spf_result = SPF_TEMPERROR;
		str_copy(ia->spf_text, sizeof(ia->spf_text), "DNS did not answer in time");
	}
	if (!ia->dkim_done) {
		dkim_verify_free(ia->dkim);
		ia->dkim = NULL;
		ia->dkim_done = true;
		ia->dkim_res = xcalloc(1, sizeof(*ia->dkim_res));
		ia->dkim_res[0].verdict = DKIM_TEMPERROR;
		str_copy(ia->dkim_res[0].reason, sizeof(ia->dkim_res[0].reason), "key lookup timed out");
		ia->ndkim = 1;
	}
	if (!ia->arc_done) {
		arc_verify_free(ia->arc);
		ia->arc = NULL;
		ia->arc_done = true;
		ia->arc_cv = ARC_CV_FAIL;
		str_copy(ia->arc_reason, sizeof(ia->arc_reason), "key lookup timed out");
	}
	if (!ia->dmarc_started) {
		ia->dmarc_started = true;
		ia->dmarc_done = true;
		ia->found.status = ia->from_domain[0] ? DMARC_FOUND_TEMPERROR : DMARC_FOUND_NONE;
	}
	if (!ia->dmarc_done) {
		dmarc_discover_cancel(ia->disc);
		ia->disc = NULL;
		txt_lookups_free(ia->txt);      /* answers the cancelled discovery */
		ia->txt = txt_lookups_new(ia->env.dns);
		ia->found.status = DMARC_FOUND_TEMPERROR;
		ia->dmarc_done = true;
	}
	finish_now(ia);
}

void inbound_auth_end(struct inbound_auth *ia, inbound_emit_fn *emit, void *arg)
{
	if (!ia->header_done && !ia->header_too_big)
		header_complete(ia, ia->hdr_len, ia->hdr_len, emit, arg);   /* all header */
	if (ia->header_too_big) {
		ia->dkim_done = ia->arc_done = true;
		return;
	}
	dkim_verify_finish(ia->dkim, on_dkim, ia);
	arc_verify_finish(ia->arc, on_arc, ia);
}

void inbound_auth_wait(struct inbound_auth *ia, inbound_done_fn *done, void *arg)
{
	ia->done = done;
	ia->done_arg = arg;
	ia->finishing = true;
	if (ia->env.base != NULL) {
		unsigned ms = ia->env.deadline_ms ? ia->env.deadline_ms : INBOUND_DEADLINE_MS;
		struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };
		ia->deadline = evtimer_new(ia->env.base, on_deadline, ia);
		evtimer_add(ia->deadline, &tv);
	}
	maybe_done(ia);
}

void inbound_auth_free(struct inbound_auth *ia)
{
	if (ia == NULL)
		return;
	if (ia->spf != NULL)
		spf_check_cancel(ia->spf);
	dkim_verify_free(ia->dkim);
	arc_verify_free(ia->arc);
	dmarc_discover_cancel(ia->disc);
	txt_lookups_free(ia->txt);
	if (ia->deadline != NULL)
		event_free(ia->deadline);
	free(ia->hdr);
	free(ia->dkim_res);
	free(ia->dmarc_sigs);
	free(ia->trusted_aar);
	free(ia->field);
	free(ia->payload);
	free(ia);
}
