/* FETCH: renders the requested items message by message, pausing while the
 * client reads so a large FETCH never piles up in memory (RFC 9051 6.4.5). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#include "core/config.h"
#include "core/log.h"
#include "core/util.h"
#include "imap/imap_fetch_parse.h"
#include "imap/imap_targets.h"
#include "imap/imap_cmds.h"
#include "imap/imap_session.h"
#include "store/acl_rights.h"
#include "imap/imap_render.h"
#include "mail/crlf.h"
#include "mail/decode.h"
#include "mail/mime.h"

/* Output queued for the client above which the FETCH waits for it. */
#define FETCH_HIGHWATER (256 * 1024)

struct imap_fetch_job {
	struct imap_fetch f;
	struct imap_targets t;
	size_t next;
	bool uid;
	bool need_body;         /* some item needs the message text */
	bool need_structure;    /* ENVELOPE / BODY / BODYSTRUCTURE */
	bool missing;           /* a message's file was gone: expunged meanwhile */
	char tag[IMAP_TAG_MAX + 1];
};

/* What a message's response is made of besides its index row, read before
 * any of it is written: a message whose file another session expunged
 * meanwhile gets no response at all, never one with NIL in place of an
 * ENVELOPE (RFC 9051 7.5.2: ENVELOPE is always a list). */
struct parts {
	char *env, *bs, *body;
};

static void fetch_job_free(struct imap_session *s);
static void fetch_continue(struct imap_session *s);
static const struct imap_cmd_hooks fetch_hooks = { .resume = fetch_continue, .cancel = fetch_job_free };

static void fetch_job_free(struct imap_session *s)
{
	imap_cmd_finished(s, &fetch_hooks);
	if (s->fetch == NULL)
		return;
	imap_fetch_free(&s->fetch->f);
	imap_targets_free(&s->fetch->t);
	free(s->fetch);
	s->fetch = NULL;
}

static void internaldate_text(long long t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, len, "\"%d-%b-%Y %H:%M:%S +0000\"", &tm);
}

/* The message text, parsed, for the items that need it (one message at a time). */
struct loaded {
	char *buf;
	size_t len;
	struct mime_part *root;
};

static bool load(struct imap_session *s, const struct mbox_msg *m, struct loaded *l)
{
	if (l->buf != NULL)
		return true;
	struct mbox_msg located = *m;
	if (mbox_locate(s->view.ref.ms, &s->view.mb, &located) < 0)
		return false;
	l->buf = imap_read_message(located.path, s->ns.cfg->imap.session_memory, &l->len);
	if (l->buf == NULL)
		return false;
	l->root = mime_parse(l->buf, l->len);
	return l->root != NULL;
}

static void unload(struct loaded *l)
{
	if (l->root)
		mime_free(l->root);
	free(l->buf);
	memset(l, 0, sizeof(*l));
}

/* ENVELOPE, BODYSTRUCTURE and BODY come from the index cache, or are made
 * from the message once and cached. */
static bool structure(struct imap_session *s, const struct mbox_msg *m, struct loaded *l,
                      char **env, char **bs, char **body)
{
	if (mbox_cache_get(s->view.ref.ms, &s->view.mb, m->uid, env, bs, body) == MBOX_OK && **env != '\0')
		return true;
	free(*env);
	free(*bs);
	free(*body);
	*env = *bs = *body = NULL;
	if (!load(s, m, l))
		return false;
	struct buf e, b, nb;
	buf_init(&e);
	buf_init(&b);
	buf_init(&nb);
	imap_write_envelope(l->root, &e);
	imap_write_bodystructure(l->root, true, &b);
	imap_write_bodystructure(l->root, false, &nb);
	*env = e.data;
	*bs = b.data;
	*body = nb.data;
	mbox_cache_set(s->view.ref.ms, &s->view.mb, m->uid, *env, *bs, *body);
	return true;
}

/* Writes the item's partial range of data as a literal: a literal8 ~{n}
 * when binary and the octets sent hold a NUL (RFC 3516 4.3, RFC 9051 4.3). */
