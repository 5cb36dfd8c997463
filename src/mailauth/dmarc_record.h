/* Reading a DMARC policy record (RFC 7489 6.3, 6.4): the text of one TXT
 * record at _dmarc.<domain>, already joined from its strings. Pure: no DNS
 * (dmarc_discover.h finds the record), no evaluation (dmarc_eval.h). */
#ifndef POSTERN_DMARC_RECORD_H
#define POSTERN_DMARC_RECORD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum dmarc_policy {
	DMARC_POLICY_UNSET = 0,         /* sp=/np= absent: p= (or sp=) applies */
	DMARC_POLICY_NONE,
	DMARC_POLICY_QUARANTINE,
	DMARC_POLICY_REJECT,
};

enum dmarc_align {
	DMARC_ALIGN_RELAXED = 0,        /* the default of adkim= and aspf= */
	DMARC_ALIGN_STRICT,
};

/* fo= options (RFC 7489 6.3), a mask */
enum {
	DMARC_FO_0 = 1u << 0,
	DMARC_FO_1 = 1u << 1,
	DMARC_FO_D = 1u << 2,
	DMARC_FO_S = 1u << 3,
};

/* Report URIs kept of rua= and ruf= each; the rest are ignored (RFC 7489
 * 6.2: receivers MAY impose a limit, at least two) */
#define DMARC_URIS_MAX 4
#define DMARC_URI_MAX 255

/* A record's text longer than this is not read (a TXT answer is bounded by
 * the DNS message; this keeps the parser's work bounded as well) */
#define DMARC_RECORD_MAX 4096

struct dmarc_record {
	enum dmarc_policy p;            /* never UNSET in a usable record */
	enum dmarc_policy sp;           /* UNSET: p applies to subdomains */
	enum dmarc_policy np;           /* RFC 9091; UNSET: sp (or p) applies */
	enum dmarc_align adkim, aspf;
	unsigned pct;                   /* 0..100, default 100 */
	unsigned fo;                    /* DMARC_FO_*, default DMARC_FO_0 */
	uint32_t ri;                    /* seconds, default 86400 */
	/* the URIs as written, each with its "!size" suffix if any */
	char rua[DMARC_URIS_MAX][DMARC_URI_MAX + 1];
	size_t nrua;
	char ruf[DMARC_URIS_MAX][DMARC_URI_MAX + 1];
	size_t nruf;
	/* p= was missing or invalid (or sp= invalid) and a valid rua= made the
	 * record count as p=none (RFC 7489 6.6.3) */
	bool p_defaulted;
};

enum dmarc_record_status {
	DMARC_RECORD_OK = 0,
	DMARC_RECORD_NOT_DMARC,         /* does not start with v=DMARC1: not a DMARC record at all */
	DMARC_RECORD_INVALID,           /* a DMARC record that gives no policy */
};

/* RFC 7489 6.6.3: whether the text is a DMARC record at all (its first tag
 * is v=DMARC1); records that are not are discarded before counting them. */
bool dmarc_is_record(const char *txt, size_t len);

/* Parses a record. Unknown tags are ignored; a known tag with a value it
 * cannot take gets its default (RFC 7489 6.3), except p= and sp=, whose
 * failure leaves a policy only when rua= has a valid URI (6.6.3). A tag
 * list that breaks RFC 6376 3.2's grammar, or a known tag given twice, is
 * INVALID. err (may be NULL) says why for a log line. */
enum dmarc_record_status dmarc_record_parse(const char *txt, size_t len, struct dmarc_record *rec,
                                            char *err, size_t errlen);

const char *dmarc_policy_name(enum dmarc_policy p);

#endif
