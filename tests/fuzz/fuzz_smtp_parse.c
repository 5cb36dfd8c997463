/* libFuzzer target for src/smtp/smtp_parse.c.
 *
 * The input goes in as a command line (and its argument to the parser its
 * verb selects), and also directly to every argument parser with every
 * setting. Beyond the sanitizers, it checks properties that must hold for
 * any input and abort()s when one does not: results fit their limits, a
 * path accepted without SMTPUTF8 is accepted the same with it, and the
 * canonical address reads back as itself. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "smtp/smtp_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

static bool is_terminated(const char *s, size_t cap)
{
	return memchr(s, '\0', cap) != NULL;
}

static bool is_ascii(const char *s)
{
	for (; *s != '\0'; s++) {
		if ((unsigned char)*s >= 0x80)
			return false;
	}
	return true;
}

static void check_path_fields(const struct smtp_path *p, bool is_mail, bool allow_utf8)
{
	check(is_terminated(p->local, sizeof p->local));
	check(is_terminated(p->domain, sizeof p->domain));
	check(is_terminated(p->addr, sizeof p->addr));
	check(p->nparams <= SMTP_PARAMS_MAX);
	for (size_t i = 0; i < p->nparams; i++) {
		check(is_terminated(p->params[i].key, sizeof p->params[i].key));
		check(is_terminated(p->params[i].value, sizeof p->params[i].value));
		check(p->params[i].key[0] != '\0');
		check(p->params[i].has_value == (p->params[i].value[0] != '\0'));
		check(smtp_path_param(p, p->params[i].key) != NULL);
	}
	check(!p->null_path || is_mail);
	check(!p->postmaster || !is_mail);
	check(allow_utf8 || !p->utf8);
	check(p->utf8 == !(is_ascii(p->local) && is_ascii(p->domain)));
	check(smtp_utf8_valid(p->addr, strlen(p->addr)));
	check(strlen(p->addr) <= SMTP_PATH_MAX - 2);
	if (!p->null_path && !p->postmaster)
		check(p->domain[0] != '\0' && strchr(p->addr, '@') != NULL);
}

/* The canonical address, put back in a path, parses to the same address. */
static void check_canonical_roundtrip(const struct smtp_path *p, bool is_mail, bool allow_utf8)
{
	char arg[SMTP_PATH_MAX + 16];
	struct smtp_path again;

	snprintf(arg, sizeof arg, "%s<%s>", is_mail ? "FROM:" : "TO:", p->addr);
	check(smtp_parse_path_arg(arg, is_mail, allow_utf8, &again) == SMTP_PARSE_OK);
	check(strcmp(again.addr, p->addr) == 0);
	/* <Postmaster> keeps the spelling sent in local, but addr is lower case */
	check(p->postmaster || strcmp(again.local, p->local) == 0);
	check(strcmp(again.domain, p->domain) == 0);
	check(again.null_path == p->null_path && again.postmaster == p->postmaster);
	check(again.utf8 == p->utf8);
}

static void fuzz_path_arg(const char *arg, bool is_mail)
{
	struct smtp_path strict, relaxed;
	enum smtp_parse_err strict_err = smtp_parse_path_arg(arg, is_mail, false, &strict);
	enum smtp_parse_err relaxed_err = smtp_parse_path_arg(arg, is_mail, true, &relaxed);

	if (strict_err == SMTP_PARSE_OK) {
		check_path_fields(&strict, is_mail, false);
		check_canonical_roundtrip(&strict, is_mail, false);
		/* allowing UTF-8 only ever accepts more */
		check(relaxed_err == SMTP_PARSE_OK);
		check(strcmp(strict.addr, relaxed.addr) == 0);
		check(strict.nparams == relaxed.nparams);
	}
	if (relaxed_err == SMTP_PARSE_OK) {
		check_path_fields(&relaxed, is_mail, true);
		check_canonical_roundtrip(&relaxed, is_mail, true);
	}
}

static void fuzz_helo(const char *arg, size_t outlen)
{
	char out[SMTP_DOMAIN_MAX + 1];

	if (outlen > sizeof out)
		outlen = sizeof out;
	if (smtp_parse_helo(arg, out, outlen) == SMTP_PARSE_OK) {
		size_t n = strlen(out);
		check(n > 0 && n < outlen && n <= SMTP_DOMAIN_MAX);
		check(strncmp(out, arg, n) == 0);
		check(arg[n] == '\0' || arg[n] == ' ');
	} else if (outlen > 0) {
		check(out[0] == '\0');
	}
}

static void fuzz_bdat(const char *arg)
{
	unsigned long long size;
	bool last;

	if (smtp_parse_bdat(arg, &size, &last) == SMTP_PARSE_OK)
		check(size < 1000000000000000000ULL);
	else
		check(size == 0 && !last);
}

static void fuzz_all_arg_parsers(const char *arg, size_t helo_outlen)
{
	unsigned long long size;

	fuzz_path_arg(arg, true);
	fuzz_path_arg(arg, false);
	fuzz_helo(arg, SMTP_DOMAIN_MAX + 1);
	fuzz_helo(arg, helo_outlen);
	fuzz_bdat(arg);
	if (!smtp_parse_size_value(arg, &size))
		check(size == 0);
}

/* The way the session uses it: split, then parse the argument by verb. */
static void fuzz_command_line(char *line, size_t size)
{
	struct smtp_cmd cmd;
	enum smtp_parse_err err = smtp_parse_command(line, size, &cmd);

	check(line[size] == '\0');
	check(cmd.arg >= line && cmd.arg <= line + size);
	if (err != SMTP_PARSE_OK) {
		check(err == SMTP_PARSE_BAD_CHAR && cmd.verb == SMTP_CMD_UNKNOWN);
		return;
	}
	check(strlen(line) == size);
	switch (cmd.verb) {
	case SMTP_CMD_MAIL:
		fuzz_path_arg(cmd.arg, true);
		break;
	case SMTP_CMD_RCPT:
		fuzz_path_arg(cmd.arg, false);
		break;
	case SMTP_CMD_HELO:
	case SMTP_CMD_EHLO:
		fuzz_helo(cmd.arg, SMTP_DOMAIN_MAX + 1);
		break;
	case SMTP_CMD_BDAT:
		fuzz_bdat(cmd.arg);
		break;
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *copy = malloc(size + 1);

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	copy[size] = '\0';
	/* as a C string the input ends at its first NUL, as the session's would */
	fuzz_all_arg_parsers(copy, size % (SMTP_DOMAIN_MAX + 2));
	(void)smtp_utf8_valid(copy, size);
	fuzz_command_line(copy, size);
	free(copy);
	return 0;
}
