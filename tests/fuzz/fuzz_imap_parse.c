/* libFuzzer target for the IMAP command reader and parsers
 * (src/imap/imap_reader.c, imap_parse.c, imap_seqset.c, imap_search_parse.c,
 * imap_fetch_parse.c).
 *
 * The first input octet picks the reader settings and a split position;
 * the rest goes through the reader twice, whole and split (byte by byte when
 * short), and both must give the same events. Every assembled command is
 * parsed, and its arguments go to every accessor and to the sequence-set,
 * date, SEARCH, FETCH and STORE parsers. Beyond the sanitizers it abort()s
 * when a property that must hold for any input does not: strings are
 * terminated where they say, sequence sets are normalised and their
 * iterator agrees with contains(), names fit, trees respect their limits. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap_fetch_parse.h"
#include "imap/imap_parse.h"
#include "imap/imap_search_parse.h"
#include "mail/date.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

/* ---- reader: the same events however the input is split ---- */

#define EVENTS_MAX 64

struct event {
	enum imap_read_result res;
	size_t at;
	uint64_t sum;           /* of the command buffer and its literal table, or of the info */
};

static uint64_t mix(uint64_t h, uint64_t v)
{
	return (h ^ v) * 0x100000001b3ULL;
}

static uint64_t hash_bytes(uint64_t h, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = mix(h, (unsigned char)p[i]);
	return h;
}

static void reader_setup(struct imap_reader *r, uint8_t mode)
{
	imap_reader_init(r, 64 + (mode & 3) * 200, 4096, 256);
	if (mode & 4)
		imap_reader_set_nonsync_max(r, 16);
}

/* Checks what a command buffer promises. */
static void check_raw(const struct imap_raw_command *raw)
{
	check(raw->buf[raw->len] == '\0');
	check(raw->nlits <= IMAP_LITERALS_MAX);
	for (size_t i = 0; i < raw->nlits; i++) {
		const struct imap_literal *l = &raw->lits[i];
		check(l->spec < l->data && l->data + l->len < raw->len + 1);
		check(raw->buf[l->data + l->len] == '\0');
		check(raw->buf[l->spec] == (l->binary ? '~' : '{'));
		check(l->has_nul == (memchr(raw->buf + l->data, '\0', l->len) != NULL));
		check(i == 0 || l->spec > raw->lits[i - 1].data + raw->lits[i - 1].len);
		check(l->len <= (raw->append ? 4096u : 256u));
	}
}

/* Feeds in through pieces ending at the cut offsets; calls on_command for
 * each assembled command when given. Stops at a fatal result. */
static size_t run_reader(const char *in, size_t len, uint8_t mode, size_t step,
                         struct event *ev, void (*on_command)(const struct imap_raw_command *))
{
	struct imap_reader r;
	size_t n = 0, pos = 0;

	reader_setup(&r, mode);
	while (pos < len && n < EVENTS_MAX) {
		size_t used, chunk = step == 0 || len - pos < step ? len - pos : step;
		enum imap_read_result res = imap_reader_feed(&r, in + pos, chunk, &used);
		check(used <= chunk);
		check(res != IMAP_READ_MORE || used == chunk);
		pos += used;
		if (res == IMAP_READ_MORE)
			continue;
		struct event *e = &ev[n++];
		*e = (struct event){ .res = res, .at = pos, .sum = 0xcbf29ce484222325ULL };
		if (res == IMAP_READ_COMMAND) {
			struct imap_raw_command raw;
			imap_reader_command(&r, &raw);
			check(raw.len > 0);
			check_raw(&raw);
			e->sum = hash_bytes(e->sum, raw.buf, raw.len + 1);
			for (size_t i = 0; i < raw.nlits; i++)
				e->sum = mix(mix(e->sum, raw.lits[i].data), raw.lits[i].len);
			if (on_command != NULL)
				on_command(&raw);
			continue;
		}
		const struct imap_read_info *info = imap_reader_info(&r);
		check(strlen(info->tag) <= IMAP_TAG_MAX && info->msg != NULL);
		e->sum = hash_bytes(e->sum, info->tag, strlen(info->tag));
		e->sum = mix(mix(mix(e->sum, info->literal_size), info->fatal), info->nonsync);
		if (res == IMAP_READ_CONTINUE)
			check(!info->nonsync && !info->fatal);
		if (info->fatal)
			break;
	}
	/* the buffer stays bounded by the limits */
	check(r.cap <= 2 * (r.max_line + 4096 + 256 + IMAP_LITERALS_MAX) + 256);
	imap_reader_free(&r);
	return n;
}

