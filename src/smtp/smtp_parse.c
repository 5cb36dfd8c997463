/* SMTP command line and path parsing; see smtp_parse.h.
 *
 * Grammar references are to RFC 5321 4.1.2 unless noted; the UTF-8
 * extensions follow RFC 6531 3.3. Every parser walks a NUL-terminated string
 * with a cursor and never looks past the NUL. Copies go through a bounded
 * buffer sized for the RFC 5321 4.5.3.1 limits, so a hostile line can make
 * a parser fail but never write or read out of bounds. Character classes
 * are spelled out in ASCII because <ctype.h> depends on the locale. */
#include "smtp/smtp_parse.h"

#include "core/utf8.h"

#include <arpa/inet.h>
#include <limits.h>
#include <string.h>

/* RFC 1035 2.3.4: a DNS label is at most 63 octets. */
#define DNS_LABEL_MAX 63

/* ---- character classes and small helpers ---- */

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(unsigned char c)
{
	return is_alpha(c) || is_digit(c);
}

static bool is_ctl(unsigned char c)
{
	return c < 0x20 || c == 0x7f;
}

static unsigned char ascii_lower(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') ? (unsigned char)(c - 'A' + 'a') : c;
}

/* RFC 5322 3.2.3 atext, as used by RFC 5321 Atom (ASCII part only). */
static bool is_atext(unsigned char c)
{
	return is_alnum(c) || (c != '\0' && strchr("!#$%&'*+-/=?^_`{|}~", c) != NULL);
}

/* qtextSMTP = %d32-33 / %d35-91 / %d93-126 (ASCII part only). */
static bool is_qtext(unsigned char c)
{
	return c >= 32 && c <= 126 && c != '"' && c != '\\';
}

/* dcontent = %d33-90 / %d94-126: anything printable but "[", "\", "]". */
static bool is_dcontent(unsigned char c)
{
	return c >= 33 && c <= 126 && c != '[' && c != '\\' && c != ']';
}

/* esmtp-value = 1*(%d33-60 / %d62-126): printable, no "=" (ASCII part). */
static bool is_esmtp_value_char(unsigned char c)
{
	return c >= 33 && c <= 126 && c != '=';
}

/* Case-insensitive (ASCII) test that s starts with the literal prefix. */
static bool has_prefix_nocase(const unsigned char *s, const char *prefix)
{
	for (; *prefix != '\0'; s++, prefix++) {
		if (ascii_lower(*s) != ascii_lower((unsigned char)*prefix))
			return false;
	}
	return true;
}

/* A string buffer that refuses to overflow and is always NUL-terminated. */
struct sbuf {
	char *s;
	size_t len;
	size_t cap;             /* including the NUL */
};

static struct sbuf sbuf_init(char *s, size_t cap)
{
	if (cap > 0)
		s[0] = '\0';
	return (struct sbuf){ .s = s, .len = 0, .cap = cap };
}

static bool sbuf_put(struct sbuf *b, unsigned char c)
{
	if (b->len + 1 >= b->cap)
		return false;
	b->s[b->len++] = (char)c;
	b->s[b->len] = '\0';
	return true;
}

static bool sbuf_puts(struct sbuf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (!sbuf_put(b, (unsigned char)*s))
			return false;
	}
	return true;
}

/* ---- UTF-8 ---- */

bool smtp_utf8_valid(const char *s, size_t len)
{
	return utf8_valid(s, len);
}

/* ---- command line ---- */

static const struct {
	const char *name;
	enum smtp_verb verb;
} smtp_verbs[] = {
	{ "HELO", SMTP_CMD_HELO }, { "EHLO", SMTP_CMD_EHLO }, { "MAIL", SMTP_CMD_MAIL },
	{ "RCPT", SMTP_CMD_RCPT }, { "DATA", SMTP_CMD_DATA }, { "BDAT", SMTP_CMD_BDAT },
	{ "RSET", SMTP_CMD_RSET }, { "NOOP", SMTP_CMD_NOOP }, { "QUIT", SMTP_CMD_QUIT },
	{ "HELP", SMTP_CMD_HELP }, { "VRFY", SMTP_CMD_VRFY }, { "EXPN", SMTP_CMD_EXPN },
	{ "STARTTLS", SMTP_CMD_STARTTLS }, { "AUTH", SMTP_CMD_AUTH }, { "LHLO", SMTP_CMD_LHLO },
};

