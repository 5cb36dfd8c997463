/* An IMAP session (RFC 9051, RFC 3501): one per connection, on its worker's
 * event loop. Internal to src/imap. */
#ifndef POSTERN_IMAP_SESSION_H
#define POSTERN_IMAP_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <event2/util.h>

#include "imap/imap_parse.h"
#include "net/session.h"
#include "store/mbox.h"
#include "tls/tls_bev.h"

struct bufferevent;
struct event;
struct sasl_server;

enum imap_state { IMAP_NOT_AUTH, IMAP_AUTH, IMAP_SELECTED, IMAP_LOGOUT };

/* Literals allowed before login (a password may come as one). */
#define IMAP_PREAUTH_LITERAL_MAX 4096

enum imap_io {
	IMAP_IO_READ,           /* reading commands */
	IMAP_IO_AUTH,           /* reading an AUTHENTICATE response line */
	IMAP_IO_WAIT,           /* a password check or a failure delay is running */
	IMAP_IO_IDLE,           /* IDLE: waiting for DONE */
	IMAP_IO_FETCH,          /* a FETCH or SEARCH is running: continue when output drains */
	IMAP_IO_STARTTLS,       /* OK sent: nothing is read until the handshake is done */
	IMAP_IO_CLOSING,        /* BYE sent: nothing more is read */
};

/* A mailbox the client named, and where it lives: one of the user's own,
 * or one another user shares ("Shared/<owner>/<name>", imap_shared.c). */
struct imap_mailbox_ref {
	struct mbox_store *ms;          /* its index: the session's, or the owner's (held) */
	bool shared;
	char owner[321];                /* shared: the owner's address */
	char name[MBOX_NAME_MAX + 1];   /* its name in ms (the owner's name for it) */
	unsigned rights;                /* ACL_* (store/acl_rights.h): all for one's own */
};

/* The selected mailbox as the client knows it: message sequence numbers
 * map to UIDs through uids[] (RFC 9051 2.3.1.2). */
struct imap_view {
	struct imap_mailbox_ref ref;    /* where it lives, the user's rights on it */
	struct mbox_info mb;
	bool readonly;
	uint32_t *uids;
	uint32_t *flags;        /* as last reported, and IMAP_VIEW_RECENT */
	size_t n, cap;
	uint64_t modseq;        /* everything up to this was reported */
	/* SEARCHRES (RFC 5182): the last SEARCH RETURN (SAVE) result, as UIDs
	 * ("$"); empty again when the mailbox is closed */
	struct imap_seqset saved;
	/* changes this session made and reported itself since the last update:
	 * (uid, modseq) pairs the update must not report again */
	struct imap_own_change { uint32_t uid; uint64_t modseq; } *own;
	size_t nown, capown;
	/* the keywords the last FLAGS response listed (imap_view_flags.c) */
	char **keywords;
	size_t nkeywords, capkeywords;
};

/* Keywords one mailbox may have: past it STORE and APPEND refuse new ones
 * (NO [LIMIT]) and PERMANENTFLAGS drops \*, so that no FLAGS response
 * grows without end. Mail clients use a handful. */
#define IMAP_MAILBOX_KEYWORDS_MAX 1000

/* In imap_view.flags beside the MBOX_F_* bits: \Recent for this session
 * (RFC 3501 2.3.2), which the store does not keep per message. */
#define IMAP_VIEW_RECENT IMAP_FLAG_RECENT

struct imap_fetch_job;
struct imap_search_job;
struct imap_session;

/* A command that runs across callbacks (FETCH streaming, SEARCH in time
 * slices, AUTHENTICATE and LOGIN with their password checks) tells the session
 * how to go on and how to stop; the session never calls them by name. */
struct imap_cmd_hooks {
	void (*resume)(struct imap_session *s);   /* all output written: continue (optional) */
	void (*cancel)(struct imap_session *s);   /* the session ends: free what it holds */
	/* IMAP_IO_AUTH: input arrived for the command itself (an AUTHENTICATE
	 * response line); true when more input may be processed now (optional) */
	bool (*input)(struct imap_session *s);
};

struct imap_session {
	struct net_session ns;          /* first: the engine's part of the session */
	enum imap_state state;
	enum imap_io io;
	struct imap_reader reader;

	/* after login */
	char user[321];
	char master[65];                /* the master user logged in as user, or "" */
	struct mbox_store *ms;
	struct imap_view view;
	bool condstore, qresync, utf8;  /* ENABLEd */
	bool rev2;                      /* ENABLE IMAP4rev2: RFC 9051 behaviour */

	/* a command in progress across callbacks */
	char tag[IMAP_TAG_MAX + 1];
	struct sasl_server *sasl;       /* LOGIN or AUTHENTICATE in progress, or NULL */
	const struct imap_cmd_hooks *running;   /* the command in progress, if any */
	struct imap_fetch_job *fetch;
	struct imap_search_job *search;
	uint64_t idle_since_ms;         /* when IDLE began: the autologout counts from it */
};

