/* IMAP command assembly and argument parsing (RFC 3501, RFC 9051), with
 * LITERAL+ / LITERAL- (RFC 7888), literal8 (RFC 3516 / RFC 9051), UTF-8 in
 * quoted strings (RFC 6855, RFC 9051) and sequence sets with "$" (RFC 5182).
 *
 * Three layers, all pure (no I/O), all total (any byte string gives either
 * a result or an error, never a crash):
 *   1. imap_reader: bytes from the network -> one assembled command (lines
 *      and literal data), with every size checked before memory is used.
 *   2. imap_command_parse: an assembled command -> tag, name and a tree of
 *      arguments, walked by handlers through a cursor whose accessors give
 *      the first error as a ready BAD reply text.
 *   3. imap_seqset: sequence sets, kept with "*" symbolic.
 * imap_reader.c, imap_parse.c and imap_seqset.c implement the three. */
#ifndef POSTERN_IMAP_PARSE_H
#define POSTERN_IMAP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define IMAP_LINE_MAX_DEFAULT          (64u * 1024)        /* command text, CRLFs included */
#define IMAP_LITERAL_APPEND_MAX_DEFAULT (25u * 1024 * 1024) /* the APPEND message */
#define IMAP_LITERAL_OTHER_MAX_DEFAULT (64u * 1024)        /* literals of any other command */
#define IMAP_LITERAL_MINUS_MAX         4096                /* RFC 7888 3: {N+} with LITERAL- */
#define IMAP_LITERALS_MAX              1024                /* literals in one command */
#define IMAP_TAG_MAX                   128                 /* longer tags are refused */
#define IMAP_ARGS_MAX                  8192                /* argument nodes in one command */
#define IMAP_LIST_DEPTH_MAX            32                  /* nested parenthesised lists */
#define IMAP_SEQSET_RANGES_MAX         10000               /* elements of one sequence set */
#define IMAP_NUMBER64_MAX              INT64_MAX           /* RFC 9051 number64, RFC 7162 mod-sequence */

/* ---- 1. command assembly ---- */

enum imap_read_result {
	IMAP_READ_MORE = 0,        /* all input consumed, the command is not complete yet */
	IMAP_READ_COMMAND,         /* a whole command is assembled: imap_reader_command() */
	IMAP_READ_CONTINUE,        /* a synchronising literal {N} was accepted: send "+ Ready\r\n",
	                              then keep feeding (or imap_reader_reject_literal()) */
	IMAP_READ_LINE_TOO_LONG,   /* answer BAD; the reader skipped to the end of that line */
	IMAP_READ_LITERAL_TOO_BIG, /* answer "NO [TOOBIG]" (APPEND) or "BAD [TOOBIG]" */
	IMAP_READ_BAD,             /* malformed literal announcement ({abc}) or too many literals */
};

/* Facts about the last result other than MORE and COMMAND (and, for
 * CONTINUE, about the literal just announced). */
struct imap_read_info {
	char tag[IMAP_TAG_MAX + 1]; /* the command's tag, or "" when it has none a reply could
	                               echo (then answer untagged: "* BAD ...") */
	const char *msg;            /* reply text for the error results */
	uint64_t literal_size;      /* announced size (saturated at UINT64_MAX) */
	bool nonsync;               /* the literal was {N+}: the client sends it without waiting */
	bool append;                /* the command is APPEND */
	/* The client is sending octets the reader will not read (a refused {N+}
	 * literal): after the reply the connection must be closed (RFC 7888 4).
	 * Every later feed consumes all input and returns the same result again. */
	bool fatal;
};

/* One literal in an assembled command. The buffer holds, at `data`, the
 * `len` octets as sent followed by one NUL that was not sent, so a literal
 * is always a C string too (truncated at an embedded NUL: see has_nul). */
struct imap_literal {
	size_t spec;        /* offset of "{" (or of "~" for literal8) */
	size_t data;        /* offset of the first data octet */
	size_t len;
	bool nonsync;       /* {N+} */
	bool binary;        /* literal8: ~{N} (RFC 3516, RFC 9051 APPEND) */
	bool has_nul;       /* the data contains a NUL octet */
};

/* An assembled command: the lines as sent with each literal's data inline
 * (plus its NUL), the final CRLF removed, and buf[len] == '\0'. */
