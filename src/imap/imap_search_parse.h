/* IMAP SEARCH criteria (RFC 3501 6.4.4, RFC 9051 6.4.4), with ESEARCH
 * RETURN options (RFC 4731), SEARCHRES "$" and SAVE (RFC 5182), CONDSTORE
 * MODSEQ (RFC 7162 3.1.5); IMAP dates; and a pure evaluator for the keys
 * that do not need message text.
 *
 * The parser reads from an argument cursor (imap_parse.h) and builds a tree
 * the mailbox code evaluates; the tree owns its strings and sets, so it may
 * outlive the command. Nesting and size are bounded. */
#ifndef POSTERN_IMAP_SEARCH_PARSE_H
#define POSTERN_IMAP_SEARCH_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_parse.h"

#define IMAP_SEARCH_DEPTH_MAX 32      /* nested (), NOT and OR */
#define IMAP_SEARCH_NODES_MAX 1000
/* RFC 9051 6.4.4: the response code lists what is supported */
#define IMAP_SEARCH_CHARSETS "(US-ASCII UTF-8)"
/* the longest string a text key may search for: BAD beyond */
#define IMAP_SEARCH_STRING_MAX 1024

enum imap_search_key {
	IMAP_SK_AND = 0,        /* parenthesised group, and the root: all children */
	IMAP_SK_OR,             /* child and child->next */
	IMAP_SK_NOT,            /* child */
	IMAP_SK_ALL,
	IMAP_SK_SEQSET,         /* set: message sequence numbers ("$": saved result) */
	IMAP_SK_UID,            /* set: UIDs */
	/* flags: `flag` is the IMAP_FLAG_* bit */
	IMAP_SK_FLAG,           /* ANSWERED DELETED DRAFT FLAGGED RECENT SEEN */
	IMAP_SK_UNFLAG,         /* UNANSWERED UNDELETED UNDRAFT UNFLAGGED UNSEEN; OLD (RECENT) */
	IMAP_SK_NEW,            /* RECENT and not SEEN */
	IMAP_SK_KEYWORD,        /* str: the keyword */
	IMAP_SK_UNKEYWORD,
	/* sizes: number */
	IMAP_SK_LARGER,
	IMAP_SK_SMALLER,
	/* dates: day (days since 1970-01-01) */
	IMAP_SK_BEFORE, IMAP_SK_ON, IMAP_SK_SINCE,                /* internal date */
	IMAP_SK_SENTBEFORE, IMAP_SK_SENTON, IMAP_SK_SENTSINCE,    /* Date: header */
	/* text: str (and field for HEADER), matched by the mailbox code */
	IMAP_SK_BCC, IMAP_SK_CC, IMAP_SK_FROM, IMAP_SK_TO, IMAP_SK_SUBJECT,
	IMAP_SK_HEADER,         /* field: header name, str: substring ("" = has the field) */
	IMAP_SK_BODY,
	IMAP_SK_TEXT,
	IMAP_SK_MODSEQ,         /* number; entry / entry_type when given (ignored by us) */
};

enum imap_modseq_entry_type { IMAP_ENTRY_ALL = 0, IMAP_ENTRY_SHARED, IMAP_ENTRY_PRIV };

struct imap_search_node {
	enum imap_search_key key;
	struct imap_search_node *child;     /* AND: list; OR: two; NOT: one */
	struct imap_search_node *next;
	unsigned flag;          /* FLAG / UNFLAG */
	char *str;              /* text keys, KEYWORD; NUL-terminated, may hold UTF-8 */
	size_t str_len;
	char *str_casemap;      /* text keys: str casemapped (core/casemap.h), for header keys */
	size_t str_casemap_len;
	char *field;            /* HEADER */
	uint64_t number;        /* LARGER / SMALLER (octets), MODSEQ */
	int32_t day;            /* date keys */
	struct imap_seqset set; /* SEQSET / UID */
	char *entry;            /* MODSEQ entry-name ("/flags/\\seen") or NULL */
	enum imap_modseq_entry_type entry_type;
};

enum {
	IMAP_SEARCH_RET_MIN   = 1 << 0,
	IMAP_SEARCH_RET_MAX   = 1 << 1,
	IMAP_SEARCH_RET_ALL   = 1 << 2,
	IMAP_SEARCH_RET_COUNT = 1 << 3,
	IMAP_SEARCH_RET_SAVE  = 1 << 4,
};

