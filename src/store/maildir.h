/* Maildir layout and names (https://cr.yp.to/proto/maildir.html, with
 * Dovecot's ",S=" and ",W=" size fields so IMAP never has to stat or scan). */
#ifndef POSTERN_MAILDIR_H
#define POSTERN_MAILDIR_H

#include <stddef.h>
#include <stdint.h>

/* <data_dir>/mail/<domain>/<local>/Maildir. Refuses names that could leave
 * the data directory ('/', leading '.', empty). 0 or -1. */
int maildir_path(const char *data_dir, const char *domain, const char *local,
                 char *out, size_t outlen);
/* Creates Maildir/{tmp,new,cur} (mode 0700) if missing. 0 or -1 with errno. */
int maildir_ensure(const char *maildir);
/* A unique file name: <sec>.M<usec>P<pid>Q<n>R<random>.<host>,S=<size>,W=<vsize> */
int maildir_unique_name(char *out, size_t outlen, const char *hostname,
                        uint64_t size, uint64_t vsize);
/* True when a local part or domain is safe as one path component. */
int maildir_name_safe(const char *name);

#endif
