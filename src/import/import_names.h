/* Folder names of another server as postern names. Dovecot keeps names on
 * disk in IMAP's modified UTF-7 (RFC 3501 5.1.3), one directory level per
 * hierarchy level (".A.B" in Maildir++, "A/B" in the fs layout); postern
 * keeps UTF-8 with '/' between levels (mbox_name_valid). A level that is
 * not modified UTF-7 but valid UTF-8 (Dovecot's UTF-8 option, other
 * programs) is taken as it is. */
#ifndef POSTERN_IMPORT_NAMES_H
#define POSTERN_IMPORT_NAMES_H

#include <stddef.h>

/* disk: levels separated by sep. 0 with the postern name in out (INBOX as
 * "INBOX" whatever its case), or -1 with *why. */
int import_folder_name(const char *disk, char sep, char *out, size_t outlen, const char **why);

#endif
