/* The source tree of an import: a user's Maildir on another server, read
 * as data from elsewhere. Directories are opened one level at a time and
 * never through a symbolic link, so nothing outside the tree is read; the
 * tree itself is only read.
 *
 * Layouts (Dovecot's names): Maildir++ keeps INBOX in the root and each
 * folder in a ".A.B" directory beside cur/; "fs" keeps folders as nested
 * directories A/B, each a Maildir. Names on disk are modified UTF-7. */
#ifndef POSTERN_IMPORT_SOURCE_H
#define POSTERN_IMPORT_SOURCE_H

#include <stddef.h>

#include "import/import_report.h"
#include "store/mbox.h"

#define IMPORT_FOLDERS_MAX 10000     /* one user's folders; more are reported, not imported */
#define IMPORT_REL_MAX 1024           /* a folder's directory below the root */

enum import_layout { IMPORT_LAYOUT_MAILDIRPP, IMPORT_LAYOUT_FS };

struct import_folder {
	char rel[IMPORT_REL_MAX];        /* its directory below the root, "" for INBOX */
	char name[MBOX_NAME_MAX + 1];    /* its postern name */
};

/* Opens the directory rel below rootfd ("" is the root itself) following
 * no symbolic link. An fd, or -1 with errno (ELOOP/ENOTDIR for a link). */
int import_open_dir(int rootfd, const char *rel);

/* The folders of the tree at rootfd sorted by name (a parent before its
 * children); of two that come out as one name, the first is kept. A directory that cannot be a
 * folder of postern's is reported as skipped. *out is allocated (free it);
 * -1 with err when the root cannot be read. */
int import_list_folders(int rootfd, const char *root_path, enum import_layout layout,
                        struct import_report *r, struct import_folder **out, size_t *n,
                        char *err, size_t errlen);

#endif
