/* The header of a message as clients search and sort it; see summary.h. */
#include "mail/summary.h"

#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "core/util.h"
#include "mail/address.h"
#include "mail/date.h"
#include "mail/encoded_word.h"
#include "mail/header.h"
#include "mail/subject.h"

/* ENVELOPE's spelling of a missing local part (imap_envelope.c, Dovecot) */
#define MISSING_MAILBOX "MISSING_MAILBOX"
#define MISSING_DOMAIN "MISSING_DOMAIN"

enum field { F_SUBJECT, F_FROM, F_TO, F_CC, F_BCC, F_MESSAGE_ID, F_IN_REPLY_TO, F_REFERENCES,
             F_DATE, F_COUNT };

static const char *const field_names[F_COUNT] = {
	"Subject", "From", "To", "Cc", "Bcc", "Message-ID", "In-Reply-To", "References", "Date",
};

struct collect {
	bool seen[F_COUNT];
	struct buf text[F_COUNT];       /* every occurrence, "\n" between */
	struct buf addrs[F_COUNT];      /* address fields: the normalised lists */
	char *first[F_COUNT];           /* the first occurrence, unfolded, raw */
};

static bool is_address_field(enum field f)
{
	return f == F_FROM || f == F_TO || f == F_CC || f == F_BCC;
}

static bool is_decoded_field(enum field f)
{
	return f == F_SUBJECT || is_address_field(f);
}

/* raw with its encoded-words decoded, appended to out */
static void append_decoded(struct buf *out, const char *raw)
{
	size_t cap = strlen(raw) * 3 + 1;   /* an octet decodes to at most U+FFFD */
	buf_reserve(out, cap);
	out->len += mail_encoded_words_decode(raw, out->data + out->len, cap);
	out->data[out->len] = '\0';
}

static void append_normal_address(void *ctx, const struct mail_address_view *v)
{
	struct buf *out = ctx;
	if (out->len > 0)
		buf_puts(out, ", ");
	if (v->kind == MAIL_ADDRESS_GROUP_END) {
		buf_puts(out, ";");
		return;
	}
	bool named = v->s[MAIL_ADDRESS_NAME] != NULL && v->n[MAIL_ADDRESS_NAME] > 0;
	if (named)
		buf_append(out, v->s[MAIL_ADDRESS_NAME], v->n[MAIL_ADDRESS_NAME]);
	if (v->kind == MAIL_ADDRESS_GROUP_START) {
		buf_puts(out, ":");
		return;
	}
	buf_puts(out, named ? " <" : "<");
	if (v->s[MAIL_ADDRESS_LOCAL] != NULL)
		buf_append(out, v->s[MAIL_ADDRESS_LOCAL], v->n[MAIL_ADDRESS_LOCAL]);
	if (v->s[MAIL_ADDRESS_DOMAIN] != NULL) {
		buf_puts(out, "@");
		buf_append(out, v->s[MAIL_ADDRESS_DOMAIN], v->n[MAIL_ADDRESS_DOMAIN]);
	}
	buf_puts(out, ">");
}

/* "name <local@domain>, ..." of an address list, names decoded */
static void append_normal_addresses(struct buf *out, const char *raw)
{
	struct buf norm;
	buf_init(&norm);
	mail_address_list_parse(raw, strlen(raw), append_normal_address, &norm);
	append_decoded(out, norm.data);
	buf_free(&norm);
}

static void add_occurrence(struct collect *c, enum field f, const struct mail_field *mf)
{
	char *raw = mail_unfold_dup(mf->value, mf->value_len);
	if (c->seen[f]) {
		buf_append(&c->text[f], "\n", 1);
		if (is_address_field(f))
			buf_append(&c->addrs[f], "\n", 1);
	}
	c->seen[f] = true;
	if (is_decoded_field(f))
		append_decoded(&c->text[f], raw);
	else
		buf_puts(&c->text[f], raw);
	if (is_address_field(f))
		append_normal_addresses(&c->addrs[f], raw);
	if (c->first[f] == NULL)
		c->first[f] = raw;
	else
		free(raw);
}

/* ---- the first address of a list: what SORT looks at ---- */

static char *dup_n(const char *s, size_t n)
{
	char *d = xmalloc(n + 1);
	memcpy(d, s, n);
	d[n] = '\0';
	return d;
}

/* RFC 5256 3 FROM, TO, CC: the addr-mailbox of the address. */
static char *mailbox_of(const struct mail_address_view *v)
{
	int part = v->kind == MAIL_ADDRESS_GROUP_START ? MAIL_ADDRESS_NAME : MAIL_ADDRESS_LOCAL;
	if (v->s[part] == NULL)
		return xstrdup(part == MAIL_ADDRESS_LOCAL ? MISSING_MAILBOX : "");
	return dup_n(v->s[part], v->n[part]);
}