static void write_literal(struct imap_session *s, const char *data, size_t len,
                          const struct imap_fetch_item *it, bool binary)
{
	uint64_t start = 0, count = len;
	if (it->partial) {
		start = it->partial_start < len ? it->partial_start : len;
		count = len - start < it->partial_count ? len - start : it->partial_count;
	}
	bool has_nul = binary && memchr(data + start, '\0', (size_t)count) != NULL;
	imap_write_literal(s, data + start, (size_t)count, has_nul);
}

/* conv = data in CRLF form (every LF not after a CR made CRLF). */
static void to_crlf(struct buf *conv, const char *data, size_t len)
{
	struct mail_crlf cr;
	size_t consumed = 0;
	mail_crlf_init(&cr);
	buf_reset(conv);
	buf_reserve(conv, len * 2 + 1);   /* every LF may become CRLF */
	conv->len = mail_crlf_convert(&cr, data, len, &consumed, conv->data, conv->cap - 1);
	conv->data[conv->len] = '\0';
}

static void write_crlf_slice(struct imap_session *s, const char *data, size_t len,
                             const struct imap_fetch_item *it, struct buf *conv)
{
	/* convert to the CRLF form first: partial offsets count in it */
	to_crlf(conv, data, len);
	write_literal(s, conv->data, conv->len, it, false);
}

/* The part numbers of the item's section, "1.2" ("" for none). Returns the length. */
static size_t section_parts_spec(const struct imap_fetch_item *it, char *spec, size_t size)
{
	size_t n = 0;
	spec[0] = '\0';
	for (size_t i = 0; i < it->section.nparts && n < size; i++)
		n += (size_t)snprintf(spec + n, size - n, "%s%u", i ? "." : "", it->section.part[i]);
	return n < size ? n : size - 1;
}

static void write_section(struct imap_session *s, const struct imap_fetch_item *it,
                          struct loaded *l, struct buf *conv)
{
	char spec[512];
	size_t n = section_parts_spec(it, spec, sizeof(spec));
	static const char *const text[] = { "", "HEADER", "HEADER.FIELDS", "HEADER.FIELDS.NOT",
	                                    "TEXT", "MIME" };
	enum imap_section_text what = it->section.text;
	/* RFC 3501 6.4.5: RFC822.HEADER is BODY.PEEK[HEADER], RFC822.TEXT is BODY[TEXT] */
	if (it->att == IMAP_FA_RFC822_HEADER)
		what = IMAP_SECTION_HEADER;
	else if (it->att == IMAP_FA_RFC822_TEXT)
		what = IMAP_SECTION_TEXT;
	if (what != IMAP_SECTION_NONE)
		snprintf(spec + n, sizeof(spec) - n, "%s%s", n ? "." : "", text[what]);
	struct imap_span span;
	int rc = imap_section_span(l->root, spec, &span);
	if (rc != IMAP_SPAN_OK) {
		imap_write(s, "\"\"", 2);   /* no such part: the empty string */
		return;
	}
	if (it->section.text == IMAP_SECTION_HEADER_FIELDS ||
	    it->section.text == IMAP_SECTION_HEADER_FIELDS_NOT) {
		struct buf filtered;
		buf_init(&filtered);
		imap_filter_headers(l->buf + span.offset, (size_t)span.size,
		                    (const char *const *)it->section.fields, it->section.nfields,
		                    it->section.text == IMAP_SECTION_HEADER_FIELDS_NOT, &filtered);
		write_crlf_slice(s, filtered.data ? filtered.data : "", filtered.len, it, conv);
		buf_free(&filtered);
		return;
	}
	write_crlf_slice(s, l->buf + span.offset, (size_t)span.size, it, conv);
}

/* ---- BINARY (RFC 3516) ---- */

/* The octets BINARY[section] covers and how they are encoded: BINARY[],
 * the whole message, is passed on as it is. false when there is no such part. */
static bool binary_source(const struct imap_fetch_item *it, const struct loaded *l,
                          struct imap_span *span, enum mime_cte *cte)
{
	char spec[512];
	section_parts_spec(it, spec, sizeof(spec));
	if (imap_section_span(l->root, spec, span) != IMAP_SPAN_OK)
		return false;
	*cte = it->section.nparts > 0 ? mime_part_cte(span->part) : MIME_CTE_IDENTITY;
	return true;
}

