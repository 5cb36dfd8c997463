/* What the dkim subcommands that read a message share (cli_dkim_verify.c):
 * keys from files in place of DNS, and a message read header then body. */
#ifndef POSTERN_CLI_DKIM_H
#define POSTERN_CLI_DKIM_H

#include <stddef.h>

#include "mailauth/dkim_verify.h"

struct cli_args;

/* --key NAME=FILE...: a DNS whose TXT lookups answer from those files at
 * once (a name without a file has no record). Fills dns; NULL after saying
 * why on stderr. */
struct cli_file_dns;
struct cli_file_dns *cli_file_dns_new(const struct cli_args *a, struct dkim_dns *dns);
void cli_file_dns_free(struct cli_file_dns *d);

/* A message as it is read: the header block once (hdr_len octets without
 * the empty line; the body starts at body_at in the same buffer), then the
 * body in pieces. */
struct cli_message_sink {
	void (*header)(void *arg, const char *hdr, size_t hdr_len, size_t body_at);
	void (*body)(void *arg, const void *data, size_t len);
	void *arg;
};

/* The file, or stdin for "-": a descriptor, or -1 after saying why. */
int cli_open_message(const char *path);
/* Reads fd to its end into sink; the header block is bounded by
 * DKIM_HEADER_MAX (a longer one is passed whole, unended). 0 or -1. */
int cli_read_message(int fd, const struct cli_message_sink *sink);

/* cli_dkim_arc.c: dkim arc-verify and arc-seal */
int cli_dkim_arc_verify(struct cli_args *a, const char *usage);
int cli_dkim_arc_seal(struct cli_args *a, const char *usage);

#endif