/* RFC 5957 DISPLAYFROM, DISPLAYTO: the decoded display name, else the addr-spec. */
static char *display_name_of(const struct mail_address_view *v)
{
	struct buf out;
	buf_init(&out);
	if (v->s[MAIL_ADDRESS_NAME] != NULL && v->n[MAIL_ADDRESS_NAME] > 0) {
		char *name = dup_n(v->s[MAIL_ADDRESS_NAME], v->n[MAIL_ADDRESS_NAME]);
		append_decoded(&out, name);
		free(name);
		if (out.len > 0)
			return out.data;
	}
	if (v->kind == MAIL_ADDRESS_GROUP_START)
		return out.data;    /* an unnamed group */
	/* addr-mailbox "@" addr-host as ENVELOPE shows them, the missing parts
	 * spelled out the same way (Dovecot sorts so too) */
	if (v->s[MAIL_ADDRESS_LOCAL] != NULL)
		buf_append(&out, v->s[MAIL_ADDRESS_LOCAL], v->n[MAIL_ADDRESS_LOCAL]);
	else
		buf_puts(&out, MISSING_MAILBOX);
	buf_append(&out, "@", 1);
	if (v->s[MAIL_ADDRESS_DOMAIN] != NULL)
		buf_append(&out, v->s[MAIL_ADDRESS_DOMAIN], v->n[MAIL_ADDRESS_DOMAIN]);
	else
		buf_puts(&out, MISSING_DOMAIN);
	return out.data;
}

/* The views point into the parser's own memory: copied while it runs. */
struct first_address {
	char *mailbox, *display;
};

static void take_first(void *ctx, const struct mail_address_view *v)
{
	struct first_address *fa = ctx;
	if (fa->mailbox == NULL && v->kind != MAIL_ADDRESS_GROUP_END) {
		fa->mailbox = mailbox_of(v);
		fa->display = display_name_of(v);
	}
}

static void read_first_address(const char *raw, char **mailbox, char **display)
{
	struct first_address fa = { NULL, NULL };
	if (raw != NULL)
		mail_address_list_parse(raw, strlen(raw), take_first, &fa);
	*mailbox = fa.mailbox != NULL ? fa.mailbox : xstrdup("");
	if (display != NULL)
		*display = fa.display != NULL ? fa.display : xstrdup("");
	else
		free(fa.display);
}

/* ---- the whole ---- */

static char *take_text(struct collect *c, enum field f, bool addrs)
{
	struct buf *b = addrs ? &c->addrs[f] : &c->text[f];
	if (!c->seen[f])
		return NULL;
	if (b->data == NULL)
		buf_init(b);
	char *s = b->data;
	b->data = NULL;
	return s;
}

static void read_subject(struct mail_summary *s, const struct collect *c)
{
	struct buf decoded, base;
	buf_init(&decoded);
	buf_init(&base);
	if (c->first[F_SUBJECT] != NULL)
		append_decoded(&decoded, c->first[F_SUBJECT]);
	mail_base_subject(decoded.data, decoded.len, &base, &s->reply_or_fwd);
	s->base_subject = base.data;
	buf_free(&decoded);
}

static void read_date(struct mail_summary *s, const char *raw)
{
	struct mail_date d;
	if (raw == NULL || !mail_date_parse(raw, strlen(raw), &d))
		return;
	s->has_date = true;
	s->sent_time = d.unix_time;
	s->sent_day = d.day;
}

void mail_summary_read(struct mail_summary *s, const char *hdr, size_t len)
{
	struct collect c;
	struct mail_header_iter it;
	struct mail_field mf;
	memset(&c, 0, sizeof(c));
	memset(s, 0, sizeof(*s));
	mail_header_iter_init(&it, hdr, len, MAIL_HEADER_LENIENT);
	while (mail_header_next(&it, &mf)) {
		for (int f = 0; f < F_COUNT; f++) {
			if (mail_field_is(&mf, field_names[f])) {
				add_occurrence(&c, (enum field)f, &mf);
				break;
			}
		}
	}
	s->subject = take_text(&c, F_SUBJECT, false);
	s->from = take_text(&c, F_FROM, false);
	s->to = take_text(&c, F_TO, false);
	s->cc = take_text(&c, F_CC, false);
	s->bcc = take_text(&c, F_BCC, false);
	s->from_addrs = take_text(&c, F_FROM, true);
	s->to_addrs = take_text(&c, F_TO, true);
	s->cc_addrs = take_text(&c, F_CC, true);
	s->bcc_addrs = take_text(&c, F_BCC, true);
	s->message_id = take_text(&c, F_MESSAGE_ID, false);
	s->in_reply_to = take_text(&c, F_IN_REPLY_TO, false);
	s->references = take_text(&c, F_REFERENCES, false);
	s->date = take_text(&c, F_DATE, false);
	read_subject(s, &c);
	read_date(s, c.first[F_DATE]);
	read_first_address(c.first[F_FROM], &s->first_from, &s->display_from);
	read_first_address(c.first[F_TO], &s->first_to, &s->display_to);
	read_first_address(c.first[F_CC], &s->first_cc, NULL);
	for (int f = 0; f < F_COUNT; f++) {
		buf_free(&c.text[f]);
		buf_free(&c.addrs[f]);
		free(c.first[f]);
	}
}

void mail_summary_free(struct mail_summary *s)
{
	char *const all[] = {
		s->subject, s->from, s->to, s->cc, s->bcc, s->from_addrs, s->to_addrs, s->cc_addrs,
		s->bcc_addrs, s->message_id, s->in_reply_to, s->references, s->date, s->base_subject,
		s->first_from, s->first_to, s->first_cc, s->display_from, s->display_to,
	};
	for (size_t i = 0; i < ARRAY_LEN(all); i++)
		free(all[i]);
	memset(s, 0, sizeof(*s));
}