/* output (imap_output.c): the only way a command writes to the client */
void imap_untagged(struct imap_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void imap_tagged(struct imap_session *s, const char *tag, const char *status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* Raw text: a response line built in pieces ("* 3 FETCH (" ... ")\r\n"). */
void imap_printf(struct imap_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Writes raw octets (literal data, fixed text). */
void imap_write(struct imap_session *s, const void *data, size_t len);
/* "{len}\r\n" and the data, or "~{len}\r\n" for a literal8 (RFC 3516 4.3). */
void imap_write_literal(struct imap_session *s, const void *data, size_t len, bool literal8);
/* Writes an IMAP string: quoted when safe, else a literal. */
void imap_write_string(struct imap_session *s, const char *str, size_t len);
size_t imap_output_pending(struct imap_session *s);

/* closing (imap_session.c) */
/* BAD that counts against the service's error limit; closes past it. */
void imap_protocol_error(struct imap_session *s, const char *tag, const char *text);
void imap_close_with(struct imap_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* IMAP framing on the session engine (imap_session.c) */
/* Work on another thread keeps the session alive (net_session_op_begin/end). */
static inline void imap_op_begin(struct imap_session *s) { net_session_op_begin(&s->ns); }
static inline bool imap_op_end(struct imap_session *s) { return net_session_op_end(&s->ns); }
void imap_resume_input(struct imap_session *s);
/* A CRLF-ended line of input, without the CRLF (malloc'd), or NULL when none
 * is complete yet; *too_long when more than max octets wait without one. */
char *imap_input_line(struct imap_session *s, size_t max, size_t *len, bool *too_long);
void imap_begin_starttls(struct imap_session *s);
void imap_begin_idle(struct imap_session *s);
/* A long command starts (hooks) or has finished (NULL when h is the one running). */
void imap_cmd_running(struct imap_session *s, const struct imap_cmd_hooks *h);
void imap_cmd_finished(struct imap_session *s, const struct imap_cmd_hooks *h);

/* command dispatch (imap_cmds.c): runs a parsed command by the table */
void imap_dispatch(struct imap_session *s, struct imap_command *cmd);
/* RFC 7162 3.1: a CONDSTORE-enabling command (FETCH or SEARCH with MODSEQ,
 * STORE UNCHANGEDSINCE, STATUS HIGHESTMODSEQ, SELECT (CONDSTORE)) turns
 * CONDSTORE on as ENABLE does; the first one with a mailbox selected also
 * tells the client its HIGHESTMODSEQ (untagged OK, before the command's
 * own responses). */
void imap_enable_condstore(struct imap_session *s);

/* Mailbox names and quoted strings travel in UTF-8 after ENABLE UTF8=ACCEPT
 * (RFC 6855) and in IMAP4rev2 (RFC 9051 5.1); else names are in modified
 * UTF-7 and strings in ASCII. */
static inline bool imap_client_utf8(const struct imap_session *s)
{
	return s->utf8 || s->rev2;
}

/* mailbox names (imap_mailbox_name.c) */
/* A mailbox name argument, in UTF-8 (decoded from modified UTF-7 when the
 * client did not ENABLE UTF8=ACCEPT); "" when it is not valid modified
 * UTF-7: a name that does not exist and cannot be created. */
bool imap_next_mailbox(struct imap_session *s, struct imap_cursor *c, char *out, size_t len);
/* imap_next_mailbox for a command: false after answering BAD with the reason. */
bool imap_expect_mailbox(struct imap_session *s, struct imap_command *cmd, struct imap_cursor *c,
                         char *out, size_t len);
/* A mailbox name in a response, encoded as the client expects. */
void imap_write_mailbox(struct imap_session *s, const char *name);
/* Beside the MBOX_* codes: the user lacks the right it needs (RFC 4314). */
#define IMAP_MBOX_NOPERM 100
/* The response text ("[NONEXISTENT] ...") of a failed mailbox operation
 * (MBOX_*, IMAP_MBOX_NOPERM). */
const char *imap_mbox_error_text(int rc);

/* shared mailboxes (imap_shared.c): the "Shared/" namespace (RFC 2342)
 * over the store's grants (RFC 4314). A mailbox the user has no right on
 * does not exist for it; one it has rights on but not l is not listed. */
#define IMAP_SHARED_ROOT "Shared"
/* Room for a name as the client knows it: Shared/<address>/<name>. */
#define IMAP_CLIENT_NAME_LEN (sizeof(IMAP_SHARED_ROOT) + 321 + MBOX_NAME_MAX + 1)
/* "Shared" itself or a name below it: never one of the user's own. */
bool imap_shared_name(const char *name);
/* Resolves a client's mailbox name. MBOX_OK: ref filled (its store held
 * until imap_ref_release); MBOX_NOT_FOUND: no such mailbox for this user,
 * also when a grant is missing; MBOX_ERROR. Whether the mailbox exists in
 * the store is the caller's to find out (mbox_find on ref->ms). */
int imap_ref_open(struct imap_session *s, const char *name, struct imap_mailbox_ref *ref);
void imap_ref_release(struct imap_session *s, struct imap_mailbox_ref *ref);
/* Whether ref has all the rights in need; if not, answers NO: [NOPERM]
 * when the user may know the mailbox (any right), else [NONEXISTENT], so
 * that nothing tells a mailbox it may not see from one that is not there. */
bool imap_ref_allows(struct imap_session *s, const char *tag, const struct imap_mailbox_ref *ref,
                     unsigned need);
/* The name the client knows for a mailbox of ref's store. */
void imap_ref_client_name(const struct imap_mailbox_ref *ref, const char *name, char *out,
                          size_t len);

/* what the server offers (imap_capability.c) */
void imap_capability_text(struct imap_session *s, char *out, size_t len);
/* RFC 9051 6.2.3: clear-text passwords only over TLS unless configured. */
bool imap_login_allowed_here(const struct imap_session *s);

/* quotas (imap_quota.c): whether the user's limits take add_storage octets
 * in add_messages messages more (APPEND, also before its literal is read),
 * or copies of these messages of the selected mailbox (COPY); false means
 * "NO [OVERQUOTA]" (RFC 9208 4.3) */
bool imap_quota_allows(struct imap_session *s, uint64_t add_storage, uint64_t add_messages);
/* The same against another user's quota: a shared mailbox's owner's. */
bool imap_quota_allows_for(struct imap_session *s, const char *user, uint64_t add_storage,
                           uint64_t add_messages);
bool imap_quota_allows_copy(struct imap_session *s, const char *user, const uint32_t *uids,
                            size_t n);

/* the selected mailbox (imap_view.c) */
/* Selects the mailbox ref names (taking ref over: released when the view
 * closes, also on failure). */
int imap_view_open(struct imap_session *s, struct imap_mailbox_ref *ref, bool readonly);
void imap_view_close(struct imap_session *s);
/* Looks for changes (new mail, flags, expunges by others) and reports them;
 * expunges only when allowed (not during FETCH/STORE/SEARCH, RFC 9051 7.4.1). */
void imap_view_update(struct imap_session *s, bool allow_expunge);
uint32_t imap_view_seq_of(const struct imap_view *v, uint32_t uid);   /* 0 when absent */
/* IMAP_VIEW_RECENT when message seq is \Recent in this session, else 0:
 * or it into a message's flags before they are written. */
uint32_t imap_view_recent(const struct imap_view *v, uint32_t seq);
/* The index of the first message whose UID is >= uid (v->n when none). */
size_t imap_view_lower_bound(const struct imap_view *v, uint32_t uid);
/* Removes expunged UIDs (ascending) from the view and reports them: EXPUNGE
 * responses, or one VANISHED once QRESYNC is enabled. */
void imap_view_expunge_uids(struct imap_session *s, const uint32_t *uids, size_t n);
/* Records a flag change this session made (and reported, or was told not
 * to by .SILENT): the next update does not report it as news. */
void imap_view_note_own(struct imap_session *s, uint32_t uid, uint32_t flags, uint64_t modseq);
/* "* n FETCH (UID u FLAGS (...) [MODSEQ (m)])": a change the client did not ask for. */
void imap_view_report_flags(struct imap_session *s, uint32_t seq, const struct mbox_msg *m,
                            bool with_modseq);
/* "* VANISHED [(EARLIER)] uid-set" for ascending UIDs; nothing when n is 0. */
void imap_view_vanished(struct imap_session *s, bool earlier, const uint32_t *uids, size_t n);
/* Expunges the view's messages with \Deleted, checked again in the store at
 * that moment: those numbered seqs[0..n) or, when seqs is NULL, all of them.
 * report: tells the client (EXPUNGE responses or VANISHED). */
void imap_view_expunge_deleted(struct imap_session *s, const uint32_t *seqs, size_t n, bool report);
/* FLAGS and PERMANENTFLAGS of the selected mailbox (imap_view_flags.c):
 * load the mailbox's keywords, write both responses, and before a FETCH
 * shows keywords (space separated) the client may not know, tell it. */
void imap_view_load_keywords(struct imap_session *s);
void imap_view_write_flags(struct imap_session *s);
void imap_view_announce_keywords(struct imap_session *s, const char *keywords);
void imap_view_keywords_free(struct imap_view *v);
/* Room for these keywords (those not known yet) under IMAP_MAILBOX_KEYWORDS_MAX. */
bool imap_view_keyword_room(const struct imap_view *v, const char *const *kws, size_t n);
/* A FETCH response's flag list ("\Recent \Seen \Flagged keyword"), cut to len. */
void imap_format_flags(uint32_t flags, const char *keywords, char *out, size_t len);

/* The protocol for the imap and imaps service rows. */
extern const struct session_ops imap_session_ops;

#endif