/* RFC 3516 4.2: BINARY of a part in an unknown encoding fails the whole
 * FETCH. Checked before the message's "* n FETCH (" is begun, so no
 * response is left half written. */
static bool binary_decodable(struct imap_session *s, const struct imap_fetch *f,
                             const struct mbox_msg *m, struct loaded *l)
{
	for (size_t i = 0; i < f->nitems; i++) {
		const struct imap_fetch_item *it = &f->items[i];
		struct imap_span span;
		enum mime_cte cte;
		if (it->att != IMAP_FA_BINARY && it->att != IMAP_FA_BINARY_SIZE)
			continue;
		if (!load(s, m, l))
			return true;    /* unreadable: write_message says NIL */
		if (binary_source(it, l, &span, &cte) && cte == MIME_CTE_UNKNOWN)
			return false;
	}
	return true;
}

/* out = the content of BINARY[section]: decoded, or for the identity
 * encodings in CRLF form as BODY[section] gives it (the decoders write
 * CRLF line ends themselves where the encoding has line ends). Bounded by
 * twice the part's size. false when there is no such part. */
static bool binary_content(const struct imap_fetch_item *it, const struct loaded *l,
                           struct buf *out)
{
	struct imap_span span;
	enum mime_cte cte;
	if (!binary_source(it, l, &span, &cte))
		return false;
	const char *data = l->buf + span.offset;
	buf_reset(out);
	/* an unknown encoding ended the FETCH before (binary_decodable) */
	if (cte == MIME_CTE_IDENTITY || !mime_decode(cte, data, (size_t)span.size, out))
		to_crlf(out, data, (size_t)span.size);
	return true;
}

static void write_binary(struct imap_session *s, const struct imap_fetch_item *it,
                         struct loaded *l, struct buf *conv)
{
	if (!binary_content(it, l, conv)) {
		imap_write(s, "\"\"", 2);   /* no such part, as for BODY[section] */
		return;
	}
	write_literal(s, conv->data, conv->len, it, true);
}

/* BINARY.SIZE[section]: octets of what BINARY[section] would send. */
static void write_binary_size(struct imap_session *s, const struct imap_fetch_item *it,
                              struct loaded *l, struct buf *conv)
{
	struct imap_span span;
	enum mime_cte cte;
	uint64_t size = 0;      /* no such part: nothing to send */
	if (binary_source(it, l, &span, &cte)) {
		if (cte == MIME_CTE_IDENTITY)   /* no copy needed to count it */
			size = mail_crlf_size(l->buf + span.offset, (size_t)span.size);
		else if (binary_content(it, l, conv))
			size = conv->len;
	}
	imap_printf(s, "%llu", (unsigned long long)size);
}

/* The response name of a section item: BODY[...] without .PEEK, <start> for
 * partials. imap_fetch_parse() refused names that do not fit. */
static void write_item_name(struct imap_session *s, const struct imap_fetch_item *it)
{
	char name[IMAP_FETCH_NAME_MAX];
	int n = imap_fetch_item_name(it, name, sizeof(name));
	if (n < 0)   /* cannot happen: the parser measured it the same way */
		log_event(LOG_ERROR, "imap.fetch_name_too_long", "s", "session", s->ns.id, NULL);
	imap_write(s, name, strlen(name));
}

/* l: the message text when an item needs it, p: the structures when an
 * item needs them (both read by read_parts); the caller frees them. */
