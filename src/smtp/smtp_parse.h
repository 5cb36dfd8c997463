/* SMTP command line and path parsing (RFC 5321 4.1, RFC 6531 for UTF-8).
 *
 * Pure functions: no I/O, no allocation. Every input is hostile; every
 * function is total (any byte string gives either a result or an error). */
#ifndef POSTERN_SMTP_PARSE_H
#define POSTERN_SMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>

/* RFC 5321 4.5.3.1: limits in octets, without the terminating NUL. */
#define SMTP_LOCAL_MAX   64
#define SMTP_DOMAIN_MAX  255
#define SMTP_PATH_MAX    256
#define SMTP_CMDLINE_MAX 512     /* including CRLF */
#define SMTP_TEXTLINE_MAX 1000   /* including CRLF */
#define SMTP_PARAMS_MAX  8

enum smtp_verb {
	SMTP_CMD_UNKNOWN = 0,
	SMTP_CMD_HELO, SMTP_CMD_EHLO, SMTP_CMD_MAIL, SMTP_CMD_RCPT, SMTP_CMD_DATA,
	SMTP_CMD_BDAT, SMTP_CMD_RSET, SMTP_CMD_NOOP, SMTP_CMD_QUIT, SMTP_CMD_HELP,
	SMTP_CMD_VRFY, SMTP_CMD_EXPN, SMTP_CMD_STARTTLS, SMTP_CMD_AUTH,
	SMTP_CMD_LHLO,          /* LMTP's EHLO (RFC 2033 4.1) */
};

enum smtp_parse_err {
	SMTP_PARSE_OK = 0,
	SMTP_PARSE_SYNTAX,      /* malformed command or arguments          -> 501 5.5.2 / 5.5.4 */
	SMTP_PARSE_BAD_CHAR,    /* NUL, control char or 8-bit where not ok -> 500 5.5.2      */
	SMTP_PARSE_TOO_LONG,    /* local part, domain or path over limit   -> 501 5.1.3      */
	SMTP_PARSE_BAD_PARAM,   /* malformed esmtp-param                   -> 555 5.5.4      */
};

struct smtp_cmd {
	enum smtp_verb verb;
	const char *arg;        /* rest of the line after the verb and one SP; "" if none */
};

/* Splits a command line (CRLF already removed, `len` octets, may contain
 * anything including NUL) into verb and argument. The verb is matched
 * case-insensitively and must be followed by SP or the end of the line.
 * `line` is modified: a NUL is written at line[len] (so it needs len+1 bytes).
 * Returns SMTP_PARSE_BAD_CHAR if the line contains NUL or any octet < 0x20
 * other than HTAB, or 0x7f; 8-bit octets are allowed here (the argument parsers
 * decide). An unknown verb returns SMTP_PARSE_OK with verb SMTP_CMD_UNKNOWN. */
enum smtp_parse_err smtp_parse_command(char *line, size_t len, struct smtp_cmd *cmd);

struct smtp_param {
	char key[32];           /* esmtp-keyword, as sent (compare case-insensitively) */
	char value[128];        /* esmtp-value, "" when absent */
	bool has_value;
};

struct smtp_path {
	bool null_path;                       /* "<>" (MAIL only) */
	bool postmaster;                      /* "<Postmaster>" without domain (RCPT only) */
	bool utf8;                            /* local part or domain has octets >= 0x80 */
	char local[SMTP_LOCAL_MAX + 1];       /* unquoted local part, as sent (case kept) */
	char domain[SMTP_DOMAIN_MAX + 1];     /* domain, lower-cased (ASCII only); or "[literal]" */
	char addr[SMTP_PATH_MAX + 3];         /* canonical "local@domain" for logs; quoted if needed;
	                                         "" for the null path, "postmaster" for <Postmaster> */
	struct smtp_param params[SMTP_PARAMS_MAX];
	size_t nparams;
};

/* Parses the argument of MAIL ("FROM:<path> [params]") or RCPT ("TO:<path> [params]").
 * `is_mail` selects which keyword is expected. Accepted leniencies: case-
 * insensitive FROM/TO, optional spaces between ':' and '<'. A source route
 * (<@a,@b:user@c>) is accepted and discarded. Quoted local parts are unquoted
 * (backslash escapes removed). Domains: dot-atoms of letters, digits, '-',
 * and (only when allow_utf8) UTF-8 octets; address literals "[1.2.3.4]" and
 * "[IPv6:...]" are kept verbatim. A null path is only valid when is_mail.
 * "<postmaster>" (any case, no domain) is only valid for RCPT.
 * UTF-8 in the local part or domain is accepted only when allow_utf8 is
 * true (the session enables it for SMTPUTF8 transactions; for MAIL the
 * caller may first call with allow_utf8=true and then check path->utf8
 * against the SMTPUTF8 parameter); invalid UTF-8 sequences are always an error.
 * Parameters are split into path->params (at most SMTP_PARAMS_MAX, else
 * SMTP_PARSE_BAD_PARAM); values are 1*(%d33-60 / %d62-126), or UTF-8 when allow_utf8. */
enum smtp_parse_err smtp_parse_path_arg(const char *arg, bool is_mail, bool allow_utf8,
                                        struct smtp_path *path);

/* Finds a parameter by keyword (case-insensitive), NULL when absent. */
const struct smtp_param *smtp_path_param(const struct smtp_path *path, const char *key);

/* Parses a HELO/EHLO argument: a domain or address literal, bounded by
 * SMTP_DOMAIN_MAX; trailing text after SP is ignored (some clients send it).
 * Writes the domain (as sent) into out. Returns SMTP_PARSE_SYNTAX when empty. */
enum smtp_parse_err smtp_parse_helo(const char *arg, char *out, size_t outlen);

/* Parses "BDAT <size> [LAST]". size is 1*DIGIT, at most 18 digits. */
enum smtp_parse_err smtp_parse_bdat(const char *arg, unsigned long long *size, bool *last);

/* Parses the SIZE= parameter value (1*20DIGIT); returns false if malformed. */
bool smtp_parse_size_value(const char *value, unsigned long long *size);

/* True when s is valid UTF-8 (no overlongs, no surrogates, <= U+10FFFF). */
bool smtp_utf8_valid(const char *s, size_t len);

#endif
