/* The IMAP command table (each verb, the states it may run in, whether UID
 * may precede it), the dispatch by it, and the commands that need neither a
 * mailbox nor message data: CAPABILITY, NOOP, LOGOUT, STARTTLS, ID, ENABLE,
 * NAMESPACE, IDLE, COMPRESS. The others live by family (imap_cmds.h). */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "core/util.h"
#include "imap/imap_cmds.h"
#include "imap/imap_session.h"

static void cmd_capability(struct imap_session *s, struct imap_command *cmd)
{
	char caps[512];
	imap_capability_text(s, caps, sizeof(caps));
	imap_untagged(s, "CAPABILITY %s", caps);
	imap_tagged(s, cmd->tag, "OK", "CAPABILITY completed");
}

static void cmd_noop(struct imap_session *s, struct imap_command *cmd)
{
	if (s->state == IMAP_SELECTED)
		imap_view_update(s, true);
	imap_tagged(s, cmd->tag, "OK", "%s completed", cmd->name);
}

static void cmd_logout(struct imap_session *s, struct imap_command *cmd)
{
	imap_untagged(s, "BYE Logging out");
	imap_tagged(s, cmd->tag, "OK", "LOGOUT completed");
	s->io = IMAP_IO_CLOSING;
	s->state = IMAP_LOGOUT;
	net_session_close(&s->ns);
}

static void cmd_starttls(struct imap_session *s, struct imap_command *cmd)
{
	if (s->ns.tls) {
		imap_tagged(s, cmd->tag, "BAD", "TLS already active");
		return;
	}
	imap_tagged(s, cmd->tag, "OK", "Begin TLS negotiation now");
	imap_begin_starttls(s);
}

static void cmd_id(struct imap_session *s, struct imap_command *cmd)
{
	/* RFC 2971: we say who we are; the client's list is not kept */
	imap_untagged(s, "ID (\"name\" \"postern\" \"version\" \"%s\")", POSTERN_VERSION);
	imap_tagged(s, cmd->tag, "OK", "ID completed");
}

void imap_enable_condstore(struct imap_session *s)
{
	if (s->condstore)
		return;
	s->condstore = true;
	/* the modseq up to which the client has been told everything: a later
	 * CHANGEDSINCE from it misses nothing */
	if (s->state == IMAP_SELECTED)
		imap_untagged(s, "OK [HIGHESTMODSEQ %llu] Highest", (unsigned long long)s->view.modseq);
}

static void cmd_enable(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	const char *word;
	char enabled[128] = "";
	imap_command_args(cmd, &c);
	while (!imap_at_end(&c) && imap_next_atom(&c, &word)) {
		if (strcasecmp(word, "CONDSTORE") == 0 && !s->condstore) {
			s->condstore = true;
			strcat(enabled, " CONDSTORE");
		} else if (strcasecmp(word, "IMAP4rev2") == 0 && !s->rev2) {
			s->rev2 = true;
			strcat(enabled, " IMAP4rev2");
		} else if (strcasecmp(word, "QRESYNC") == 0 && !s->qresync) {
			/* RFC 7162 3.2.3: QRESYNC implies CONDSTORE */
			s->qresync = s->condstore = true;
			strcat(enabled, " QRESYNC");
		} else if (strcasecmp(word, "UTF8=ACCEPT") == 0 && !s->utf8) {
			s->utf8 = true;
			strcat(enabled, " UTF8=ACCEPT");
		}
	}
	imap_untagged(s, "ENABLED%s", enabled);
	imap_tagged(s, cmd->tag, "OK", "ENABLE completed");
}

static void cmd_namespace(struct imap_session *s, struct imap_command *cmd)
{
	/* RFC 2342: the user's own mailboxes, nobody else's own, and what others share */
	imap_untagged(s, "NAMESPACE ((\"\" \"/\")) NIL ((\"" IMAP_SHARED_ROOT "/\" \"/\"))");
	imap_tagged(s, cmd->tag, "OK", "NAMESPACE completed");
}

static void cmd_idle(struct imap_session *s, struct imap_command *cmd)
{
	(void)cmd;
	if (s->state == IMAP_SELECTED)
		imap_view_update(s, true);
	imap_begin_idle(s);
}

/* RFC 4978: COMPRESS DEFLATE. The OK leaves uncompressed; everything after
 * it, both ways, is raw deflate (the engine's, src/net/compress*.c). */
