/* What an import did: counters, the files it skipped and why, a progress
 * line while it runs (only on a terminal) and the summary at the end. */
#ifndef POSTERN_IMPORT_REPORT_H
#define POSTERN_IMPORT_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

enum import_skip {
	IMPORT_SKIP_SYMLINK,        /* a symbolic link: never followed */
	IMPORT_SKIP_NOT_FILE,       /* a device, FIFO, socket or directory */
	IMPORT_SKIP_EMPTY,
	IMPORT_SKIP_NOT_MESSAGE,    /* does not start like an RFC 5322 message */
	IMPORT_SKIP_TOO_LARGE,      /* beyond what IMAP can describe (2 GiB) */
	IMPORT_SKIP_UNREADABLE,     /* vanished or a read error */
	IMPORT_SKIP_BAD_FILE_NAME,  /* a name no Maildir has */
	IMPORT_SKIP_DUPLICATE,      /* the same message file twice (new/ and cur/) */
	IMPORT_SKIP_UIDLIST_LINE,   /* a dovecot-uidlist line that cannot be used */
	IMPORT_SKIP_KEYWORD,        /* a dovecot-keywords line or a keyword letter */
	IMPORT_SKIP_POP3_UIDL,      /* a P field RFC 1939 does not allow as a UIDL */
	IMPORT_SKIP_FOLDER,         /* a folder that cannot be imported */
	IMPORT_SKIP_SUBSCRIPTION,
	IMPORT_SKIP_COUNT
};

struct import_report {
	bool tty;                       /* draw the progress line */
	unsigned long users, folders, folders_failed;
	unsigned long long messages, bytes, already, over_limit;
	unsigned long long skipped[IMPORT_SKIP_COUNT];
	unsigned long notes;            /* skip lines printed so far */
	bool access_denied;             /* the run stopped: the source may not be read */
	/* the progress line */
	char where[300];                /* "alice@example.org INBOX" */
	unsigned long long done, total;
	uint64_t drawn_ms;
	bool line_shown;
};

/* tty: stdout is a terminal (the progress line is drawn there). */
void import_report_init(struct import_report *r, bool tty);
/* A skipped file or line: counted, and told on stderr (the first hundred). */
void import_report_skip(struct import_report *r, enum import_skip why, const char *path,
                        const char *detail);
/* Something every run must show (a folder not imported), on stderr. */
void import_report_error(struct import_report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* A line on stdout (the progress line cleared first). */
void import_report_say(struct import_report *r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* The folder now worked on and how many files it has. */
void import_report_folder(struct import_report *r, const char *user, const char *folder,
                          unsigned long long total);
/* Progress within the folder; redrawn at most ten times a second. */
void import_report_progress(struct import_report *r, unsigned long long done);
void import_report_summary(struct import_report *r, FILE *out);

#endif
