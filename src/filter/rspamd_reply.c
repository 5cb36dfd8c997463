/* rspamd's /checkv2 reply (JSON) and what it means for the message: the
 * verdict, the reply text and the header fields added. Everything in a
 * reply is treated as hostile: bounded, sanitized before it reaches a
 * header or a log. */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "filter/rspamd.h"

/* Symbols shown in X-Spamd-Result at most (rspamd seldom fires 30). */
#define SYMBOLS_MAX 64
/* A score beyond this is not a score. */
#define SCORE_LIMIT 1e6

static const char *const action_names[] = {
	[RSPAMD_NO_ACTION] = "no action",
	[RSPAMD_GREYLIST] = "greylist",
	[RSPAMD_ADD_HEADER] = "add header",
	[RSPAMD_REWRITE_SUBJECT] = "rewrite subject",
	[RSPAMD_SOFT_REJECT] = "soft reject",
	[RSPAMD_REJECT] = "reject",
	[RSPAMD_QUARANTINE] = "quarantine",
	[RSPAMD_DISCARD] = "discard",
	[RSPAMD_ACTION_OTHER] = "other",
};

const char *rspamd_action_name(enum rspamd_action a)
{
	return (size_t)a < ARRAY_LEN(action_names) ? action_names[a] : "other";
}

static const char *const verdict_names[] = {
	[RSPAMD_ACCEPT] = "accept", [RSPAMD_JUNK] = "junk",
	[RSPAMD_DEFER] = "defer", [RSPAMD_REJECT_MSG] = "reject",
};

const char *rspamd_verdict_name(enum rspamd_verdict v)
{
	return (size_t)v < ARRAY_LEN(verdict_names) ? verdict_names[v] : "accept";
}

static enum rspamd_action parse_action(const char *text)
{
	/* rspamd says "soft reject", its configuration "soft_reject" */
	char norm[32];
	size_t i = 0;
	for (; text[i] && i < sizeof(norm) - 1; i++)
		norm[i] = text[i] == '_' ? ' ' : text[i];
	norm[i] = '\0';
	for (size_t a = 0; a < RSPAMD_ACTION_OTHER; a++)
		if (strcasecmp(norm, action_names[a]) == 0)
			return (enum rspamd_action)a;
	return RSPAMD_ACTION_OTHER;
}

/* Copies text into out keeping printable ASCII, a space for anything else
 * (controls, CR, LF), so that it is safe in a header, a reply or a log. */
static void copy_printable(char *out, size_t outlen, const char *text, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len && n + 1 < outlen; i++) {
		unsigned char c = (unsigned char)text[i];
		out[n++] = c >= 0x20 && c < 0x7f ? (char)c : ' ';
	}
	out[n] = '\0';
}

/* A header value: controls become spaces; 8-bit octets stay (a subject
 * may be raw UTF-8 as the sender wrote it). */
static void copy_header_value(char *out, size_t outlen, const char *text, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len && n + 1 < outlen; i++) {
		unsigned char c = (unsigned char)text[i];
		out[n++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	/* a cut must not leave half of a UTF-8 sequence */
	while (n > 0 && ((unsigned char)out[n - 1] & 0xc0) == 0x80)
		n--;
	if (n > 0 && (unsigned char)out[n - 1] >= 0xc0)
		n--;
	out[n] = '\0';
}

static bool number(const json_t *v, double *out)
{
	if (!json_is_number(v))
		return false;
	double d = json_number_value(v);
	if (!isfinite(d) || fabs(d) > SCORE_LIMIT)
		return false;
	*out = d;
	return true;
}

/* Symbol names rspamd makes: letters, digits, '_', '-', '.'. */
static bool symbol_name_ok(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '_' || c == '-' || c == '.'))
			return false;
	}
	return true;
}

struct symbol {
	const char *name;
	double score;
};

static int by_score(const void *a, const void *b)
{
	const struct symbol *x = a, *y = b;
	if (fabs(x->score) != fabs(y->score))
		return fabs(x->score) < fabs(y->score) ? 1 : -1;
	return strcmp(x->name, y->name);
}