static void cmd_compress(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c;
	const char *mech;
	imap_command_args(cmd, &c);
	if (!s->ns.cfg->imap.compress) {
		imap_protocol_error(s, cmd->tag, "COMPRESS is not offered");
		return;
	}
	if (!imap_next_atom(&c, &mech) || !imap_at_end(&c) || strcasecmp(mech, "DEFLATE") != 0) {
		imap_protocol_error(s, cmd->tag, "Unknown compression mechanism");
		return;
	}
	if (net_session_compressing(&s->ns)) {
		imap_tagged(s, cmd->tag, "NO", "[COMPRESSIONACTIVE] DEFLATE active already");
		return;
	}
	/* what zlib takes counts against the session's memory limit */
	if (!net_session_compress_fits(&s->ns, s->ns.cfg->imap.session_memory)) {
		imap_tagged(s, cmd->tag, "NO", "[LIMIT] Not enough session memory for compression");
		return;
	}
	imap_tagged(s, cmd->tag, "OK", "DEFLATE active");
	if (net_session_compress(&s->ns, s->ns.cfg->imap.session_memory) < 0)
		imap_close_with(s, "Compression failed");
}

/* ---- the table --------------------------------------------------------------------------- */

enum { ST_NA = 1 << IMAP_NOT_AUTH, ST_AU = 1 << IMAP_AUTH, ST_SE = 1 << IMAP_SELECTED };

struct imap_cmd_def {
	const char *name;
	unsigned states;
	bool uid_ok;            /* may follow UID */
	int id;
};

enum {
	C_CAPABILITY, C_NOOP, C_LOGOUT, C_STARTTLS, C_LOGIN, C_AUTHENTICATE, C_ID, C_ENABLE,
	C_NAMESPACE, C_SELECT, C_EXAMINE, C_CREATE, C_DELETE, C_RENAME, C_SUBSCRIBE, C_UNSUBSCRIBE,
	C_LIST, C_LSUB, C_STATUS, C_APPEND, C_CHECK, C_CLOSE, C_UNSELECT, C_EXPUNGE, C_SEARCH,
	C_FETCH, C_STORE, C_COPY, C_MOVE, C_IDLE, C_GETQUOTAROOT, C_GETQUOTA, C_SETQUOTA,
	C_SORT, C_THREAD, C_SETACL, C_DELETEACL, C_GETACL, C_LISTRIGHTS, C_MYRIGHTS, C_COMPRESS,
};

static const struct imap_cmd_def commands[] = {
	{ "CAPABILITY", ST_NA | ST_AU | ST_SE, false, C_CAPABILITY },
	{ "NOOP", ST_NA | ST_AU | ST_SE, false, C_NOOP },
	{ "LOGOUT", ST_NA | ST_AU | ST_SE, false, C_LOGOUT },
	{ "STARTTLS", ST_NA, false, C_STARTTLS },
	{ "LOGIN", ST_NA, false, C_LOGIN },
	{ "AUTHENTICATE", ST_NA, false, C_AUTHENTICATE },
	{ "ID", ST_NA | ST_AU | ST_SE, false, C_ID },
	{ "ENABLE", ST_AU, false, C_ENABLE },
	{ "NAMESPACE", ST_AU | ST_SE, false, C_NAMESPACE },
	{ "SELECT", ST_AU | ST_SE, false, C_SELECT },
	{ "EXAMINE", ST_AU | ST_SE, false, C_EXAMINE },
	{ "CREATE", ST_AU | ST_SE, false, C_CREATE },
	{ "DELETE", ST_AU | ST_SE, false, C_DELETE },
	{ "RENAME", ST_AU | ST_SE, false, C_RENAME },
	{ "SUBSCRIBE", ST_AU | ST_SE, false, C_SUBSCRIBE },
	{ "UNSUBSCRIBE", ST_AU | ST_SE, false, C_UNSUBSCRIBE },
	{ "LIST", ST_AU | ST_SE, false, C_LIST },
	{ "LSUB", ST_AU | ST_SE, false, C_LSUB },
	{ "STATUS", ST_AU | ST_SE, false, C_STATUS },
	{ "APPEND", ST_AU | ST_SE, false, C_APPEND },
	{ "CHECK", ST_SE, false, C_CHECK },
	{ "CLOSE", ST_SE, false, C_CLOSE },
	{ "UNSELECT", ST_SE, false, C_UNSELECT },
	{ "EXPUNGE", ST_SE, true, C_EXPUNGE },
	{ "SEARCH", ST_SE, true, C_SEARCH },
	{ "SORT", ST_SE, true, C_SORT },
	{ "THREAD", ST_SE, true, C_THREAD },
	{ "FETCH", ST_SE, true, C_FETCH },
	{ "STORE", ST_SE, true, C_STORE },
	{ "COPY", ST_SE, true, C_COPY },
	{ "MOVE", ST_SE, true, C_MOVE },
	{ "IDLE", ST_AU | ST_SE, false, C_IDLE },
	{ "GETQUOTAROOT", ST_AU | ST_SE, false, C_GETQUOTAROOT },
	{ "GETQUOTA", ST_AU | ST_SE, false, C_GETQUOTA },
	{ "SETQUOTA", ST_AU | ST_SE, false, C_SETQUOTA },
	{ "SETACL", ST_AU | ST_SE, false, C_SETACL },
	{ "DELETEACL", ST_AU | ST_SE, false, C_DELETEACL },
	{ "GETACL", ST_AU | ST_SE, false, C_GETACL },
	{ "LISTRIGHTS", ST_AU | ST_SE, false, C_LISTRIGHTS },
	{ "MYRIGHTS", ST_AU | ST_SE, false, C_MYRIGHTS },
	{ "COMPRESS", ST_AU | ST_SE, false, C_COMPRESS },
};

