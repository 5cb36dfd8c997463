/* IMAP strings and ENVELOPE (RFC 3501 7.4.2, RFC 9051): how IMAP renders a
 * message's header; the parsing is src/mail's. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/util.h"
#include "imap/imap_render.h"
#include "mail/address.h"
#include "mail/mime.h"

#define MISSING_MAILBOX "MISSING_MAILBOX"
#define MISSING_DOMAIN "MISSING_DOMAIN"

/* RFC 3501 4.3 allows escaping '"' and '\' in a quoted string; past a few
 * of them a literal is shorter (Dovecot's imap-quote.c makes the same call) */
#define QUOTED_MAX_ESCAPES 4

/* ---- strings ---- */

void imap_nstring_n(struct buf *o, const char *s, size_t n)
{
	unsigned int escapes = 0;
	bool literal = false;

	if (s == NULL) {
		buf_puts(o, "NIL");
		return;
	}
	for (size_t i = 0; i < n && !literal; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			literal = ++escapes > QUOTED_MAX_ESCAPES;
		else if (c == '\r' || c == '\n' || c == '\0' || c >= 0x80)
			literal = true;
	}
	if (literal) {
		char len[32];
		snprintf(len, sizeof len, "{%zu}\r\n", n);
		buf_puts(o, len);
		for (size_t i = 0; i < n; i++) {
			/* RFC 3501 literals are CHAR8: no NUL */
			char c = s[i] == '\0' ? (char)0x80 : s[i];
			buf_append(o, &c, 1);
		}
		return;
	}
	buf_append(o, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_append(o, "\\", 1);
		buf_append(o, &s[i], 1);
	}
	buf_append(o, "\"", 1);
}

void imap_nstring(struct buf *o, const char *s)
{
	imap_nstring_n(o, s, s != NULL ? strlen(s) : 0);
}

/* ---- ENVELOPE ---- */

struct render {
	struct buf *out;
	size_t count;           /* structures written */
	bool in_group;          /* a group start written, its end not yet */
	bool full;              /* something was dropped: nothing more but a group end */
};

/* Whether v is written under IMAP_ENVELOPE_MAX_ADDRESSES. Every structure counts,
 * group markers too ("g:;g:;..." is as cheap to send as "a,a,..."); a
 * group start is written only with room left for its end, and that end is
 * then always written, so the list stays well-formed. */
static bool render_admit(struct render *r, const struct mail_address_view *v)
{
	bool group_start = v->kind == MAIL_ADDRESS_GROUP_START;
	size_t need = group_start ? 2 : 1, reserved = r->in_group ? 1 : 0;

	if (v->kind == MAIL_ADDRESS_GROUP_END) {
		bool open = r->in_group;
		r->in_group = false;
		return open;    /* the end of a dropped group is dropped */
	}
	if (r->full || r->count + reserved + need > IMAP_ENVELOPE_MAX_ADDRESSES) {
		r->full = true;
		return false;
	}
	r->in_group |= group_start;
	return true;
}

/* RFC 3501 7.4.2: a group start is (NIL NIL name NIL), its end all NIL; a
 * missing local part or domain is "MISSING_MAILBOX" / "MISSING_DOMAIN"
 * (Dovecot's spelling; host NIL would read as a group). */
static void write_address(struct buf *out, const struct mail_address_view *v)
{
	const char *s[4] = { NULL, NULL, NULL, NULL };
	size_t n[4] = { 0, 0, 0, 0 };

	if (v->kind == MAIL_ADDRESS_GROUP_START) {
		s[2] = v->s[MAIL_ADDRESS_NAME] != NULL ? v->s[MAIL_ADDRESS_NAME] : "";
		n[2] = v->n[MAIL_ADDRESS_NAME];
	} else if (v->kind == MAIL_ADDRESS_MAILBOX) {
		static const char *const missing[4] = {
			NULL, NULL, MISSING_MAILBOX, MISSING_DOMAIN,
		};
		for (int i = 0; i < 4; i++) {
			s[i] = v->s[i] != NULL ? v->s[i] : missing[i];
			n[i] = v->s[i] != NULL ? v->n[i] : s[i] != NULL ? strlen(s[i]) : 0;
		}
	}
	buf_append(out, "(", 1);
	for (int i = 0; i < 4; i++) {
		if (i > 0)
			buf_append(out, " ", 1);
		imap_nstring_n(out, s[i], n[i]);
	}
	buf_append(out, ")", 1);
}

void imap_write_address(struct buf *out, const struct mail_address_view *v)
{
	write_address(out, v);
}

static void render_emit(void *ctx, const struct mail_address_view *v)
{
	struct render *r = ctx;

	if (!render_admit(r, v))
		return;
	write_address(r->out, v);
	r->count++;
}

/* env-from etc.: "(" 1*address ")" or NIL; an empty list takes fallback
 * (RFC 3501: sender and reply-to default to from). At most
 * IMAP_ENVELOPE_MAX_ADDRESSES structures (render_admit). */
void imap_write_address_list(struct buf *out, const char *value, const char *fallback)
{
	struct buf tmp;
	struct render r = { .out = &tmp };

	buf_init(&tmp);
	if (value != NULL)
		mail_address_list_parse(value, strlen(value), render_emit, &r);
	if (r.count == 0 && fallback != NULL)
		mail_address_list_parse(fallback, strlen(fallback), render_emit, &r);
	if (r.count == 0) {
		buf_puts(out, "NIL");
	} else {
		buf_append(out, "(", 1);
		buf_append(out, tmp.data, tmp.len);
		buf_append(out, ")", 1);
	}
	buf_free(&tmp);
}

void imap_write_envelope(const struct mime_part *msg, struct buf *out)
{
	const struct mime_envelope *e = msg != NULL ? msg->envelope : NULL;

	if (e == NULL) {
		buf_puts(out, "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");
		return;
	}
	buf_append(out, "(", 1);
	imap_nstring(out, e->date);
	buf_append(out, " ", 1);
	imap_nstring(out, e->subject);
	buf_append(out, " ", 1);
	imap_write_address_list(out, e->from, NULL);
	buf_append(out, " ", 1);
	imap_write_address_list(out, e->sender, e->from);
	buf_append(out, " ", 1);
	imap_write_address_list(out, e->reply_to, e->from);
	buf_append(out, " ", 1);
	imap_write_address_list(out, e->to, NULL);
	buf_append(out, " ", 1);
	imap_write_address_list(out, e->cc, NULL);
	buf_append(out, " ", 1);
	imap_write_address_list(out, e->bcc, NULL);
	buf_append(out, " ", 1);
	imap_nstring(out, e->in_reply_to);
	buf_append(out, " ", 1);
	imap_nstring(out, e->message_id);
	buf_append(out, ")", 1);
}
