/* Structured logging: one JSON object per line (STYLE.md "Logging is structured").
 *
 * Thread-safe: each line is formatted in a local buffer and written with one
 * write(2) to a file opened O_APPEND. Never log a password, token or message body. */
#ifndef POSTERN_LOG_H
#define POSTERN_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <sys/types.h>
#include <stddef.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* Opens `path` for appending (NULL or "" or "-" = stderr). Returns 0 or -1 with errno. */
int log_open(const char *path, enum log_level level);
/* Re-opens the same file (after logrotate moved it); used on SIGHUP. */
int log_reopen(void);
/* Hands the open log and audit files to the service user, so that it can
 * reopen them after giving up root. 0, or -1 with errno. */
int log_chown(uid_t uid, gid_t gid);
void log_close(void);
int log_level_parse(const char *name, enum log_level *out);
bool log_enabled(enum log_level level);

/* log_event(LOG_INFO, "smtp.connect", "s", "ip", ip, "i", "port", port, NULL)
 * Fields come as (type, key, value) triples ended by NULL. Types:
 *   "s" const char *      (NULL is written as null)
 *   "i" long long
 *   "b" int (bool)
 *   "j" const char *      raw JSON text, inserted verbatim (caller guarantees validity) */
void log_event(enum log_level level, const char *event, ...);
void log_eventv(enum log_level level, const char *event, va_list ap);

/* The audit log: security events (auth failures, blocks, admin actions) go
 * to the main log and, when configured, also to this file. */
int log_open_audit(const char *path);
/* Like log_event, and a copy to the audit log. */
void log_security(enum log_level level, const char *event, ...);


/* Appends s as a JSON string literal (with quotes) to buf, bounded by cap.
 * Returns the new length; stops cleanly (closing the quote) when full. */
size_t json_quote(char *buf, size_t len, size_t cap, const char *s);

#endif