static void write_message(struct imap_session *s, uint32_t seq, const struct mbox_msg *m,
                          bool seen_set, struct loaded *l, const struct parts *p)
{
	struct imap_fetch_job *j = s->fetch;
	struct buf conv;
	bool uid_done = false, flags_done = false, modseq_done = false, sep = false;
	buf_init(&conv);
	imap_printf(s, "* %u FETCH (", seq);
	for (size_t i = 0; i < j->f.nitems; i++) {
		const struct imap_fetch_item *it = &j->f.items[i];
		char tmp[MBOX_KEYWORDS_MAX + 64];
		if (sep)
			imap_write(s, " ", 1);
		sep = true;
		switch (it->att) {
		case IMAP_FA_FLAGS:
			flags_done = true;
			imap_format_flags(m->flags | imap_view_recent(&s->view, seq), m->keywords, tmp,
			                  sizeof(tmp));
			imap_printf(s, "FLAGS (%s)", tmp);
			break;
		case IMAP_FA_INTERNALDATE:
			internaldate_text(m->internaldate, tmp, sizeof(tmp));
			imap_printf(s, "INTERNALDATE %s", tmp);
			break;
		case IMAP_FA_RFC822_SIZE:
			imap_printf(s, "RFC822.SIZE %llu", (unsigned long long)m->size);
			break;
		case IMAP_FA_UID:
			imap_printf(s, "UID %u", m->uid);
			uid_done = true;
			break;
		case IMAP_FA_MODSEQ:
			modseq_done = true;
			imap_printf(s, "MODSEQ (%llu)", (unsigned long long)m->modseq);
			break;
		case IMAP_FA_ENVELOPE:
			imap_printf(s, "ENVELOPE %s", p->env);
			break;
		case IMAP_FA_BODY:
			imap_printf(s, "BODY %s", p->body);
			break;
		case IMAP_FA_BODYSTRUCTURE:
			imap_printf(s, "BODYSTRUCTURE %s", p->bs);
			break;
		case IMAP_FA_BINARY_SIZE:
		case IMAP_FA_BINARY:
		case IMAP_FA_RFC822:
		case IMAP_FA_RFC822_HEADER:
		case IMAP_FA_RFC822_TEXT:
		case IMAP_FA_BODY_SECTION:
			write_item_name(s, it);
			imap_write(s, " ", 1);
			if (it->att == IMAP_FA_BINARY_SIZE)
				write_binary_size(s, it, l, &conv);
			else if (it->att == IMAP_FA_BINARY)
				write_binary(s, it, l, &conv);
			else
				write_section(s, it, l, &conv);
			break;
		}
	}
	/* RFC 7162 3.1: with CONDSTORE on, a flag change (\Seen set here) is
	 * reported with the UID and MODSEQ */
	bool change_with_modseq = seen_set && s->condstore;
	if ((j->uid || change_with_modseq) && !uid_done)   /* UID FETCH always reports the UID */
		imap_printf(s, "%sUID %u", sep ? " " : "", m->uid);
	/* RFC 7162 3.1.4.1: CHANGEDSINCE implies MODSEQ */
	if ((j->f.wants_modseq || change_with_modseq) && !modseq_done)
		imap_printf(s, " MODSEQ (%llu)", (unsigned long long)m->modseq);
	if (seen_set && !flags_done) {
		/* RFC 3501 6.4.5: \Seen set by this FETCH is reported with it */
		char tmp[MBOX_KEYWORDS_MAX + 64];
		imap_format_flags(m->flags | imap_view_recent(&s->view, seq), m->keywords, tmp, sizeof(tmp));
		imap_printf(s, " FLAGS (%s)", tmp);
	}
	imap_write(s, ")\r\n", 3);
	buf_free(&conv);
}

/* Reads the message text and the structures the items need; false when the
 * file is gone. */
static bool read_parts(struct imap_session *s, const struct mbox_msg *m, struct loaded *l,
                       struct parts *p)
{
	struct imap_fetch_job *j = s->fetch;
	if (j->need_body && !load(s, m, l))
		return false;
	return !j->need_structure || structure(s, m, l, &p->env, &p->bs, &p->body);
}

static void free_parts(struct parts *p)
{
	free(p->env);
	free(p->bs);
	free(p->body);
}

static int add_seen(void *arg, const struct mbox_msg *now, uint32_t *flags, char *keywords)
{
	(void)arg;
	(void)now;
	(void)keywords;
	*flags |= MBOX_F_SEEN;
	return 0;
}