struct imap_raw_command {
	const char *buf;
	size_t len;
	const struct imap_literal *lits;
	size_t nlits;
	bool append;        /* second word of the first line is APPEND */
};

enum imap_reader_state {
	IMAP_RS_LINE = 0,   /* reading command text */
	IMAP_RS_LITERAL,    /* reading literal data */
	IMAP_RS_SKIP,       /* discarding the rest of an over-long line */
	IMAP_RS_DONE,       /* a command is assembled; the next feed starts a new one */
	IMAP_RS_FATAL,      /* unsynchronised: see imap_read_info.fatal */
};

/* Tracks "{N}", "{N+}" and "~{N}" at the end of a line, outside quotes. */
struct imap_litspec {
	uint8_t state;
	bool in_quote, escape, digits, tilde, plus, prev_tilde, prev_plus;
	uint64_t value;
	size_t start;       /* offset of "{" or "~" in the buffer */
};

struct imap_reader {
	size_t max_line, max_literal_append, max_literal_other, max_literal_nonsync;
	enum imap_reader_state state;
	enum imap_read_result fatal_result;
	char *buf;
	size_t len, cap;
	struct imap_literal *lits;
	size_t nlits, lits_cap;
	size_t text_octets;        /* non-literal octets of this command, CRLFs included */
	uint64_t literal_octets;   /* literal octets of this command */
	uint64_t remaining;        /* of the literal being read */
	bool first_line_done, append, cr_pending;
	struct imap_litspec spec;
	struct imap_read_info info;
};

/* Limits: max_line bounds the command text (all its lines, CRLFs included,
 * literal data excluded); each literal of an APPEND may have up to
 * max_literal_append octets, any other literal max_literal_other; the
 * literal octets of one command together are bounded by max_literal_other
 * (plus max_literal_append for APPEND). Non-synchronising literals are not
 * limited further until imap_reader_set_nonsync_max() (LITERAL-: 4096). */
void imap_reader_init(struct imap_reader *r, size_t max_line, size_t max_literal_append,
                      size_t max_literal_other);
void imap_reader_set_nonsync_max(struct imap_reader *r, size_t max);
/* Drops any partial command; limits are kept. */
void imap_reader_reset(struct imap_reader *r);
void imap_reader_free(struct imap_reader *r);

/* Feeds len octets; *consumed says how many were used (all of them for
 * MORE; up to the event otherwise: the caller feeds the rest afterwards).
 * A line ends at LF (CRLF or a bare LF); empty lines are skipped. The
 * command returned by COMMAND stays valid until the next feed or reset. */
enum imap_read_result imap_reader_feed(struct imap_reader *r, const char *in, size_t len,
                                       size_t *consumed);
/* After IMAP_READ_COMMAND. */
void imap_reader_command(const struct imap_reader *r, struct imap_raw_command *out);
/* After any result but MORE and COMMAND. */
const struct imap_read_info *imap_reader_info(const struct imap_reader *r);
/* Right after IMAP_READ_CONTINUE, instead of sending "+": refuses the
 * literal (e.g. "NO [TRYCREATE]" or "[OVERQUOTA]" for APPEND, RFC 3501 6.3.11).
 * The client sends nothing more for that command; the partial command is dropped. */
void imap_reader_reject_literal(struct imap_reader *r);

/* ---- 2. arguments ---- */

enum imap_arg_type {
	IMAP_ARG_ATOM = 0,  /* also "\Flag", "*", "1:*", "INBOX.%": see the flags */
	IMAP_ARG_QUOTED,
	IMAP_ARG_LITERAL,
	IMAP_ARG_NIL,       /* the atom NIL (any case); accessors for astrings take it as "NIL" */
	IMAP_ARG_LIST,      /* ( ... ) */
	IMAP_ARG_SECTION,   /* BODY[...]<...>, BODY.PEEK[...], BINARY[...], BINARY.PEEK[...],
	                       BINARY.SIZE[...] */
};

enum {
	IMAP_ARGF_BACKSLASH = 1 << 0, /* atom starts with "\" (a flag: \Seen) */
	IMAP_ARGF_WILDCARD  = 1 << 1, /* atom contains "*" or "%" */
	IMAP_ARGF_BRACKET   = 1 << 2, /* atom contains "]" (resp-specials: astring, not atom) */
	IMAP_ARGF_UTF8      = 1 << 3, /* quoted string has (valid) UTF-8 */
	IMAP_ARGF_NUL       = 1 << 4, /* literal contains NUL */
	IMAP_ARGF_BINARY    = 1 << 5, /* literal8 */
	IMAP_ARGF_PARTIAL   = 1 << 6, /* section has <partial> */
};

