/* STATUS items (RFC 9051 6.3.11): parsed once, written for STATUS and for
 * LIST-STATUS (RFC 5819). Internal to src/imap. */
#ifndef POSTERN_IMAP_STATUS_H
#define POSTERN_IMAP_STATUS_H

#include <stdbool.h>
#include <stddef.h>

struct imap_cursor;
struct imap_session;

/* The items asked for, in request order. */
struct imap_status_req {
	int items[16];
	size_t n;
};

/* "(MESSAGES UIDNEXT ...)" already opened as a list; false on an unknown item. */
bool imap_status_parse_items(struct imap_cursor *items, struct imap_status_req *req);
/* HIGHESTMODSEQ is among them: a CONDSTORE-enabling STATUS (RFC 7162 3.1). */
bool imap_status_wants_modseq(const struct imap_status_req *req);
/* "* STATUS name (...)" for a mailbox, synced first; MBOX_OK or the failure. */
int imap_status_write(struct imap_session *s, const char *name, const struct imap_status_req *req);

#endif