/* ---- sequence sets ---- */

static void check_seqset(const struct imap_seqset *set)
{
	check(set->nranges <= IMAP_SEQSET_RANGES_MAX);
	for (size_t i = 0; i < set->nranges; i++) {
		check(set->ranges[i].lo <= set->ranges[i].hi);
		if (i > 0)
			check((uint64_t)set->ranges[i - 1].hi + 1 < set->ranges[i].lo);
	}
	static const uint32_t maxes[] = { 0, 1, 7, 100, UINT32_MAX };
	for (size_t k = 0; k < sizeof maxes / sizeof maxes[0]; k++) {
		struct imap_seqset_iter it;
		uint32_t lo, hi, prev = 0;
		bool first = true;
		int steps = 0;
		imap_seqset_iter_init(&it, set, maxes[k]);
		while (imap_seqset_iter_next(&it, &lo, &hi) && steps++ < 20000) {
			check(lo >= 1 && lo <= hi && hi <= maxes[k]);
			check(first || lo > prev + 1);
			check(imap_seqset_contains(set, lo, maxes[k]) &&
			      imap_seqset_contains(set, hi, maxes[k]));
			if (lo > 1)
				check(!imap_seqset_contains(set, lo - 1, maxes[k]) || set->saved);
			first = false;
			prev = hi;
		}
		(void)imap_seqset_count(set, maxes[k]);
	}
	(void)imap_seqset_highest(set);
}

static void fuzz_seqset_text(const char *s, size_t len)
{
	static const unsigned flag_sets[] = {
		0, IMAP_SEQSET_ALLOW_ZERO | IMAP_SEQSET_ALLOW_SAVED, IMAP_SEQSET_NO_STAR,
	};
	for (size_t i = 0; i < sizeof flag_sets / sizeof flag_sets[0]; i++) {
		struct imap_seqset set;
		const char *err = NULL;
		if (imap_seqset_parse(&set, s, len, flag_sets[i], &err) == 0) {
			check(err == NULL);
			check_seqset(&set);
		} else {
			check(err != NULL && set.ranges == NULL && set.nranges == 0);
		}
		imap_seqset_free(&set);
	}
}

/* ---- argument tree ---- */

static void check_tree(const struct imap_arg *a, int depth, size_t *nodes)
{
	check(depth <= IMAP_LIST_DEPTH_MAX + 1);
	for (; a != NULL; a = a->next) {
		check(++*nodes <= IMAP_ARGS_MAX);
		switch (a->type) {
		case IMAP_ARG_ATOM:
		case IMAP_ARG_NIL:
		case IMAP_ARG_QUOTED:
			check(strlen(a->str) == a->len);
			if (a->type == IMAP_ARG_QUOTED)
				check(imap_utf8_valid(a->str, a->len));
			break;
		case IMAP_ARG_LITERAL:
			check(a->str[a->len] == '\0');
			check(((a->flags & IMAP_ARGF_NUL) != 0) == (memchr(a->str, '\0', a->len) != NULL));
			break;
		case IMAP_ARG_LIST:
		case IMAP_ARG_SECTION: {
			size_t count = 0;
			for (const struct imap_arg *c = a->list; c != NULL; c = c->next)
				count++;
			check(count == a->count);
			if (a->type == IMAP_ARG_SECTION) {
				check(strlen(a->str) == a->len);
				check(((a->flags & IMAP_ARGF_PARTIAL) != 0) == (a->partial != NULL));
			}
			check_tree(a->list, depth + 1, nodes);
			break;
		}
		}
		if (a->type == IMAP_ARG_ATOM)
			fuzz_seqset_text(a->str, a->len);
		if (a->type == IMAP_ARG_ATOM || a->type == IMAP_ARG_QUOTED) {
			int32_t day;
			int64_t t;
			int zone;
			if (imap_date_parse(a->str, a->len, &day))
				check(day >= mail_days_from_civil(1, 1, 1) &&
				      day <= mail_days_from_civil(9999, 12, 31));
			if (imap_date_time_parse(a->str, a->len, &t, &zone))
				check(zone > -24 * 60 && zone < 24 * 60);
		}
	}
}