static enum smtp_verb smtp_verb_lookup(const char *word, size_t len)
{
	for (size_t i = 0; i < sizeof smtp_verbs / sizeof smtp_verbs[0]; i++) {
		if (strlen(smtp_verbs[i].name) == len &&
		    has_prefix_nocase((const unsigned char *)word, smtp_verbs[i].name))
			return smtp_verbs[i].verb;
	}
	return SMTP_CMD_UNKNOWN;
}

/* NUL would truncate the line for every later C-string consumer, and
 * control characters have no business in a command (RFC 5321 4.1.1);
 * HTAB is tolerated because some clients send it as white space. */
static bool cmdline_octets_ok(const char *line, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)line[i];
		if (is_ctl(c) && c != '\t')
			return false;
	}
	return true;
}

enum smtp_parse_err smtp_parse_command(char *line, size_t len, struct smtp_cmd *cmd)
{
	line[len] = '\0';
	cmd->verb = SMTP_CMD_UNKNOWN;
	cmd->arg = line + len;
	if (!cmdline_octets_ok(line, len))
		return SMTP_PARSE_BAD_CHAR;

	size_t word_len = strcspn(line, " ");
	cmd->verb = smtp_verb_lookup(line, word_len);
	if (word_len < len)
		cmd->arg = line + word_len + 1;
	return SMTP_PARSE_OK;
}

/* ---- paths ---- */

struct scan {
	const unsigned char *p;
	bool allow_utf8;        /* RFC 6531: UTF-8 in local parts and domains */
	bool allow_underscore;  /* in domains: HELO leniency only */
	bool saw_utf8;
};

/* Called on an octet >= 0x80 in a local part or domain. The whole argument
 * was checked to be well-formed UTF-8 before, so only permission is left. */
static enum smtp_parse_err scan_accept_utf8(struct scan *sc)
{
	if (!sc->allow_utf8)
		return SMTP_PARSE_BAD_CHAR;
	sc->saw_utf8 = true;
	return SMTP_PARSE_OK;
}

/* Dot-string = Atom *("." Atom); Atom = 1*atext (RFC 6531: or UTF-8). */
static enum smtp_parse_err parse_dot_string(struct scan *sc, struct sbuf *out)
{
	bool atom_empty = true;

	for (;; sc->p++) {
		unsigned char c = *sc->p;
		if (c == '.') {
			if (atom_empty)
				return SMTP_PARSE_SYNTAX;
			atom_empty = true;
		} else if (c >= 0x80) {
			enum smtp_parse_err err = scan_accept_utf8(sc);
			if (err != SMTP_PARSE_OK)
				return err;
			atom_empty = false;
		} else if (is_atext(c)) {
			atom_empty = false;
		} else {
			break;
		}
		/* RFC 5321 4.5.3.1.1: local part <= 64 octets */
		if (!sbuf_put(out, c))
			return SMTP_PARSE_TOO_LONG;
	}
	return atom_empty ? SMTP_PARSE_SYNTAX : SMTP_PARSE_OK;
}

/* Quoted-string = DQUOTE *QcontentSMTP DQUOTE; the escapes of
 * quoted-pairSMTP (%d92 %d32-126) are removed in the copy. */
static enum smtp_parse_err parse_quoted_string(struct scan *sc, struct sbuf *out)
{
	const unsigned char *start = sc->p++;

	for (;; sc->p++) {
		unsigned char c = *sc->p;
		if (c == '\0')
			return SMTP_PARSE_SYNTAX;
		/* RFC 5321 4.5.3.1.1: 64 octets as sent, quotes included */
		if ((size_t)(sc->p - start) >= SMTP_LOCAL_MAX)
			return SMTP_PARSE_TOO_LONG;
		if (c == '"') {
			sc->p++;
			return SMTP_PARSE_OK;
		}
		if (c == '\\') {
			c = sc->p[1];
			if (c < 32 || c > 126)
				return SMTP_PARSE_SYNTAX;
			sc->p++;
		} else if (c >= 0x80) {
			enum smtp_parse_err err = scan_accept_utf8(sc);
			if (err != SMTP_PARSE_OK)
				return err;
		} else if (!is_qtext(c)) {
			return SMTP_PARSE_SYNTAX;
		}
		if (!sbuf_put(out, c))
			return SMTP_PARSE_TOO_LONG;
	}
}

