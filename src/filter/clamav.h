/* ClamAV: a message scanned by clamd (Debian's clamav-daemon) over its
 * INSTREAM command, on a UNIX or TCP socket, on the caller's event loop.
 * The message is read from where it is stored in chunks, as the socket
 * takes them, so a scan holds at most CLAMAV_OUT_MAX octets whatever the
 * message size.
 *
 *     cv = clamav_new(base, &cfg->clamav);            a worker's (settings copied)
 *     scan = clamav_scan_start(cv, &src, done, arg);  at the end of DATA
 *     done(arg, &result)                              once, always from the loop; the
 *                                                     scan is already freed then
 *     clamav_scan_cancel(scan);                       instead, before done: nothing is
 *                                                     called
 *     clamav_free(cv);                                once its scans ended
 *
 * The verdict: clean → accept; a signature found → 554 5.7.0 "Virus found:
 * NAME" (the name made safe for a reply and a log); larger than
 * clamav.max_size → accept unscanned; clamd unreachable, silent past
 * clamav.timeout, or answering an error or nonsense → clamav.on_error:
 * accept (logged) or 451 4.7.1. ClamAV adds no header field. */
#ifndef POSTERN_CLAMAV_H
#define POSTERN_CLAMAV_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "core/config.h"

struct event_base;
struct msgbuf;

/* One INSTREAM chunk; the output queued for clamd stays under CLAMAV_OUT_MAX. */
#define CLAMAV_CHUNK (64 * 1024)
#define CLAMAV_OUT_MAX (4 * CLAMAV_CHUNK)
/* clamd's replies are one short line ("stream: NAME FOUND"); more than this
 * without its end is an error. */
#define CLAMAV_REPLY_MAX 1024
/* A signature name as it goes into a reply or a log, at most */
#define CLAMAV_NAME_MAX 100

/* Where the octets to scan come from: read_at as msgbuf_read_at (the count,
 * 0 at the end, -1 on error). */
typedef ssize_t clamav_read_fn(const void *arg, uint64_t offset, void *buf, size_t len);
struct clamav_source {
	clamav_read_fn *read_at;
	const void *arg;
	uint64_t size;                  /* octets sent: exactly this many */
};
/* A spooled message (its appending over); mb outlives the scan. */
struct clamav_source clamav_source_msgbuf(const struct msgbuf *mb);

enum clamav_status {
	CLAMAV_CLEAN = 0,
	CLAMAV_VIRUS,
	CLAMAV_NOT_SCANNED,             /* larger than clamav.max_size */
	CLAMAV_FAILED,                  /* clamd unreachable, silent, or in error */
};

enum clamav_action {
	CLAMAV_ACCEPT = 0,
	CLAMAV_DEFER,                   /* 451 4.7.1 (on_error = "tempfail") */
	CLAMAV_REJECT,                  /* 554 5.7.0 */
};

struct clamav_result {
	enum clamav_status status;
	enum clamav_action action;
	int code;                       /* 554 or 451; 0 when accepted */
	const char *enh;                /* "5.7.0" or "4.7.1"; NULL when accepted */
	char text[160];                 /* the reply's text; "" when accepted */
	char virus[CLAMAV_NAME_MAX + 1];        /* CLAMAV_VIRUS: the signature's name */
	/* one line for the log: what happened and what it did, e.g.
	 * "virus Win.Test.EICAR_HDB-1 found: rejected",
	 * "clamd 127.0.0.1:3310 failed (connect: Connection refused): accepted (on_error)" */
	char log[512];
};

typedef void clamav_done_fn(void *arg, const struct clamav_result *r);

struct clamav;
struct clamav_scan;

/* The settings are copied; base outlives cv. */
struct clamav *clamav_new(struct event_base *base, const struct config_clamav *settings);
void clamav_free(struct clamav *cv);
/* Starts scanning src (which outlives the scan); never calls done before
 * it returns. */
struct clamav_scan *clamav_scan_start(struct clamav *cv, const struct clamav_source *src,
                                      clamav_done_fn *done, void *arg);
void clamav_scan_cancel(struct clamav_scan *scan);

/* PING → PONG (config check --connect): done gets CLAMAV_CLEAN when clamd
 * answered PONG, else CLAMAV_FAILED with the reason in log. */
struct clamav_scan *clamav_ping_start(struct clamav *cv, clamav_done_fn *done, void *arg);

/* ---- clamd's replies (clamav_reply.c) ---- */

enum clamav_reply_kind {
	CLAMAV_REPLY_OK = 0,            /* "stream: OK" */
	CLAMAV_REPLY_FOUND,             /* "stream: NAME FOUND" */
	CLAMAV_REPLY_ERROR,             /* "... ERROR", the size limit among them */
	CLAMAV_REPLY_PONG,              /* "PONG" */
	CLAMAV_REPLY_BAD,               /* anything else */
};

/* Parses one reply without its terminator (len octets, any bytes). For
 * FOUND, name gets the signature's name, for ERROR clamd's message, each
 * made safe (see clamav_sanitize); else "". namelen > 0. */
enum clamav_reply_kind clamav_parse_reply(const char *line, size_t len, char *name,
                                          size_t namelen);
/* Copies at most CLAMAV_NAME_MAX octets of src into out (outlen > 0), each
 * octet that is not a letter, digit, space or one of . _ - : / + @ ( ) [ ] ! '
 * turned into '?': safe in an SMTP reply, a log line and JSON. */
void clamav_sanitize(const char *src, size_t len, char *out, size_t outlen);
/* The end of the first reply in buf: the offset of its terminator (NUL or
 * LF), or -1 when there is none yet. */
ssize_t clamav_reply_end(const char *buf, size_t len);

#endif