/* Every accessor on the first argument of a cursor. */
static void fuzz_accessors(const struct imap_arg *first)
{
	for (int which = 0; which < 12; which++) {
		const char *err = NULL, *s = NULL;
		size_t len = 0;
		uint32_t n32;
		uint64_t n64;
		bool b, ok = false;
		struct imap_cursor c, inner;
		struct imap_seqset set;
		imap_cursor_init(&c, first, &err);
		switch (which) {
		case 0: ok = imap_next_atom(&c, &s); break;
		case 1: ok = imap_next_astring(&c, &s, &len); break;
		case 2: ok = imap_next_nstring(&c, &s, &len); break;
		case 3: ok = imap_next_string(&c, &s, &len); break;
		case 4: ok = imap_next_list_mailbox(&c, &s, &len); break;
		case 5: ok = imap_next_literal(&c, &s, &len, &b); break;
		case 6: ok = imap_next_list(&c, &inner) && imap_expect_end(&inner); break;
		case 7: ok = imap_next_number(&c, &n32); break;
		case 8: ok = imap_next_nz_number(&c, &n32) && n32 > 0; break;
		case 9: ok = imap_next_number64(&c, &n64) && n64 <= IMAP_NUMBER64_MAX; break;
		case 10:
			ok = imap_next_seqset(&c, &set, IMAP_SEQSET_ALLOW_SAVED);
			if (ok)
				check_seqset(&set);
			imap_seqset_free(&set);
			break;
		default: ok = imap_accept_atom(&c, "NIL") || imap_expect_end(&c); break;
		}
		check(ok == (err == NULL) || which == 11);
		if (ok && which >= 1 && which <= 4 && s != NULL)
			check(s[len] == '\0' && strlen(s) == len);
	}
}

/* ---- SEARCH / FETCH / STORE ---- */

static int text_cb(void *arg, const struct imap_search_node *n, const struct imap_search_msg *m)
{
	(void)arg;
	return (int)((n->str_len + m->uid) % 3) - 1;
}

static void fuzz_search(const struct imap_arg *first)
{
	const char *err = NULL;
	struct imap_cursor c;
	struct imap_search s;
	static const char *const kw[] = { "", "$Junk", "$Junk work" };

	imap_cursor_init(&c, first, &err);
	enum imap_search_status st = imap_search_parse(&s, &c, IMAP_SEARCH_ALLOW_SAVED);
	check((st == IMAP_SEARCH_BAD) == (err != NULL));
	check(s.nodes <= IMAP_SEARCH_NODES_MAX);
	if (st == IMAP_SEARCH_OK) {
		struct imap_seqset saved;
		const char *serr;
		check(s.root != NULL && s.root->key == IMAP_SK_AND && s.root->child != NULL);
		check(imap_seqset_parse(&saved, "2:4,9", 5, 0, &serr) == 0);
		for (uint32_t i = 1; i <= 4; i++) {
			struct imap_search_msg m = {
				.seq = i, .uid = i * 3, .flags = i * 5 & 0x3f, .keyword_list = kw[i % 3],
				.size = i * 1000, .internal_day = (int32_t)(i * 4000),
				.sent_day = (int32_t)(i * 5000), .modseq = i * i,
			};
			struct imap_search_ctx ctx = {
				.max_seq = 4, .max_uid = 12, .saved = i & 1 ? &saved : NULL,
				.text_match = i & 2 ? text_cb : NULL,
			};
			enum imap_tri r = imap_search_eval(&s, &m, &ctx);
			check(r == IMAP_TRI_YES || r == IMAP_TRI_NO || r == IMAP_TRI_MAYBE);
			if (!s.uses_text)
				check(r != IMAP_TRI_MAYBE);
		}
		imap_seqset_free(&saved);
	}
	imap_search_free(&s);
}