struct imap_arg {
	enum imap_arg_type type;
	unsigned flags;
	const char *str;        /* NUL-terminated value: atom text, decoded quoted string,
	                           literal data (in the reader's buffer), "NIL", section name
	                           as sent ("BODY.PEEK"); NULL for lists */
	size_t len;             /* octets of str (literals may contain NUL: see flags) */
	const struct imap_arg *list;   /* LIST: first element; SECTION: first token inside [] */
	const struct imap_arg *next;   /* next sibling */
	size_t count;           /* LIST / SECTION: number of elements */
	const char *partial;    /* SECTION with IMAP_ARGF_PARTIAL: text inside <>, e.g. "0.1024" */
	const char *astring;    /* SECTION whose whole text is ASTRING-CHARs (an unquoted mailbox
	                           named "body[x]"): that text, else NULL */
};

enum {
	IMAP_PARSE_ALLOW_NUL = 1 << 0, /* let literals (not only literal8) contain NUL */
};

struct imap_arena;
struct buf;

struct imap_command {
	const char *tag;        /* NULL if none could be read: answer "* BAD" */
	const char *name;       /* upper-cased; for "UID FETCH" etc. the verb after UID */
	bool uid;               /* the command was prefixed by UID */
	const struct imap_arg *args;  /* first argument after the name, NULL if none */
	const char *error;      /* first error (parse or accessor), NULL if none */
	struct imap_arena *arena;
};

/* Parses an assembled command. Returns 0, or -1 with cmd->error set (and
 * cmd->tag when the tag was readable). Always release with
 * imap_command_free(). Literal strings point into raw->buf: the parsed
 * command must not outlive it (the next feed of the reader). */
int imap_command_parse(struct imap_command *cmd, const struct imap_raw_command *raw,
                       unsigned flags);
void imap_command_free(struct imap_command *cmd);

/* A cursor walks sibling arguments. Accessors consume one argument and
 * return true, or set the first error (shared by nested cursors, kept in the
 * command) and return false; once an error is set every accessor fails, so
 * a handler may call several and check once. Strings are NUL-terminated. */
struct imap_cursor {
	const struct imap_arg *arg;   /* next argument, NULL at the end */
	const char **error;
};

void imap_command_args(struct imap_command *cmd, struct imap_cursor *c);
/* A cursor over a list of arguments with its own error slot (tests, fuzzing). */
void imap_cursor_init(struct imap_cursor *c, const struct imap_arg *first, const char **error);

bool imap_at_end(const struct imap_cursor *c);
const struct imap_arg *imap_peek(const struct imap_cursor *c);
/* Sets the error (if none yet) to msg, a string that outlives the reply; false. */
bool imap_fail(struct imap_cursor *c, const char *msg);
bool imap_expect_end(struct imap_cursor *c);
bool imap_next_arg(struct imap_cursor *c, const struct imap_arg **out);
/* atom = 1*ATOM-CHAR: no "\", wildcards or "]" */
bool imap_next_atom(struct imap_cursor *c, const char **out);
/* Consumes the next argument only if it is an atom equal to word (ASCII
 * case-insensitive); never sets an error. */
bool imap_accept_atom(struct imap_cursor *c, const char *word);
/* astring = 1*ASTRING-CHAR / string; strings with NUL are refused. */
bool imap_next_astring(struct imap_cursor *c, const char **out, size_t *len);
/* nstring = string / NIL: *out is NULL for NIL. */
bool imap_next_nstring(struct imap_cursor *c, const char **out, size_t *len);
/* string = quoted / literal */
bool imap_next_string(struct imap_cursor *c, const char **out, size_t *len);
/* list-mailbox: an astring, or an atom with "*" / "%" (LIST patterns) */
bool imap_next_list_mailbox(struct imap_cursor *c, const char **out, size_t *len);
/* Literal or literal8 data, NUL allowed (APPEND message). */
bool imap_next_literal(struct imap_cursor *c, const char **data, size_t *len, bool *binary);
bool imap_next_list(struct imap_cursor *c, struct imap_cursor *inner);
bool imap_next_number(struct imap_cursor *c, uint32_t *n);      /* 0..4294967295 */
bool imap_next_nz_number(struct imap_cursor *c, uint32_t *n);   /* 1..4294967295 */
bool imap_next_number64(struct imap_cursor *c, uint64_t *n);    /* 0..2^63-1 */