static bool label_ok(size_t len, bool has_utf8, unsigned char last)
{
	/* U-labels are limited in their A-label form, which we cannot compute
	 * here; the 255-octet domain limit still bounds them. */
	return len > 0 && last != '-' && (has_utf8 || len <= DNS_LABEL_MAX);
}

/* Domain = sub-domain *("." sub-domain); sub-domain = Let-dig [Ldh-str],
 * so labels neither start nor end with "-". RFC 6531 3.3 adds U-labels,
 * accepted here as labels containing UTF-8. ASCII is lower-cased. */
static enum smtp_parse_err parse_domain(struct scan *sc, struct sbuf *out)
{
	size_t label_len = 0;
	bool label_utf8 = false;
	unsigned char last = '\0';

	for (;; sc->p++) {
		unsigned char c = *sc->p;
		if (c == '.') {
			if (!label_ok(label_len, label_utf8, last))
				return SMTP_PARSE_SYNTAX;
			label_len = 0;
			label_utf8 = false;
		} else if (c >= 0x80) {
			enum smtp_parse_err err = scan_accept_utf8(sc);
			if (err != SMTP_PARSE_OK)
				return err;
			label_utf8 = true;
			label_len++;
		} else if (is_alnum(c) || (c == '_' && sc->allow_underscore) ||
		           (c == '-' && label_len > 0)) {
			c = ascii_lower(c);
			label_len++;
		} else {
			break;
		}
		/* RFC 5321 4.5.3.1.2: domain <= 255 octets */
		if (!sbuf_put(out, c))
			return SMTP_PARSE_TOO_LONG;
		last = c;
	}
	return label_ok(label_len, label_utf8, last) ? SMTP_PARSE_OK : SMTP_PARSE_SYNTAX;
}

/* Snum = 1*3DIGIT representing a decimal integer value in 0..255. */
static bool ipv4_literal_valid(const char *s, size_t len)
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		unsigned value = 0;
		size_t digits = 0;
		if (part > 0 && (i >= len || s[i++] != '.'))
			return false;
		for (; i < len && is_digit((unsigned char)s[i]) && digits < 3; i++, digits++)
			value = value * 10 + (unsigned)(s[i] - '0');
		if (digits == 0 || value > 255)
			return false;
	}
	return i == len;
}

/* IPv6-addr forms of RFC 5321 4.1.3 are the textual forms inet_pton reads. */
static bool ipv6_literal_valid(const char *s, size_t len)
{
	char text[INET6_ADDRSTRLEN];
	struct in6_addr addr;

	if (len == 0 || len >= sizeof text)
		return false;
	memcpy(text, s, len);
	text[len] = '\0';
	return inet_pton(AF_INET6, text, &addr) == 1;
}

/* address-literal = "[" ( IPv4-address-literal / IPv6-address-literal /
 * General-address-literal ) "]" (RFC 5321 4.1.3). No General-address-literal
 * tag but IPv6 is registered, so any other tag is refused. */
static bool address_literal_valid(const char *s, size_t len)
{
	if (len >= 5 && has_prefix_nocase((const unsigned char *)s, "IPv6:"))
		return ipv6_literal_valid(s + 5, len - 5);
	return ipv4_literal_valid(s, len);
}

/* Copies "[...]" verbatim (brackets included) after validating it. */
static enum smtp_parse_err parse_address_literal(struct scan *sc, struct sbuf *out)
{
	const unsigned char *start = sc->p;
	size_t len = 1;

	while (is_dcontent(start[len]))
		len++;
	if (start[len] != ']')
		return SMTP_PARSE_SYNTAX;
	len++;
	if (len > SMTP_DOMAIN_MAX)
		return SMTP_PARSE_TOO_LONG;
	if (!address_literal_valid((const char *)start + 1, len - 2))
		return SMTP_PARSE_SYNTAX;
	for (size_t i = 0; i < len; i++) {
		if (!sbuf_put(out, start[i]))
			return SMTP_PARSE_TOO_LONG;
	}
	sc->p += len;
	return SMTP_PARSE_OK;
}

/* A-d-l = At-domain *( "," At-domain ) ":". RFC 5321 3.3 and appendix C:
 * servers MUST accept source routes and SHOULD ignore them, so the route's
 * domains are checked for syntax and then forgotten. */
