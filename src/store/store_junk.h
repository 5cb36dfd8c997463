/* Each user's choice of where mail judged as junk goes (postern user junk
 * ADDRESS inbox|junk): into the Junk folder (the default), or into the
 * inbox, marked, for those whose mail program sorts for them. */
#ifndef POSTERN_STORE_JUNK_H
#define POSTERN_STORE_JUNK_H

#include <stdbool.h>
#include <stddef.h>

struct store;

/* STORE_OK, STORE_NOT_FOUND (no such user) or STORE_ERROR with err. */
int store_user_set_junk(struct store *st, const char *local, const char *domain, bool to_junk,
                        char *err, size_t errlen);
/* 1 when junk for user ("local@domain") goes to the Junk folder (also when
 * there is no such user: an alias's target, say), 0 for the inbox,
 * STORE_ERROR when the store failed. */
int store_user_junk_to_folder(struct store *st, const char *user);

#endif
