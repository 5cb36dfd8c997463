/* Master users' credentials (auth/master.h): a name and an Argon2id hash,
 * never a password. Names are stored lower-case; lookups ignore case. */
#ifndef POSTERN_STORE_MASTER_H
#define POSTERN_STORE_MASTER_H

#include <stddef.h>

#include "store/store.h"

/* STORE_OK, STORE_EXISTS or STORE_ERROR (err filled). */
int store_master_add(struct store *st, const char *name, const char *hash, char *err,
                     size_t errlen);
/* STORE_OK, STORE_NOT_FOUND or STORE_ERROR. */
int store_master_del(struct store *st, const char *name, char *err, size_t errlen);
/* Copies the master's hash into out: STORE_OK, STORE_NOT_FOUND or STORE_ERROR. */
int store_master_hash(struct store *st, const char *name, char *out, size_t outlen);
/* cols: name, created (unix time); ordered by name. */
int store_master_list(struct store *st, store_row_cb cb, void *arg, char *err, size_t errlen);

#endif