static enum smtp_parse_err skip_source_route(struct scan *sc)
{
	char scratch[SMTP_DOMAIN_MAX + 1];
	bool saw_utf8 = sc->saw_utf8;

	for (;;) {
		if (*sc->p != '@')
			return SMTP_PARSE_SYNTAX;
		sc->p++;
		struct sbuf route = sbuf_init(scratch, sizeof scratch);
		enum smtp_parse_err err = parse_domain(sc, &route);
		if (err != SMTP_PARSE_OK)
			return err;
		if (*sc->p == ':')
			break;
		if (*sc->p != ',')
			return SMTP_PARSE_SYNTAX;
		sc->p++;
	}
	sc->p++;
	/* path->utf8 describes the address kept, not the route discarded */
	sc->saw_utf8 = saw_utf8;
	return SMTP_PARSE_OK;
}

/* Mailbox = Local-part "@" ( Domain / address-literal ) */
static enum smtp_parse_err parse_mailbox(struct scan *sc, struct smtp_path *path)
{
	struct sbuf local = sbuf_init(path->local, sizeof path->local);
	struct sbuf domain = sbuf_init(path->domain, sizeof path->domain);
	enum smtp_parse_err err;

	if (*sc->p == '"')
		err = parse_quoted_string(sc, &local);
	else
		err = parse_dot_string(sc, &local);
	if (err != SMTP_PARSE_OK)
		return err;
	if (*sc->p != '@')
		return SMTP_PARSE_SYNTAX;
	sc->p++;
	if (*sc->p == '[')
		return parse_address_literal(sc, &domain);
	return parse_domain(sc, &domain);
}

/* True when the (unquoted) local part can be written as a Dot-string. */
static bool local_is_dot_string(const char *s)
{
	bool atom_empty = true;

	for (; *s != '\0'; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '.') {
			if (atom_empty)
				return false;
			atom_empty = true;
		} else if (c >= 0x80 || is_atext(c)) {
			atom_empty = false;
		} else {
			return false;
		}
	}
	return !atom_empty;
}

/* Writes the local part as a Quoted-string, escaping only what must be. */
static bool put_quoted_local(struct sbuf *b, const char *s)
{
	bool ok = sbuf_put(b, '"');

	for (; ok && *s != '\0'; s++) {
		if (*s == '"' || *s == '\\')
			ok = sbuf_put(b, '\\');
		ok = ok && sbuf_put(b, (unsigned char)*s);
	}
	return ok && sbuf_put(b, '"');
}

/* One spelling per address, so logs and lookups agree however the client
 * chose to quote it. */
static enum smtp_parse_err build_canonical_addr(struct smtp_path *path)
{
	struct sbuf addr = sbuf_init(path->addr, sizeof path->addr);
	bool ok;

	if (local_is_dot_string(path->local))
		ok = sbuf_puts(&addr, path->local);
	else
		ok = put_quoted_local(&addr, path->local);
	ok = ok && sbuf_put(&addr, '@') && sbuf_puts(&addr, path->domain);
	return ok ? SMTP_PARSE_OK : SMTP_PARSE_TOO_LONG;
}

/* RFC 5321 4.1.1.3: "<Postmaster>" without a domain, case-insensitive. */
static bool parse_postmaster(struct scan *sc, struct smtp_path *path)
{
	static const char word[] = "postmaster";

	if (!has_prefix_nocase(sc->p, "postmaster>"))
		return false;
	memcpy(path->local, sc->p, sizeof word - 1);
	path->local[sizeof word - 1] = '\0';
	memcpy(path->addr, word, sizeof word);
	path->postmaster = true;
	sc->p += sizeof word;   /* the word and ">" */
	return true;
}

/* Path = "<" [ A-d-l ":" ] Mailbox ">", plus "<>" for MAIL (4.1.1.2) and
 * "<Postmaster>" for RCPT (4.1.1.3). */
static enum smtp_parse_err parse_path(struct scan *sc, bool is_mail, struct smtp_path *path)
{
	const unsigned char *start = sc->p;
	enum smtp_parse_err err;