static bool mark_seen(struct imap_session *s, struct mbox_msg *m)
{
	if (!s->fetch->f.sets_seen || s->view.readonly || !(s->view.ref.rights & ACL_SEEN) ||
	    (m->flags & MBOX_F_SEEN))
		return false;
	/* \Seen added to the flags as they are under the lock, not as read before */
	struct mbox_msg now;
	if (mbox_update_flags(s->view.ref.ms, &s->view.mb, m->uid, add_seen, NULL, &now) != MBOX_OK)
		return false;
	m->flags = now.flags;
	str_copy(m->keywords, sizeof(m->keywords), now.keywords);
	m->modseq = now.modseq;
	/* the FETCH response reports it; the view's modseq stays: other
	 * sessions' changes must still be reported */
	imap_view_note_own(s, m->uid, m->flags, now.modseq);
	return true;
}

/* Writes messages until the output is full; true once the FETCH is complete. */
/* At most how many octets of literals one message's response holds: the
 * items are written whole, so their sum must fit in the session's memory
 * (128 copies of BODY[]<n.count> of a big message would not). */
static uint64_t literal_bound(const struct imap_fetch *f, const struct mbox_msg *m)
{
	uint64_t sum = 0;
	for (size_t i = 0; i < f->nitems; i++) {
		const struct imap_fetch_item *it = &f->items[i];
		if (it->att != IMAP_FA_RFC822 && it->att != IMAP_FA_RFC822_HEADER &&
		    it->att != IMAP_FA_RFC822_TEXT && it->att != IMAP_FA_BODY_SECTION &&
		    it->att != IMAP_FA_BINARY)
			continue;
		sum += it->partial && it->partial_count < m->size ? it->partial_count : m->size;
	}
	return sum;
}

static void end_fetch(struct imap_session *s, const char *status, const char *text)
{
	char tag[IMAP_TAG_MAX + 1];
	str_copy(tag, sizeof(tag), s->fetch->tag);
	fetch_job_free(s);
	imap_tagged(s, tag, status, "%s", text);
}

static bool fetch_some_in(struct imap_session *s);

/* A FETCH that changes nothing reads its messages' rows in one snapshot. */
static bool fetch_some(struct imap_session *s)
{
	bool batch = !s->fetch->f.sets_seen;
	if (batch)
		mbox_read_begin(s->view.ref.ms);
	struct mbox_store *ms = s->view.ref.ms;
	bool done = fetch_some_in(s);
	if (batch)
		mbox_read_end(ms);
	return done;
}

static bool fetch_some_in(struct imap_session *s)
{
	struct imap_fetch_job *j = s->fetch;
	while (j->next < j->t.n) {
		if (imap_output_pending(s) > FETCH_HIGHWATER)
			return false;   /* on_write calls us again when the client has read */
		struct mbox_msg m;
		size_t i = j->next++;
		if (mbox_get(s->view.ref.ms, &s->view.mb, j->t.uid[i], &m) != MBOX_OK)
			continue;   /* gone meanwhile: nothing to say (RFC 9051 7.4.1) */
		if (j->f.changedsince && m.modseq <= j->f.changedsince_modseq)
			continue;
		if (literal_bound(&j->f, &m) > s->ns.cfg->imap.session_memory) {
			end_fetch(s, "NO", "[LIMIT] FETCH response too large; ask for fewer items");
			return true;
		}
		struct loaded l = { 0 };
		if (!binary_decodable(s, &j->f, &m, &l)) {
			unload(&l);
			end_fetch(s, "NO", "[UNKNOWN-CTE] Cannot decode a part's Content-Transfer-Encoding");
			return true;
		}
		struct parts p = { 0 };
		if (!read_parts(s, &m, &l, &p)) {
			j->missing = true;
			unload(&l);
			continue;
		}
		bool seen_set = mark_seen(s, &m);
		imap_view_announce_keywords(s, m.keywords);   /* before a FLAGS item shows them */
		write_message(s, j->t.seq[i], &m, seen_set, &l, &p);
		free_parts(&p);
		unload(&l);
	}
	/* RFC 5530: the client learns of the expunge at its next NOOP */
	if (j->missing)
		end_fetch(s, "NO", "[EXPUNGEISSUED] Some of the requested messages no longer exist");
	else
		end_fetch(s, "OK", "FETCH completed");
	return true;
}

