/* Internals shared by mbox.c and mbox_sync.c. */
#ifndef POSTERN_MBOX_INT_H
#define POSTERN_MBOX_INT_H

#include <sqlite3.h>

#include "store/mbox.h"

struct mbox_store {
	sqlite3 *db;
	char *root;             /* the user's Maildir */
};

/* Adds index rows for Maildir++ folders found on disk but not in the index. */
int mbox_discover_folders(struct mbox_store *ms);
/* Removes the regular files of a directory (not recursive). */
void mbox_unlink_all(const char *dir);

#endif