/* "SYM(1.50), SYM2(-0.10)" in out, highest first, cut at a symbol's end. */
static void format_symbols(const json_t *symbols, char *out, size_t outlen)
{
	struct symbol list[SYMBOLS_MAX];
	size_t n = 0, len = 0;
	const char *key;
	json_t *v;
	out[0] = '\0';
	if (!json_is_object(symbols))
		return;
	json_object_foreach((json_t *)symbols, key, v) {
		double score = 0;
		if (n == SYMBOLS_MAX)
			break;
		if (!symbol_name_ok(key))
			continue;
		if (!number(json_object_get(v, "score"), &score))
			score = 0;
		list[n++] = (struct symbol){ key, score };
	}
	qsort(list, n, sizeof(list[0]), by_score);
	for (size_t i = 0; i < n; i++) {
		char one[96];
		int w = snprintf(one, sizeof(one), "%s%s(%.2f)", i ? ", " : "", list[i].name,
		                 list[i].score);
		if (w < 0 || len + (size_t)w + 1 > outlen)
			break;
		memcpy(out + len, one, (size_t)w + 1);
		len += (size_t)w;
	}
}

static int parse_object(const json_t *root, struct rspamd_reply *out, char *err, size_t errlen)
{
	const json_t *action = json_object_get(root, "action");
	if (!json_is_string(action)) {
		snprintf(err, errlen, "no action in the reply");
		return -1;
	}
	copy_printable(out->action_text, sizeof(out->action_text), json_string_value(action),
	               json_string_length(action));
	out->action = parse_action(out->action_text);
	if (!number(json_object_get(root, "score"), &out->score) ||
	    !number(json_object_get(root, "required_score"), &out->required)) {
		snprintf(err, errlen, "no usable score in the reply");
		return -1;
	}
	const json_t *subject = json_object_get(root, "subject");
	if (json_is_string(subject)) {
		out->has_subject = true;
		copy_header_value(out->subject, sizeof(out->subject), json_string_value(subject),
		                  json_string_length(subject));
	}
	const json_t *msg = json_object_get(json_object_get(root, "messages"), "smtp_message");
	if (json_is_string(msg))
		copy_printable(out->message, sizeof(out->message), json_string_value(msg),
		               json_string_length(msg));
	format_symbols(json_object_get(root, "symbols"), out->symbols, sizeof(out->symbols));
	return 0;
}

int rspamd_reply_parse(const char *json, size_t len, struct rspamd_reply *out, char *err,
                       size_t errlen)
{
	memset(out, 0, sizeof(*out));
	if (len > RSPAMD_REPLY_MAX) {
		snprintf(err, errlen, "reply too large");
		return -1;
	}
	json_error_t jerr;
	json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL || !json_is_object(root)) {
		snprintf(err, errlen, "reply is not a JSON object");
		json_decref(root);
		return -1;
	}
	int rc = parse_object(root, out, err, errlen);
	json_decref(root);
	return rc;
}

/* ---- the result ---------------------------------------------------------- */

static void refuse(struct rspamd_result *r, enum rspamd_verdict v, int code, const char *enh,
                   const char *message, const char *fallback)
{
	r->verdict = v;
	r->code = code;
	r->enh = enh;
	snprintf(r->text, sizeof(r->text), "%s", message[0] ? message : fallback);
}

/* Appends "Name: value\n" folded at ", " to stay near 78 columns. */
static void add_field(struct rspamd_result *r, const char *name, const char *value)
{
	size_t room = sizeof(r->headers) - r->headers_len;
	size_t col = strlen(name) + 2;
	char *p = r->headers + r->headers_len;
	int w = snprintf(p, room, "%s: ", name);
	if (w < 0 || (size_t)w >= room)
		return;
	size_t n = (size_t)w;
	for (const char *v = value; *v; v++) {
		if (v > value && v[0] == ' ' && v[-1] == ',' && col > 60) {
			if (n + 3 >= room)
				return;
			memcpy(p + n, "\n\t", 2);
			n += 2;
			col = 8;
			continue;
		}
		if (n + 2 >= room)
			return;
		p[n++] = *v;
		col++;
	}
	p[n++] = '\n';
	p[n] = '\0';
	r->headers_len += n;
}