struct imap_search {
	struct imap_search_node *root;  /* IMAP_SK_AND of the top-level keys */
	bool esearch;           /* RETURN (...) given: answer with ESEARCH (RFC 4731) */
	unsigned ret;           /* IMAP_SEARCH_RET_*; "RETURN ()" means ALL */
	bool charset_utf8;      /* CHARSET UTF-8 given (else US-ASCII or none) */
	bool uses_modseq;       /* MODSEQ key: the response carries (MODSEQ n) (RFC 7162 3.1.5) */
	bool uses_saved;        /* "$" appears */
	bool uses_text;         /* some key needs headers or body */
	bool uses_body;         /* BODY or TEXT: the whole message is read and scanned */
	size_t nodes;
};

enum imap_search_status {
	IMAP_SEARCH_OK = 0,
	IMAP_SEARCH_BAD,        /* syntax: BAD with the cursor's error text */
	IMAP_SEARCH_BADCHARSET, /* NO [BADCHARSET IMAP_SEARCH_CHARSETS] */
};

enum {
	IMAP_SEARCH_ALLOW_SAVED = 1 << 0,   /* SEARCHRES: "$" and RETURN (SAVE) */
	/* SORT and THREAD (RFC 5256): "charset SP key *(SP key)", the charset
	 * first and required, without the word CHARSET, and no RETURN */
	IMAP_SEARCH_BARE_CHARSET = 1 << 1,
};

/* Parses "[RETURN (...)] [CHARSET name] key *(SP key)" to the end of the
 * cursor. On BAD the cursor's error is set; on BADCHARSET it is not. The
 * search must be released with imap_search_free() whatever the result. */
enum imap_search_status imap_search_parse(struct imap_search *s, struct imap_cursor *c,
                                          unsigned flags);
/* The "(...)" after RETURN (the word read already) into s->ret and
 * s->esearch: ESORT's options, which come before the sort criteria
 * (RFC 5267 3.2). false with the cursor's error set. */
bool imap_search_parse_return(struct imap_search *s, struct imap_cursor *c, unsigned flags);
void imap_search_free(struct imap_search *s);

/* ---- evaluation ---- */

enum imap_tri { IMAP_TRI_NO = 0, IMAP_TRI_YES = 1, IMAP_TRI_MAYBE = 2 };

struct imap_search_msg {
	uint32_t seq, uid;
	unsigned flags;                 /* IMAP_FLAG_* */
	/* Keywords, compared ASCII case-insensitively: the space-separated
	 * list the index keeps (NULL: none), every word of it however many
	 * and however long. */
	const char *keyword_list;
	uint64_t size;                  /* RFC822.SIZE */
	int32_t internal_day;           /* date of INTERNALDATE in its own zone */
	int32_t sent_day;               /* date of the Date: header in its zone (the mailbox
	                                   uses internal_day when it is missing) */
	uint64_t modseq;
};

struct imap_search_ctx {
	uint32_t max_seq, max_uid;      /* what "*" stands for */
	const struct imap_seqset *saved; /* "$": the saved result, as UIDs (NULL: empty) */
	/* Text keys (BCC..TEXT): 1 match, 0 no match, anything else unknown.
	 * NULL: every text key is unknown (IMAP_TRI_MAYBE). */
	int (*text_match)(void *arg, const struct imap_search_node *n,
	                  const struct imap_search_msg *m);
	void *arg;
};

/* Three-valued: MAYBE when the answer depends on text keys the callback
 * did not decide, so the mailbox can filter on cheap keys first. */
enum imap_tri imap_search_eval(const struct imap_search *s, const struct imap_search_msg *m,
                               const struct imap_search_ctx *ctx);

/* ---- dates ---- */

/* date-text = date-day "-" date-month "-" date-year ("1-Feb-2024"), month
 * names in any case; the day must exist. Returns days since 1970-01-01. */
bool imap_date_parse(const char *s, size_t len, int32_t *day);
/* date-time = DQUOTE date-day-fixed "-" date-month "-" date-year SP time SP
 * zone DQUOTE, without the quotes: "12-Jan-2024 10:11:12 +0100" (the day may
 * start with a space). Gives the instant in seconds since the epoch and the
 * zone offset in minutes. For APPEND. */
bool imap_date_time_parse(const char *s, size_t len, int64_t *unix_time, int *zone_minutes);
/* Days since 1970-01-01 of the local date of unix_time in the given zone. */
int32_t imap_day_of(int64_t unix_time, int zone_minutes);

#endif