static void run(struct imap_session *s, struct imap_command *cmd, int id)
{
	switch (id) {
	case C_CAPABILITY: cmd_capability(s, cmd); break;
	case C_NOOP: cmd_noop(s, cmd); break;
	case C_CHECK: cmd_noop(s, cmd); break;
	case C_LOGOUT: cmd_logout(s, cmd); break;
	case C_STARTTLS: cmd_starttls(s, cmd); break;
	case C_LOGIN: imap_cmd_login(s, cmd); break;
	case C_AUTHENTICATE: imap_cmd_authenticate(s, cmd); break;
	case C_ID: cmd_id(s, cmd); break;
	case C_ENABLE: cmd_enable(s, cmd); break;
	case C_NAMESPACE: cmd_namespace(s, cmd); break;
	case C_SELECT: imap_cmd_select(s, cmd, false); break;
	case C_EXAMINE: imap_cmd_select(s, cmd, true); break;
	case C_CREATE: imap_cmd_create(s, cmd); break;
	case C_DELETE: imap_cmd_delete(s, cmd); break;
	case C_RENAME: imap_cmd_rename(s, cmd); break;
	case C_SUBSCRIBE: imap_cmd_subscribe(s, cmd, true); break;
	case C_UNSUBSCRIBE: imap_cmd_subscribe(s, cmd, false); break;
	case C_LIST: imap_cmd_list(s, cmd, false); break;
	case C_LSUB: imap_cmd_list(s, cmd, true); break;
	case C_STATUS: imap_cmd_status(s, cmd); break;
	case C_APPEND: imap_cmd_append(s, cmd); break;
	case C_CLOSE: imap_cmd_close(s, cmd, true); break;
	case C_UNSELECT: imap_cmd_close(s, cmd, false); break;
	case C_EXPUNGE: imap_cmd_expunge(s, cmd); break;
	case C_SEARCH: imap_cmd_search(s, cmd); break;
	case C_SORT: imap_cmd_sort(s, cmd); break;
	case C_THREAD: imap_cmd_thread(s, cmd); break;
	case C_FETCH: imap_cmd_fetch(s, cmd); break;
	case C_STORE: imap_cmd_store(s, cmd); break;
	case C_COPY: imap_cmd_copy(s, cmd, false); break;
	case C_MOVE: imap_cmd_copy(s, cmd, true); break;
	case C_IDLE: cmd_idle(s, cmd); break;
	case C_GETQUOTAROOT: imap_cmd_getquotaroot(s, cmd); break;
	case C_GETQUOTA: imap_cmd_getquota(s, cmd); break;
	case C_SETQUOTA: imap_cmd_setquota(s, cmd); break;
	case C_SETACL: imap_cmd_setacl(s, cmd, false); break;
	case C_DELETEACL: imap_cmd_setacl(s, cmd, true); break;
	case C_GETACL: imap_cmd_getacl(s, cmd); break;
	case C_LISTRIGHTS: imap_cmd_listrights(s, cmd); break;
	case C_MYRIGHTS: imap_cmd_myrights(s, cmd); break;
	case C_COMPRESS: cmd_compress(s, cmd); break;
	}
}

void imap_dispatch(struct imap_session *s, struct imap_command *cmd)
{
	for (size_t i = 0; i < ARRAY_LEN(commands); i++) {
		const struct imap_cmd_def *d = &commands[i];
		if (strcmp(d->name, cmd->name) != 0)
			continue;
		if (cmd->uid && !d->uid_ok)
			break;
		if (!(d->states & (1u << s->state))) {
			imap_tagged(s, cmd->tag, "BAD", "%s not allowed %s", cmd->name,
			            s->state == IMAP_NOT_AUTH ? "before login" :
			            s->state == IMAP_AUTH ? "without a selected mailbox" : "now");
			return;
		}
		run(s, cmd, d->id);
		return;
	}
	char text[IMAP_TAG_MAX + 64];
	/* counted like a syntax error: a client probing verbs is not a mail client */
	snprintf(text, sizeof(text), "Unknown command %s%.*s", cmd->uid ? "UID " : "", 40, cmd->name);
	imap_protocol_error(s, cmd->tag, text);
}