	if (*sc->p != '<')
		return SMTP_PARSE_SYNTAX;
	sc->p++;
	if (*sc->p == '>') {
		if (!is_mail)
			return SMTP_PARSE_SYNTAX;
		path->null_path = true;
		sc->p++;
		return SMTP_PARSE_OK;
	}
	if (!is_mail && parse_postmaster(sc, path))
		return SMTP_PARSE_OK;
	if (*sc->p == '@' && (err = skip_source_route(sc)) != SMTP_PARSE_OK)
		return err;
	if ((err = parse_mailbox(sc, path)) != SMTP_PARSE_OK)
		return err;
	if (*sc->p != '>')
		return SMTP_PARSE_SYNTAX;
	sc->p++;
	/* RFC 5321 4.5.3.1.3: 256 octets "including the punctuation" */
	if ((size_t)(sc->p - start) > SMTP_PATH_MAX)
		return SMTP_PARSE_TOO_LONG;
	return build_canonical_addr(path);
}

/* esmtp-param = esmtp-keyword ["=" esmtp-value];
 * esmtp-keyword = (ALPHA / DIGIT) *(ALPHA / DIGIT / "-").
 * UTF-8 values (RFC 6531 3.3) do not make the path itself UTF-8. */
static enum smtp_parse_err parse_param(struct scan *sc, struct smtp_param *param)
{
	struct sbuf key = sbuf_init(param->key, sizeof param->key);
	struct sbuf value = sbuf_init(param->value, sizeof param->value);

	if (!is_alnum(*sc->p))
		return SMTP_PARSE_BAD_PARAM;
	for (; is_alnum(*sc->p) || *sc->p == '-'; sc->p++) {
		if (!sbuf_put(&key, *sc->p))
			return SMTP_PARSE_BAD_PARAM;
	}
	if (*sc->p != '=')
		return SMTP_PARSE_OK;
	sc->p++;
	param->has_value = true;
	for (;; sc->p++) {
		unsigned char c = *sc->p;
		if (c >= 0x80 && !sc->allow_utf8)
			return SMTP_PARSE_BAD_PARAM;
		if (c < 0x80 && !is_esmtp_value_char(c))
			break;
		if (!sbuf_put(&value, c))
			return SMTP_PARSE_BAD_PARAM;
	}
	return value.len > 0 ? SMTP_PARSE_OK : SMTP_PARSE_BAD_PARAM;
}

/* Mail-parameters = esmtp-param *(SP esmtp-param); runs of spaces and
 * trailing spaces are tolerated because real clients send them. */
static enum smtp_parse_err parse_params(struct scan *sc, struct smtp_path *path)
{
	if (*sc->p != '\0' && *sc->p != ' ')
		return SMTP_PARSE_SYNTAX;
	for (;;) {
		while (*sc->p == ' ')
			sc->p++;
		if (*sc->p == '\0')
			return SMTP_PARSE_OK;
		if (path->nparams == SMTP_PARAMS_MAX)
			return SMTP_PARSE_BAD_PARAM;
		enum smtp_parse_err err = parse_param(sc, &path->params[path->nparams]);
		if (err != SMTP_PARSE_OK)
			return err;
		path->nparams++;
		if (*sc->p != ' ' && *sc->p != '\0')
			return SMTP_PARSE_BAD_PARAM;
	}
}

/* No control octet is valid anywhere in a path or its parameters, and
 * RFC 6531 3.3 admits only well-formed UTF-8, whatever the session allows. */
static enum smtp_parse_err check_arg_octets(const char *arg)
{
	const unsigned char *u = (const unsigned char *)arg;
	size_t len = strlen(arg);

	for (size_t i = 0; i < len;) {
		size_t n = utf8_seq_len(u + i, len - i);
		if (n == 0 || is_ctl(u[i]))
			return SMTP_PARSE_BAD_CHAR;
		i += n;
	}
	return SMTP_PARSE_OK;
}

enum smtp_parse_err smtp_parse_path_arg(const char *arg, bool is_mail, bool allow_utf8,
                                        struct smtp_path *path)
{
	const char *keyword = is_mail ? "FROM:" : "TO:";
	struct scan sc = { .p = (const unsigned char *)arg, .allow_utf8 = allow_utf8 };
	enum smtp_parse_err err;