static void build_headers(const struct rspamd_reply *rep, struct rspamd_result *r)
{
	char line[sizeof(rep->symbols) + 96];
	/* rspamd's own X-Spamd-Result: "default: True [score / required]" then the symbols */
	snprintf(line, sizeof(line), "default: %s [%.2f / %.2f]%s%s",
	         r->verdict == RSPAMD_JUNK ? "True" : "False", rep->score, rep->required,
	         rep->symbols[0] ? "; " : "", rep->symbols);
	add_field(r, "X-Spamd-Result", line);
	snprintf(line, sizeof(line), "%.2f", rep->score);
	add_field(r, "X-Rspamd-Score", line);
	add_field(r, "X-Rspamd-Action", rep->action_text);
	if (r->verdict == RSPAMD_JUNK)
		add_field(r, "X-Spam", "Yes");
}

void rspamd_result_from_reply(const struct rspamd_reply *rep, struct rspamd_result *r)
{
	memset(r, 0, sizeof(*r));
	r->scanned = true;
	r->action = rep->action;
	r->score = rep->score;
	r->required = rep->required;
	switch (rep->action) {
	case RSPAMD_REJECT:
		refuse(r, RSPAMD_REJECT_MSG, 550, "5.7.1", rep->message, "Spam message rejected");
		break;
	case RSPAMD_SOFT_REJECT:
		refuse(r, RSPAMD_DEFER, 451, "4.7.1", rep->message, "Try again later");
		break;
	case RSPAMD_REWRITE_SUBJECT:
		r->verdict = RSPAMD_JUNK;
		if (rep->has_subject && rep->subject[0])
			snprintf(r->subject, sizeof(r->subject), "%s", rep->subject);
		break;
	case RSPAMD_ADD_HEADER:
	/* the Junk folder is postern's quarantine; nothing is dropped unseen */
	case RSPAMD_QUARANTINE:
	case RSPAMD_DISCARD:
		r->verdict = RSPAMD_JUNK;
		break;
	/* As rspamd's own milter does at the end of DATA: "greylist" says the
	 * score is high enough for greylisting, and rspamd's greylist module,
	 * when on, answers "soft reject" itself until the triplet has waited;
	 * refusing every "greylist" would refuse the retry too, for ever. */
	case RSPAMD_GREYLIST:
	case RSPAMD_NO_ACTION:
	case RSPAMD_ACTION_OTHER:
		r->verdict = RSPAMD_ACCEPT;
		break;
	}
	snprintf(r->log, sizeof(r->log), "%s score=%.2f/%.2f", rep->action_text, rep->score,
	         rep->required);
	if (r->verdict == RSPAMD_ACCEPT || r->verdict == RSPAMD_JUNK)
		build_headers(rep, r);
}

void rspamd_result_error(enum config_rspamd_on_error on_error, const char *why,
                         struct rspamd_result *r)
{
	memset(r, 0, sizeof(*r));
	r->failed = true;
	snprintf(r->log, sizeof(r->log), "error: %s", why);
	if (on_error == CONFIG_RSPAMD_ACCEPT)
		r->verdict = RSPAMD_ACCEPT;
	else
		refuse(r, RSPAMD_DEFER, 451, "4.7.1", "", "Content filter unavailable, try again later");
}

bool rspamd_header_is_ours(const char *name, size_t len)
{
	static const char *const exact[] = { "X-Spamd-Result", "X-Spam", "X-Spamd-Bar" };
	for (size_t i = 0; i < ARRAY_LEN(exact); i++)
		if (len == strlen(exact[i]) && strncasecmp(name, exact[i], len) == 0)
			return true;
	return len > 9 && strncasecmp(name, "X-Rspamd-", 9) == 0;
}