static void fuzz_fetch(const struct imap_arg *first, bool uid)
{
	const char *err = NULL;
	struct imap_cursor c;
	struct imap_fetch f;
	char name[1024];

	imap_cursor_init(&c, first, &err);
	bool ok = imap_fetch_parse(&f, &c, uid);
	check(ok == (err == NULL));
	check(f.nitems <= IMAP_FETCH_ITEMS_MAX);
	check(!f.vanished || !ok || (uid && f.changedsince));
	for (size_t i = 0; ok && i < f.nitems; i++) {
		const struct imap_fetch_item *it = &f.items[i];
		check(it->section.nparts <= IMAP_SECTION_PARTS_MAX);
		check(it->section.nfields <= IMAP_HEADER_FIELDS_MAX);
		check(!it->partial || it->partial_count > 0);
		int n = imap_fetch_item_name(it, name, sizeof name);
		check(n < 0 ? name[0] == '\0' : (size_t)n == strlen(name));
		check(n >= 0 || it->section.nfields > 0);
	}
	imap_fetch_free(&f);
}

static void fuzz_store(const struct imap_arg *first)
{
	const char *err = NULL;
	struct imap_cursor c;
	struct imap_store st;

	imap_cursor_init(&c, first, &err);
	bool ok = imap_store_parse(&st, &c);
	check(ok == (err == NULL));
	check(st.flags.nkeywords <= IMAP_KEYWORDS_MAX);
	check(!(st.flags.system & IMAP_FLAG_RECENT));
	imap_store_free(&st);

	struct imap_flags fl;
	err = NULL;
	imap_cursor_init(&c, first, &err);
	ok = imap_next_flag_list(&c, &fl);
	check(ok == (err == NULL));
	imap_flags_free(&fl);
}

static void on_command(const struct imap_raw_command *raw)
{
	for (unsigned flags = 0; flags <= IMAP_PARSE_ALLOW_NUL; flags += IMAP_PARSE_ALLOW_NUL) {
		struct imap_command cmd;
		int rc = imap_command_parse(&cmd, raw, flags);
		check((rc == 0) == (cmd.error == NULL));
		if (rc == 0) {
			size_t nodes = 0;
			check(cmd.tag != NULL && cmd.name != NULL && *cmd.name != '\0');
			check(strlen(cmd.tag) <= IMAP_TAG_MAX);
			check_tree(cmd.args, 0, &nodes);
			/* each parser from the first and from the second argument */
			const struct imap_arg *starts[2] = { cmd.args, cmd.args ? cmd.args->next : NULL };
			for (int k = 0; k < 2; k++) {
				fuzz_accessors(starts[k]);
				fuzz_search(starts[k]);
				fuzz_fetch(starts[k], cmd.uid);
				fuzz_store(starts[k]);
			}
		}
		imap_command_free(&cmd);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct event whole[EVENTS_MAX], split[EVENTS_MAX];

	if (size == 0)
		return 0;
	uint8_t mode = data[0];
	const char *in = (const char *)data + 1;
	size_t len = size - 1;

	size_t nw = run_reader(in, len, mode, 0, whole, on_command);
	/* short inputs byte by byte, longer ones in pieces of a size set by mode */
	size_t step = len <= 512 ? 1 : 1 + (mode >> 3);
	size_t ns = run_reader(in, len, mode, step, split, NULL);
	check(nw == ns);
	for (size_t i = 0; i < nw; i++) {
		check(whole[i].res == split[i].res);
		check(whole[i].at == split[i].at);
		check(whole[i].sum == split[i].sum);
	}
	return 0;
}
