/* An ordered map of text keys to text values that lives in a temporary
 * file, not in memory: for work over a directory of any size with bounded
 * memory (an import lists a Maildir of 200,000 files, then looks names up
 * and walks them in order). The file is gone when the map is freed. One
 * map per thread. */
#ifndef POSTERN_STORE_SCRATCH_H
#define POSTERN_STORE_SCRATCH_H

#include <stddef.h>

struct scratch_map;

/* The map in a new file at path (removed by scratch_map_free), or with
 * path NULL in SQLite's temporary directory ($SQLITE_TMPDIR, $TMPDIR,
 * /var/tmp ...). NULL with err when the file cannot be made. */
struct scratch_map *scratch_map_new(const char *path, char *err, size_t errlen);
void scratch_map_free(struct scratch_map *m);

/* Many changes between begin and commit go to the file together. */
int scratch_map_begin(struct scratch_map *m);
int scratch_map_commit(struct scratch_map *m);

/* 0; 1 when the key is there already (its value is kept); -1 on error. */
int scratch_map_put(struct scratch_map *m, const char *key, const char *value);
/* 0 with the value copied (truncated to vlen), 1 when absent, -1 on error. */
int scratch_map_get(struct scratch_map *m, const char *key, char *value, size_t vlen);
/* 0 (also when absent) or -1. */
int scratch_map_del(struct scratch_map *m, const char *key);
/* How many keys, or -1. */
long long scratch_map_count(struct scratch_map *m);

typedef void (*scratch_map_cb)(void *arg, const char *key, const char *value);
/* Up to max entries with keys after `after` ("" from the start), in byte
 * order of the keys; returns how many, or -1. The map must not change
 * inside cb. */
int scratch_map_next(struct scratch_map *m, const char *after, int max, scratch_map_cb cb,
                     void *arg);

#endif
