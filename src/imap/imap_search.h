/* The search job: the criteria of SEARCH, SORT and THREAD evaluated over
 * the selected mailbox in time slices (imap_search.c), header keys and
 * sent dates answered from the header cache (made first, in slices too,
 * where rows are missing). SEARCH answers itself; SORT and THREAD hand a
 * finish hook that orders the matches and writes their answer. Internal
 * to src/imap. */
#ifndef POSTERN_IMAP_SEARCH_H
#define POSTERN_IMAP_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "imap/imap_search_parse.h"

struct imap_command;
struct imap_session;

/* What a search found, for the finish hook. */
struct imap_search_result {
	const char *tag;
	bool uid;                       /* UID SORT / UID THREAD: answer with UIDs */
	const struct imap_search *q;    /* the criteria and RETURN options */
	const uint32_t *seqs;           /* the matches, as sequence numbers, ascending */
	size_t n;
	uint64_t top_modseq;            /* the highest modseq among them (CONDSTORE) */
};

struct imap_search_finish {
	/* Writes the answer, the tagged OK included (or a NO). */
	void (*answer)(struct imap_session *s, const struct imap_search_result *r, void *ctx);
	void (*free)(void *ctx);        /* releases ctx (optional) */
};

/* The matches looked up by UID (SORT and THREAD read the cache in its
 * order): a table indexed by UID when the view's UIDs are dense enough,
 * else a binary search over the view and a flag per message. */
struct imap_search_matches {
	const uint32_t *view_uids;
	size_t view_n;
	uint32_t *seq_by_uid;       /* [uid]: its sequence number when matched, else 0 */
	uint32_t max_uid;
	uint8_t *matched;           /* without the table: [seq - 1] */
};

void imap_search_matches_init(struct imap_search_matches *m, const struct imap_session *s,
                              const struct imap_search_result *r);
/* The sequence number of matched message uid, 0 when it is not one (or
 * was taken already, with take). */
uint32_t imap_search_matches_seq(struct imap_search_matches *m, uint32_t uid, bool take);
void imap_search_matches_free(struct imap_search_matches *m);

/* After parsing the criteria of SEARCH, SORT or THREAD (status st): answers
 * NO [BADCHARSET], BAD, or NO [LIMIT] past the user's rate of full-text
 * searches, frees q and returns false; true when the search may run. */
bool imap_search_admit(struct imap_session *s, struct imap_command *cmd, struct imap_search *q,
                       enum imap_search_status st);

/* Runs the search q (taken over: the job frees it) for the command tagged
 * tag, answering at once or in later slices. finish NULL: a SEARCH. A
 * finish hook is always followed by a complete header cache. */
void imap_search_run(struct imap_session *s, const char *tag, bool uid, struct imap_search *q,
                     const struct imap_search_finish *finish, void *ctx);

/* "* ESEARCH (TAG ...)" with the RETURN options of q for matches in their
 * order (RFC 4731, and RFC 5267 3.2 for a sorted list: MIN and MAX are the
 * first and last in that order, ALL lists it in that order). */
void imap_search_write_esearch(struct imap_session *s, const char *tag, bool uid,
                               const struct imap_search *q, const uint32_t *ids, size_t n,
                               uint64_t top_modseq);
/* RFC 5182: the saved result "$" := ids (UIDs, in any order), or only the
 * first and last when RETURN asked for MIN and/or MAX alone. */
void imap_search_save(struct imap_session *s, const struct imap_search *q, const uint32_t *uids,
                      size_t n);

#endif
