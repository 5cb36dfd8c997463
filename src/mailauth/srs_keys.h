/* The SRS secrets: data_dir/srs.key, 32 random octets per key, the newest
 * first. The first key signs new addresses, every key in the file verifies,
 * so that a rotation does not break addresses already handed out. */
#ifndef POSTERN_SRS_KEYS_H
#define POSTERN_SRS_KEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "mailauth/srs.h"

#define SRS_KEY_FILE "srs.key"

/* Reads the keys into srs->keys and srs->nkeys. When the file does not
 * exist and create is true, makes it first (one key, mode 0600, written to a
 * temporary name and linked into place, so that a reader never sees half a
 * file and two makers agree on one key). A file that is not 1 to
 * SRS_KEYS_MAX whole keys is refused. 0 or -1 with err. */
int srs_keys_load(struct srs *srs, const char *data_dir, bool create, char *err, size_t errlen);

/* Puts a new key in front of the file's (made when missing) and keeps the
 * one that signed until now: addresses it signed keep verifying, older keys
 * are dropped. The file is replaced atomically. *nkeys gets the count now.
 * 0 or -1 with err. */
int srs_keys_rotate(const char *data_dir, size_t *nkeys, char *err, size_t errlen);

#endif
