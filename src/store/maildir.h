/* Maildir layout and names (https://cr.yp.to/proto/maildir.html, with
 * Dovecot's ",S=" and ",W=" size fields so IMAP never has to stat or scan). */
#ifndef POSTERN_MAILDIR_H
#define POSTERN_MAILDIR_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* <data_dir>/mail/<domain>/<local>/Maildir. Refuses names that could leave
 * the data directory ('/', leading '.', empty). 0 or -1. */
int maildir_path(const char *data_dir, const char *domain, const char *local,
                 char *out, size_t outlen);
/* Creates Maildir/{tmp,new,cur} (mode 0700) if missing. 0 or -1 with errno. */
int maildir_ensure(const char *maildir);
/* A unique file name: <sec>.M<usec>P<pid>Q<n>R<random>.<host>,S=<size>,W=<vsize> */
int maildir_unique_name(char *out, size_t outlen, const char *hostname,
                        uint64_t size, uint64_t vsize);
/* The same for a message of another time (an import: the name starts with
 * its internal date, which a rebuilt index reads back). */
int maildir_unique_name_at(char *out, size_t outlen, long long sec, long usec,
                           const char *hostname, uint64_t size, uint64_t vsize);
/* Writes a small message (LF line ends) straight into <maildir>/new,
 * durably: tmp/, fdatasync, rename, fsync of new/ (a notice postern makes
 * itself, outside the committer's batches). 0, or -1 with errno. */
int maildir_deliver_text(const char *maildir, const char *hostname, const char *text, size_t len);
/* True when a local part or domain is safe as one path component. */
int maildir_name_safe(const char *name);

/* ---- exclusive locks on a Maildir ---- */

enum { MAILDIR_LOCK_BUSY = -2 };
/* Takes the lock called name ("pop3") on the Maildir without waiting: an
 * flock(2) on <maildir>/postern-<name>.lock. Held by the returned descriptor
 * until it is closed (maildir_unlock), by whatever thread, and by the kernel
 * no longer than the process: a crash or a killed server leaves no stale
 * lock. Two holders conflict whether they are threads of one process or two
 * processes, because each call opens the file anew. Returns the descriptor,
 * MAILDIR_LOCK_BUSY when another holder has it, or -1 with errno. */
int maildir_lock(const char *maildir, const char *name);
void maildir_unlock(int fd);

/* ---- tmp/ sweeping (maildir_sweep.c) ---- */

/* The Maildir convention: a file in tmp/ untouched for 36 hours was left by
 * a delivery that crashed, and may be removed. */
#define MAILDIR_TMP_MAX_AGE (36 * 60 * 60)
#define MAILDIR_SWEEP_INTERVAL (24 * 60 * 60)

/* Unlinks the regular files whose mtime is more than max_age seconds old
 * from tmp/ of every <data_dir>/mail/<domain>/<local>/Maildir and of each of
 * its Maildir++ folders (.Name). Follows no symbolic link below
 * <data_dir>/mail and touches nothing outside those tmp/ directories.
 * Returns the count removed (0 when there is no mail directory yet), or -1
 * with errno when <data_dir>/mail cannot be read. A file that cannot be
 * removed is logged (maildir.tmp_sweep_error) and skipped. */
long maildir_sweep_tmp(const char *data_dir, time_t max_age);

/* A thread that runs maildir_sweep_tmp() when started and then every
 * interval seconds, logging maildir.tmp_swept each time. */
struct maildir_sweeper;
struct maildir_sweeper *maildir_sweeper_new(const char *data_dir, time_t max_age,
                                            unsigned interval);
/* 0, or -1 with the reason in err. */
int maildir_sweeper_start(struct maildir_sweeper *sw, char *err, size_t errlen);
/* Wakes the thread (a sweep in progress stops between directories) and
 * joins it. Safe to call when not started. */
void maildir_sweeper_stop(struct maildir_sweeper *sw);
void maildir_sweeper_free(struct maildir_sweeper *sw);

#endif
