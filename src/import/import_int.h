/* Internals of one folder's import, shared by import_folder.c (listing,
 * copying, batches) and import_order.c (the order UIDs are given in). */
#ifndef POSTERN_IMPORT_INT_H
#define POSTERN_IMPORT_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/lines.h"
#include "import/dovecot_keywords.h"
#include "import/dovecot_uidlist.h"
#include "import/import.h"
#include "store/mbox_import.h"

struct scratch_map;

/* Results of the steps of a folder: go on, the folder failed (reported,
 * the run goes on), or stop the run (err says why). */
enum { JOB_OK = 0, JOB_FOLDER_FAILED = 1, JOB_FATAL = -1 };

/* One message copied into the mailbox's tmp/, waiting for its batch. */
struct staged {
	char tmp_name[64];
	char base[256];
	char keywords[MBOX_KEYWORDS_MAX + 1];
	char uidl[MBOX_POP3_UIDL_MAX + 1];
	uint32_t uid, flags;
	long long date;
	uint64_t size, octets;
};

struct folder_job {
	struct mbox_store *ms;
	const struct import_options *opt;
	struct import_report *r;
	const struct import_folder *f;
	char path[IMPORT_REL_MAX + 4200];   /* the source folder, for messages */
	int srcfd, curfd, newfd, tmpfd;     /* tmpfd: the mailbox's tmp/ */
	char tmpdir[4100];
	struct scratch_map *files;          /* base -> 'c' or 'n' + file name */
	struct dovecot_keywords kw;
	struct dovecot_uidlist_header hdr;
	struct lines uidlist;               /* after its header, when have_uidlist */
	int uidlist_fd;
	bool have_uidlist, is_inbox;
	struct mbox_import imp;
	bool begun;                         /* imp holds the mailbox: release it on failure */
	struct staged *batch;
	struct mbox_import_msg *msgs;
	size_t n;
	uint64_t batch_octets;
	uint32_t next_uid;                  /* the next UID given in file order */
	uint32_t final_uidnext;             /* the folder's UIDNEXT once done */
	unsigned long long handled;         /* files looked at, for the progress line */
	unsigned long counter;              /* tmp/ names */
	char *err;
	size_t errlen;
};

/* Copies the file stored (as the scratch map keeps it) into the batch
 * under uid, or the next UID in file order when uid is 0; sends the batch
 * when it is full, with position as the resume point (may be NULL). */
int job_take(struct folder_job *j, uint32_t uid, const char *stored, const char *saved_uidl,
             const char *position);
/* Sends what the batch holds. */
int job_flush(struct folder_job *j, const char *position);

/* import_order.c: the folder's messages in dovecot-uidlist order (then any
 * file the list does not name), or in file order for a plain Maildir. */
int import_in_uidlist_order(struct folder_job *j);
int import_in_file_order(struct folder_job *j);
/* UIDNEXT at the end of the folder. */
uint32_t import_final_uidnext(const struct folder_job *j);

#endif