	memset(path, 0, sizeof *path);
	if ((err = check_arg_octets(arg)) != SMTP_PARSE_OK)
		return err;
	if (!has_prefix_nocase(sc.p, keyword))
		return SMTP_PARSE_SYNTAX;
	sc.p += strlen(keyword);
	/* "MAIL FROM: <a@b>" is not RFC 5321 syntax but common in the wild */
	while (*sc.p == ' ')
		sc.p++;
	if ((err = parse_path(&sc, is_mail, path)) != SMTP_PARSE_OK)
		return err;
	path->utf8 = sc.saw_utf8;
	return parse_params(&sc, path);
}

const struct smtp_param *smtp_path_param(const struct smtp_path *path, const char *key)
{
	size_t key_len = strlen(key);

	for (size_t i = 0; i < path->nparams && i < SMTP_PARAMS_MAX; i++) {
		const char *k = path->params[i].key;
		if (strlen(k) == key_len && has_prefix_nocase((const unsigned char *)k, key))
			return &path->params[i];
	}
	return NULL;
}

/* ---- HELO/EHLO, BDAT, SIZE ---- */

/* ehlo = "EHLO" SP ( Domain / address-literal ). Underscores are tolerated
 * in the domain because many Windows hosts have them in their names. */
enum smtp_parse_err smtp_parse_helo(const char *arg, char *out, size_t outlen)
{
	char scratch[SMTP_DOMAIN_MAX + 1];
	struct sbuf check = sbuf_init(scratch, sizeof scratch);
	struct scan sc = { .p = (const unsigned char *)arg, .allow_underscore = true };
	size_t len = strcspn(arg, " ");
	enum smtp_parse_err err;

	if (outlen > 0)
		out[0] = '\0';
	if (len == 0)
		return SMTP_PARSE_SYNTAX;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)arg[i];
		if (is_ctl(c) || c >= 0x80)
			return SMTP_PARSE_BAD_CHAR;
	}
	if (len > SMTP_DOMAIN_MAX || len >= outlen)
		return SMTP_PARSE_TOO_LONG;
	if (arg[0] == '[')
		err = parse_address_literal(&sc, &check);
	else
		err = parse_domain(&sc, &check);
	if (err != SMTP_PARSE_OK)
		return err;
	if (sc.p != (const unsigned char *)arg + len)
		return SMTP_PARSE_SYNTAX;
	memcpy(out, arg, len);
	out[len] = '\0';
	return SMTP_PARSE_OK;
}

/* RFC 3030 2: bdat-cmd = "BDAT" SP chunk-size [ SP end-marker ];
 * chunk-size = 1*DIGIT; end-marker = "LAST". 18 digits cannot overflow. */
enum smtp_parse_err smtp_parse_bdat(const char *arg, unsigned long long *size, bool *last)
{
	const unsigned char *p = (const unsigned char *)arg;
	unsigned long long value = 0;
	size_t digits = 0;
	bool is_last = false;

	*size = 0;
	*last = false;
	for (; is_digit(*p); p++, digits++) {
		if (digits == 18)
			return SMTP_PARSE_SYNTAX;
		value = value * 10 + (unsigned)(*p - '0');
	}
	if (digits == 0 || (*p != ' ' && *p != '\0'))
		return SMTP_PARSE_SYNTAX;
	while (*p == ' ')
		p++;
	if (*p != '\0') {
		if (!has_prefix_nocase(p, "LAST"))
			return SMTP_PARSE_SYNTAX;
		is_last = true;
		for (p += 4; *p == ' '; p++)
			;
	}
	if (*p != '\0')
		return SMTP_PARSE_SYNTAX;
	*size = value;
	*last = is_last;
	return SMTP_PARSE_OK;
}

/* RFC 1870 6: size-value = 1*20DIGIT. A 20-digit value can exceed
 * ULLONG_MAX; it is well-formed, so it saturates and the caller's limit
 * check refuses it. */
bool smtp_parse_size_value(const char *value, unsigned long long *size)
{
	unsigned long long v = 0;
	size_t digits = 0;

	*size = 0;
	for (; is_digit((unsigned char)value[digits]); digits++) {
		unsigned d = (unsigned)(value[digits] - '0');
		if (digits == 20)
			return false;
		v = v > (ULLONG_MAX - d) / 10 ? ULLONG_MAX : v * 10 + d;
	}
	if (digits == 0 || value[digits] != '\0')
		return false;
	*size = v;
	return true;
}
