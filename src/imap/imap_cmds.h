/* The IMAP command handlers the table in imap_cmds.c runs, by family. Each
 * parses its arguments, checks them, and answers through the output helpers
 * (imap_session.h); none is called from anywhere but the table. Internal to
 * src/imap. */
#ifndef POSTERN_IMAP_CMDS_H
#define POSTERN_IMAP_CMDS_H

#include <stdbool.h>

struct imap_command;
struct imap_session;

/* LOGIN, AUTHENTICATE (imap_auth.c) */
void imap_cmd_login(struct imap_session *s, struct imap_command *cmd);
void imap_cmd_authenticate(struct imap_session *s, struct imap_command *cmd);

/* SELECT, EXAMINE, CLOSE, UNSELECT (imap_select.c) */
void imap_cmd_select(struct imap_session *s, struct imap_command *cmd, bool readonly);
void imap_cmd_close(struct imap_session *s, struct imap_command *cmd, bool expunge);

/* mailbox management (imap_mailbox.c) */
void imap_cmd_create(struct imap_session *s, struct imap_command *cmd);
void imap_cmd_delete(struct imap_session *s, struct imap_command *cmd);
void imap_cmd_rename(struct imap_session *s, struct imap_command *cmd);
void imap_cmd_subscribe(struct imap_session *s, struct imap_command *cmd, bool on);
void imap_cmd_status(struct imap_session *s, struct imap_command *cmd);

/* LIST, LSUB (imap_list.c) */
void imap_cmd_list(struct imap_session *s, struct imap_command *cmd, bool lsub);

/* message commands: imap_fetch.c, imap_search.c, imap_store.c, imap_copy.c,
 * imap_expunge.c, imap_append.c */
void imap_cmd_fetch(struct imap_session *s, struct imap_command *cmd);
void imap_cmd_search(struct imap_session *s, struct imap_command *cmd);
/* SORT (imap_sort.c), THREAD (imap_thread.c), RFC 5256 */
void imap_cmd_sort(struct imap_session *s, struct imap_command *cmd);
void imap_cmd_thread(struct imap_session *s, struct imap_command *cmd);
void imap_cmd_store(struct imap_session *s, struct imap_command *cmd);
void imap_cmd_copy(struct imap_session *s, struct imap_command *cmd, bool move);
void imap_cmd_expunge(struct imap_session *s, struct imap_command *cmd);
void imap_cmd_append(struct imap_session *s, struct imap_command *cmd);

/* QUOTA (imap_quota.c) */
void imap_cmd_getquotaroot(struct imap_session *s, struct imap_command *cmd);
void imap_cmd_getquota(struct imap_session *s, struct imap_command *cmd);
void imap_cmd_setquota(struct imap_session *s, struct imap_command *cmd);

/* RFC 4314 ACL commands (imap_acl.c): SETACL, DELETEACL, GETACL, LISTRIGHTS, MYRIGHTS */
void imap_cmd_setacl(struct imap_session *s, struct imap_command *cmd, bool delete);
void imap_cmd_getacl(struct imap_session *s, struct imap_command *cmd);
void imap_cmd_listrights(struct imap_session *s, struct imap_command *cmd);
void imap_cmd_myrights(struct imap_session *s, struct imap_command *cmd);


#endif
