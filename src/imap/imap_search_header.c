/* SEARCH's header keys; see imap_search_header.h. */
#include "imap/imap_search_header.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/casemap.h"
#include "core/util.h"
#include "imap/imap_search_parse.h"
#include "mail/encoded_word.h"
#include "mail/header.h"
#include "mail/summary.h"

void imap_search_header_of_summary(struct imap_search_header *h, const struct mail_summary *s,
                                   const char *raw, size_t raw_len)
{
	const char *const f[IMAP_HF_COUNT] = {
		s->subject, s->from, s->to, s->cc, s->bcc, s->from_addrs, s->to_addrs, s->cc_addrs,
		s->bcc_addrs, s->message_id, s->in_reply_to, s->references, s->date,
	};
	memcpy(h->field, f, sizeof(f));
	h->raw = raw;
	h->raw_len = raw_len;
}

/* Whether the key's string occurs in value (every occurrence of the field,
 * "\n" between them). An empty string is found in any field there is. */
static bool value_contains(const char *value, const struct imap_search_node *n, struct buf *scratch)
{
	if (value == NULL)
		return false;
	/* a value never holds a line end: the "\n" between occurrences must not match */
	if (memchr(n->str_casemap, '\n', n->str_casemap_len) != NULL)
		return false;
	return casemap_contains(value, strlen(value), n->str_casemap, n->str_casemap_len, scratch);
}

static bool address_key_matches(const struct imap_search_header *h, enum imap_header_field text,
                                enum imap_header_field addrs, const struct imap_search_node *n,
                                struct buf *scratch)
{
	return value_contains(h->field[text], n, scratch) ||
	       value_contains(h->field[addrs], n, scratch);
}

/* The field HEADER names, when it is one the cache keeps, else -1. */
static int kept_field(const char *name)
{
	static const struct { const char *name; enum imap_header_field f; } kept[] = {
		{ "Subject", IMAP_HF_SUBJECT }, { "From", IMAP_HF_FROM }, { "To", IMAP_HF_TO },
		{ "Cc", IMAP_HF_CC }, { "Bcc", IMAP_HF_BCC }, { "Message-ID", IMAP_HF_MESSAGE_ID },
		{ "In-Reply-To", IMAP_HF_IN_REPLY_TO }, { "References", IMAP_HF_REFERENCES },
		{ "Date", IMAP_HF_DATE },
	};
	for (size_t i = 0; i < ARRAY_LEN(kept); i++)
		if (strcasecmp(name, kept[i].name) == 0)
			return (int)kept[i].f;
	return -1;
}

static unsigned fields_of_key(const struct imap_search_node *n)
{
	int f;
	switch (n->key) {
	case IMAP_SK_FROM: return 1u << IMAP_HF_FROM | 1u << IMAP_HF_FROM_ADDRS;
	case IMAP_SK_TO: return 1u << IMAP_HF_TO | 1u << IMAP_HF_TO_ADDRS;
	case IMAP_SK_CC: return 1u << IMAP_HF_CC | 1u << IMAP_HF_CC_ADDRS;
	case IMAP_SK_BCC: return 1u << IMAP_HF_BCC | 1u << IMAP_HF_BCC_ADDRS;
	case IMAP_SK_SUBJECT: return 1u << IMAP_HF_SUBJECT;
	case IMAP_SK_HEADER:
		f = kept_field(n->field);
		return f >= 0 ? 1u << f : 0;
	default: return 0;
	}
}

unsigned imap_search_header_fields(const struct imap_search_node *n)
{
	unsigned fields = 0;
	for (; n != NULL; n = n->next)
		fields |= fields_of_key(n) | imap_search_header_fields(n->child);
	return fields;
}

/* HEADER on any other field: every occurrence in the raw header, decoded. */
static bool raw_field_matches(const struct imap_search_header *h, const struct imap_search_node *n,
                              struct buf *scratch)
{
	struct mail_header_iter it;
	struct mail_field f;
	mail_header_iter_init(&it, h->raw, h->raw_len, MAIL_HEADER_LENIENT);
	while (mail_header_next(&it, &f)) {
		if (!mail_field_is(&f, n->field))
			continue;
		char *raw = mail_unfold_dup(f.value, f.value_len);
		size_t cap = strlen(raw) * 3 + 1;
		char *dec = xmalloc(cap);
		mail_encoded_words_decode(raw, dec, cap);
		bool hit = value_contains(dec, n, scratch);
		free(dec);
		free(raw);
		if (hit)
			return true;
	}
	return false;
}

int imap_search_header_match(const struct imap_search_node *n, const struct imap_search_header *h,
                             struct buf *scratch)
{
	int f;
	switch (n->key) {
	case IMAP_SK_FROM:
		return address_key_matches(h, IMAP_HF_FROM, IMAP_HF_FROM_ADDRS, n, scratch);
	case IMAP_SK_TO:
		return address_key_matches(h, IMAP_HF_TO, IMAP_HF_TO_ADDRS, n, scratch);
	case IMAP_SK_CC:
		return address_key_matches(h, IMAP_HF_CC, IMAP_HF_CC_ADDRS, n, scratch);
	case IMAP_SK_BCC:
		return address_key_matches(h, IMAP_HF_BCC, IMAP_HF_BCC_ADDRS, n, scratch);
	case IMAP_SK_SUBJECT:
		return value_contains(h->field[IMAP_HF_SUBJECT], n, scratch);
	case IMAP_SK_HEADER:
		f = kept_field(n->field);
		if (f >= 0)
			return value_contains(h->field[f], n, scratch);
		return h->raw != NULL ? raw_field_matches(h, n, scratch) : -1;
	default:
		return -1;
	}
}