/* Parses 1*DIGIT (at most 20 digits, no sign) up to max; false otherwise. */
bool imap_parse_number(const char *s, size_t len, uint64_t max, uint64_t *out);
/* True when s (len octets) is well-formed UTF-8 (RFC 3629). */
bool imap_utf8_valid(const char *s, size_t len);
/* ASCII case-insensitive equality of a and the NUL-terminated b. */
bool imap_word_eq(const char *a, size_t alen, const char *b);

/* System flags as bits, shared by SEARCH, STORE, APPEND and the mailbox. */
enum {
	IMAP_FLAG_SEEN     = 1 << 0,
	IMAP_FLAG_ANSWERED = 1 << 1,
	IMAP_FLAG_FLAGGED  = 1 << 2,
	IMAP_FLAG_DELETED  = 1 << 3,
	IMAP_FLAG_DRAFT    = 1 << 4,
	IMAP_FLAG_RECENT   = 1 << 5,    /* IMAP4rev1 only; never set by clients */
};

/* ---- 3. sequence sets ---- */

struct imap_seq_range {
	uint32_t lo, hi;        /* lo <= hi */
};

/* Numbers given explicitly are kept as sorted, disjoint, non-adjacent
 * ranges. "*" stays symbolic until evaluation against the current maximum
 * M (messages or highest UID): an element "n:*" means n..M (or M..n), and
 * the union of such elements, all containing M, is the interval
 * [min(star_lo, M), max(star_hi, M)]; "*" alone means M. With M = 0 "*"
 * means nothing. */
struct imap_seqset {
	struct imap_seq_range *ranges;
	size_t nranges;
	bool saved;             /* "$" (RFC 5182): the caller substitutes the saved result */
	bool has_star;
	uint32_t star_lo, star_hi;  /* over "n:*" elements; UINT32_MAX / 0 when only "*" */
};

enum {
	IMAP_SEQSET_ALLOW_ZERO  = 1 << 0, /* 0 is a valid number */
	IMAP_SEQSET_ALLOW_SAVED = 1 << 1, /* "$" allowed (SEARCHRES advertised) */
	IMAP_SEQSET_NO_STAR     = 1 << 2, /* "*" refused (QRESYNC known-uids) */
};

/* Parses s (len octets). Returns 0, or -1 with *err a reply text; the set
 * is empty then. Release with imap_seqset_free(). */
int imap_seqset_parse(struct imap_seqset *set, const char *s, size_t len, unsigned flags,
                      const char **err);
void imap_seqset_free(struct imap_seqset *set);
/* A set of the ascending numbers v[0..n) (as few ranges as they allow). */
void imap_seqset_from_sorted(struct imap_seqset *set, const uint32_t *v, size_t n);
/* Appends the ascending numbers v[0..n) as a set's text, "1:3,5" (UIDPLUS
 * responses, ESEARCH, VANISHED). */
void imap_seqset_text_sorted(const uint32_t *v, size_t n, struct buf *out);
bool imap_seqset_contains(const struct imap_seqset *set, uint32_t n, uint32_t max);
/* Highest number given explicitly ("*" excluded; star_hi counts), 0 if none:
 * sequence numbers above the message count deserve BAD (RFC 9051 6.4.4). */
uint32_t imap_seqset_highest(const struct imap_seqset *set);

/* Ascending, merged ranges of the set resolved against max, clipped to 1..max. */
struct imap_seqset_iter {
	const struct imap_seqset *set;
	size_t i;
	uint32_t max;
	bool star_pending;
	uint32_t star_lo, star_hi;
};
void imap_seqset_iter_init(struct imap_seqset_iter *it, const struct imap_seqset *set,
                           uint32_t max);
bool imap_seqset_iter_next(struct imap_seqset_iter *it, uint32_t *lo, uint32_t *hi);
/* Number of values of 1..max in the set. */
uint64_t imap_seqset_count(const struct imap_seqset *set, uint32_t max);

/* Parses the next argument (an atom) as a sequence set. */
bool imap_next_seqset(struct imap_cursor *c, struct imap_seqset *set, unsigned flags);

#endif
