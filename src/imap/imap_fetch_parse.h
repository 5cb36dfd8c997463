/* IMAP FETCH attributes (RFC 3501 6.4.5, RFC 9051 6.4.5, BINARY RFC 3516,
 * CONDSTORE / QRESYNC RFC 7162) and STORE arguments (RFC 9051 6.4.6,
 * UNCHANGEDSINCE RFC 7162 3.1.3), and flag lists (STORE, APPEND).
 *
 * The parsers read from an argument cursor (imap_parse.h) and fill structs
 * that own their memory, so a FETCH handler may walk them across several
 * turns of the event loop after the command buffer is gone. */
#ifndef POSTERN_IMAP_FETCH_PARSE_H
#define POSTERN_IMAP_FETCH_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_parse.h"

#define IMAP_FETCH_ITEMS_MAX    128   /* attributes in one FETCH */
#define IMAP_SECTION_PARTS_MAX  32    /* depth of a part number 1.2.3... */
#define IMAP_HEADER_FIELDS_MAX  256   /* names in one HEADER.FIELDS list */
#define IMAP_HEADER_NAME_MAX    256   /* octets of a header field name */
#define IMAP_KEYWORDS_MAX       128   /* keywords in one flag list */
#define IMAP_KEYWORD_MAX        255   /* octets of a keyword */
/* Octets of an item's response name, NUL included ("BODY[HEADER.FIELDS
 * (...)]<n>"): longer ones are refused with BAD when parsed, so a response
 * never starts with a name that cannot be written. 256 names of usual
 * length fit; clients send a few dozen. */
#define IMAP_FETCH_NAME_MAX     8192

enum imap_fetch_att {
	IMAP_FA_FLAGS = 0,
	IMAP_FA_INTERNALDATE,
	IMAP_FA_RFC822_SIZE,
	IMAP_FA_ENVELOPE,
	IMAP_FA_BODY,           /* BODY without section: non-extensible BODYSTRUCTURE */
	IMAP_FA_BODYSTRUCTURE,
	IMAP_FA_UID,
	IMAP_FA_MODSEQ,         /* RFC 7162 3.1.4.1 */
	IMAP_FA_RFC822,         /* = BODY[] (sets \Seen) */
	IMAP_FA_RFC822_HEADER,  /* = BODY.PEEK[HEADER] */
	IMAP_FA_RFC822_TEXT,    /* = BODY[TEXT] (sets \Seen) */
	IMAP_FA_BODY_SECTION,   /* BODY[section]<partial>, BODY.PEEK[...] */
	IMAP_FA_BINARY,         /* BINARY[part]<partial>, BINARY.PEEK[...] */
	IMAP_FA_BINARY_SIZE,    /* BINARY.SIZE[part] */
};

enum imap_section_text {
	IMAP_SECTION_NONE = 0,  /* the whole part (BODY[], BODY[1.2]) */
	IMAP_SECTION_HEADER,
	IMAP_SECTION_HEADER_FIELDS,
	IMAP_SECTION_HEADER_FIELDS_NOT,
	IMAP_SECTION_TEXT,
	IMAP_SECTION_MIME,      /* only after a part number */
};

struct imap_section {
	uint32_t part[IMAP_SECTION_PARTS_MAX];  /* 1.2.3 -> {1, 2, 3} */
	size_t nparts;
	enum imap_section_text text;
	char **fields;          /* HEADER.FIELDS[.NOT]: names as sent (match case-insensitively) */
	size_t nfields;
};

struct imap_fetch_item {
	enum imap_fetch_att att;
	bool peek;              /* .PEEK: do not set \Seen */
	struct imap_section section;    /* BODY_SECTION, BINARY, BINARY_SIZE */
	bool partial;           /* <start.count> given */
	uint64_t partial_start, partial_count;  /* count >= 1 */
};

struct imap_fetch {
	struct imap_fetch_item *items;
	size_t nitems;
	bool changedsince;      /* (CHANGEDSINCE n): only messages with modseq > n */
	uint64_t changedsince_modseq;
	bool vanished;          /* (VANISHED): UID FETCH only, needs CHANGEDSINCE (RFC 7162 3.2.6) */
	bool sets_seen;         /* some item sets \Seen (RFC 9051 6.4.5) */
	bool wants_modseq;      /* MODSEQ item or CHANGEDSINCE: responses carry MODSEQ */
};

/* Parses "fetch-att / ALL / FAST / FULL / (fetch-att *(SP fetch-att))
 * [SP (fetch-modifier *(SP fetch-modifier))]" up to the end of the cursor
 * (the sequence set already taken). uid: the command is UID FETCH (VANISHED
 * is allowed). Returns false with the cursor's error set. Release the
 * fetch with imap_fetch_free() whatever the result. */
bool imap_fetch_parse(struct imap_fetch *f, struct imap_cursor *c, bool uid);
void imap_fetch_free(struct imap_fetch *f);

/* Writes the item's name as a FETCH response gives it, e.g.
 * "BODY[1.2.HEADER.FIELDS (From To)]<0>" (no .PEEK; origin octet only).
 * Returns the length, or -1 if it does not fit in size (buf then holds "");
 * the names of a parsed FETCH always fit in IMAP_FETCH_NAME_MAX. */
int imap_fetch_item_name(const struct imap_fetch_item *it, char *buf, size_t size);

/* ---- flags and STORE ---- */

struct imap_flags {
	unsigned system;        /* IMAP_FLAG_* (never RECENT) */
	char **keywords;        /* as sent, case-insensitively unique */
	size_t nkeywords;
};

/* flag-list = "(" [flag *(SP flag)] ")": \Answered \Flagged \Deleted \Seen
 * \Draft and keywords (atoms); \Recent, \* and unknown \Flags are refused. */
bool imap_next_flag_list(struct imap_cursor *c, struct imap_flags *flags);
void imap_flags_free(struct imap_flags *flags);

enum imap_store_op {
	IMAP_STORE_REPLACE = 0,  /* FLAGS */
	IMAP_STORE_ADD,          /* +FLAGS */
	IMAP_STORE_REMOVE,       /* -FLAGS */
};

struct imap_store {
	enum imap_store_op op;
	bool silent;             /* .SILENT */
	bool unchangedsince;     /* (UNCHANGEDSINCE n) (RFC 7162 3.1.3) */
	uint64_t unchangedsince_modseq;
	struct imap_flags flags;
};

/* Parses "[SP (store-modifier ...)] SP store-att-flags" up to the end of
 * the cursor (the sequence set already taken); the flags are a flag-list
 * or flags separated by spaces. Release with imap_store_free(). */
bool imap_store_parse(struct imap_store *st, struct imap_cursor *c);
void imap_store_free(struct imap_store *st);

#endif