static void fetch_continue(struct imap_session *s)
{
	if (fetch_some(s))
		imap_resume_input(s);
}

struct vanished_ctx {
	const struct imap_seqset *set;
	uint32_t max;
	uint32_t *uids;
	size_t n, cap;
};

static void collect_vanished(void *arg, uint32_t uid)
{
	struct vanished_ctx *v = arg;
	if (!imap_seqset_contains(v->set, uid, v->max))
		return;
	if (v->n == v->cap) {
		v->cap = v->cap ? v->cap * 2 : 64;
		v->uids = xrealloc(v->uids, v->cap * sizeof(uint32_t));
	}
	v->uids[v->n++] = uid;
}

/* UID FETCH ... (CHANGEDSINCE n VANISHED), RFC 7162 3.2.6: the UIDs of the
 * set expunged since n, before the FETCH responses. */
static void report_vanished(struct imap_session *s, const struct imap_seqset *set, uint64_t since)
{
	struct vanished_ctx v = { set, s->view.mb.uidnext ? s->view.mb.uidnext - 1 : 0, NULL, 0, 0 };
	mbox_expunged_since(s->view.ref.ms, &s->view.mb, since, collect_vanished, &v);
	imap_view_vanished(s, true, v.uids, v.n);
	free(v.uids);
}

static void refuse_fetch(struct imap_session *s, struct imap_command *cmd, struct imap_fetch_job *j,
                         const char *text)
{
	imap_tagged(s, cmd->tag, "BAD", "%s", cmd->error ? cmd->error : text);
	imap_targets_free(&j->t);
	imap_fetch_free(&j->f);
	free(j);
}

static bool needs_text(const struct imap_fetch *f)
{
	for (size_t i = 0; i < f->nitems; i++)
		switch (f->items[i].att) {
		case IMAP_FA_BINARY_SIZE:
		case IMAP_FA_BINARY:
		case IMAP_FA_RFC822:
		case IMAP_FA_RFC822_HEADER:
		case IMAP_FA_RFC822_TEXT:
		case IMAP_FA_BODY_SECTION:
			return true;
		default:
			break;
		}
	return false;
}

static bool needs_structure(const struct imap_fetch *f)
{
	for (size_t i = 0; i < f->nitems; i++)
		if (f->items[i].att == IMAP_FA_ENVELOPE || f->items[i].att == IMAP_FA_BODY ||
		    f->items[i].att == IMAP_FA_BODYSTRUCTURE)
			return true;
	return false;
}

void imap_cmd_fetch(struct imap_session *s, struct imap_command *cmd)
{
	struct imap_cursor c, set_at;
	struct imap_fetch_job *j = xcalloc(1, sizeof(*j));
	imap_command_args(cmd, &c);
	set_at = c;
	if (imap_targets(s, &c, cmd->uid, &j->t) < 0 || !imap_fetch_parse(&j->f, &c, cmd->uid) ||
	    !imap_expect_end(&c)) {
		refuse_fetch(s, cmd, j, "Bad FETCH arguments");
		return;
	}
	if (j->f.vanished) {
		struct imap_seqset set;
		if (!s->qresync) {
			refuse_fetch(s, cmd, j, "VANISHED needs ENABLE QRESYNC");
			return;
		}
		/* the set again, as given: expunged UIDs are not among the targets */
		if (imap_next_seqset(&set_at, &set, IMAP_SEQSET_ALLOW_SAVED)) {
			report_vanished(s, set.saved ? &s->view.saved : &set, j->f.changedsince_modseq);
			imap_seqset_free(&set);
		}
	}
	if (j->f.wants_modseq)
		imap_enable_condstore(s);
	j->uid = cmd->uid;
	j->need_body = needs_text(&j->f);
	j->need_structure = needs_structure(&j->f);
	str_copy(j->tag, sizeof(j->tag), cmd->tag);
	s->fetch = j;
	imap_cmd_running(s, &fetch_hooks);
	if (fetch_some(s))
		return;         /* done at once: the command loop goes on reading */
	s->io = IMAP_IO_FETCH;
	net_session_pause_input(&s->ns);
}
