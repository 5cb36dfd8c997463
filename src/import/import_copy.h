/* One message file copied from the source tree into a mailbox's tmp/: the
 * source opened without following a symbolic link, checked (a regular,
 * non-empty file that starts like an RFC 5322 message), copied byte for
 * byte, its RFC822.SIZE counted on the way and its mtime (Dovecot's
 * INTERNALDATE) kept. The data is not synced here: the importer syncs a
 * whole batch at once. The source is only read. */
#ifndef POSTERN_IMPORT_COPY_H
#define POSTERN_IMPORT_COPY_H

#include <stddef.h>
#include <stdint.h>

#include "import/import_report.h"

/* IMAP cannot describe more (RFC 3501's RFC822.SIZE is a 32-bit number). */
#define IMPORT_MESSAGE_MAX 0xffffffffULL

enum import_copy_rc {
	IMPORT_COPY_OK = 0,
	IMPORT_COPY_SKIP = 1,      /* *skip and detail say why; nothing was written */
	IMPORT_COPY_FATAL = -1,    /* the destination failed: detail says why; stop */
	IMPORT_COPY_DENIED = -2,   /* the source may not be read: stop */
};

struct import_copied {
	uint64_t octets;           /* the file's size */
	uint64_t vsize;            /* RFC822.SIZE: bare LFs counted as CRLF */
	long long mtime;
};

int import_copy_message(int srcdir, const char *name, int tmpdir, const char *tmpname,
                        struct import_copied *out, enum import_skip *skip, char *detail,
                        size_t dlen);

/* The first octets of a file look like a message: a header field (or an
 * mbox "From " line) first, and no NUL in the header. */
int import_looks_like_message(const char *data, size_t len);

#endif
