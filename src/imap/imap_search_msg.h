/* One message as the search criteria see it (the search job, imap_search.c,
 * evaluates them): its row of the header cache, read a batch at a time
 * alongside the messages, and its text, read from the file only when a key
 * needs it (BODY, TEXT, a header key the row cannot answer). Internal to
 * src/imap. */
#ifndef POSTERN_IMAP_SEARCH_MSG_H
#define POSTERN_IMAP_SEARCH_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "imap/imap_search_header.h"
#include "imap/imap_search_parse.h"
#include "mail/summary.h"

struct imap_session;
struct mime_part;

/* A header cache row, copied out of the store. */
struct imap_search_row {
	uint32_t uid;
	long long arrival;
	uint64_t size;
	bool has_sent_day, complete;
	int32_t sent_day;
	size_t off[IMAP_HF_COUNT];      /* the fields in the window's arena; SIZE_MAX: absent */
};

/* The rows of a stretch of UIDs; UIDs are asked for in ascending order. */
struct imap_search_rows {
	unsigned fields;                /* the fields copied (1 << enum imap_header_field) */
	struct imap_search_row *r;
	size_t n, next;
	uint32_t covered_to;            /* every row with a UID up to this is in r (or none) */
	bool loaded;
	struct buf arena;
};

void imap_search_rows_init(struct imap_search_rows *w, unsigned fields);
void imap_search_rows_free(struct imap_search_rows *w);
/* The row of message uid (ascending from call to call), NULL when it has none. */
const struct imap_search_row *imap_search_rows_find(struct imap_session *s,
                                                    struct imap_search_rows *w, uint32_t uid);

/* One message being evaluated; zero it, fill the first fields, and
 * imap_search_text_unload() it afterwards. */
struct imap_search_text {
	struct imap_session *s;
	uint32_t uid, flags;
	const char *base;               /* its file's base name, NULL: looked up by UID */
	const struct imap_search_row *row;          /* its header cache row, or NULL */
	const struct imap_search_rows *rows;        /* the row's window (its arena) */
	struct buf *scratch;            /* working memory shared by the messages */
	/* read on demand */
	char *buf;
	size_t len;
	char *folded;                   /* buf in ASCII lower case, made on first use */
	struct mime_part *root;
	bool tried, summarized;
	struct mail_summary sum;        /* its header as the header keys see it */
};

/* The text_match callback of imap_search_eval (arg: struct imap_search_text). */
int imap_search_text_match(void *arg, const struct imap_search_node *n,
                           const struct imap_search_msg *m);
/* The day of its Date: field in its own zone (RFC 9051 6.4.4), or fallback. */
int32_t imap_search_sent_day(struct imap_search_text *t, int32_t fallback);
void imap_search_text_unload(struct imap_search_text *t);

#endif
