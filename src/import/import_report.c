#include "import/import_report.h"

#include <stdarg.h>
#include <string.h>

#include "core/util.h"

#define NOTES_MAX 100

static const char *const skip_names[IMPORT_SKIP_COUNT] = {
	[IMPORT_SKIP_SYMLINK] = "symbolic links (never followed)",
	[IMPORT_SKIP_NOT_FILE] = "not regular files",
	[IMPORT_SKIP_EMPTY] = "empty files",
	[IMPORT_SKIP_NOT_MESSAGE] = "not RFC 5322 messages",
	[IMPORT_SKIP_TOO_LARGE] = "larger than 2 GiB (RFC822.SIZE must fit in 32 bits)",
	[IMPORT_SKIP_UNREADABLE] = "unreadable or vanished",
	[IMPORT_SKIP_BAD_FILE_NAME] = "file names no Maildir has",
	[IMPORT_SKIP_DUPLICATE] = "the same message twice (name collisions)",
	[IMPORT_SKIP_UIDLIST_LINE] = "dovecot-uidlist lines not usable (their files got new UIDs)",
	[IMPORT_SKIP_KEYWORD] = "keywords dropped",
	[IMPORT_SKIP_POP3_UIDL] = "POP3 UIDLs dropped (not as RFC 1939 allows)",
	[IMPORT_SKIP_FOLDER] = "folders not imported",
	[IMPORT_SKIP_SUBSCRIPTION] = "subscriptions not kept",
};

void import_report_init(struct import_report *r, bool tty)
{
	memset(r, 0, sizeof(*r));
	r->tty = tty;
}

static void clear_line(struct import_report *r)
{
	if (r->tty && r->line_shown) {
		fputs("\r\033[K", stdout);
		fflush(stdout);
		r->line_shown = false;
	}
}

/* A name from the source as text a terminal shows as it is: control
 * characters (a newline in a file name) as \xNN. */
static void print_visible(FILE *out, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		if (*p < 0x20 || *p == 0x7f || *p == '\\')
			fprintf(out, "\\x%02x", *p);
		else
			fputc(*p, out);
	}
}

void import_report_skip(struct import_report *r, enum import_skip why, const char *path,
                        const char *detail)
{
	r->skipped[why]++;
	if (r->notes++ >= NOTES_MAX)
		return;
	clear_line(r);
	fputs("postern: skipped ", stderr);
	print_visible(stderr, path);
	fputs(": ", stderr);
	print_visible(stderr, detail);
	fprintf(stderr, "%s\n", r->notes == NOTES_MAX ? " (further skips are only counted)" : "");
}

void import_report_error(struct import_report *r, const char *fmt, ...)
{
	va_list ap;
	clear_line(r);
	fputs("postern: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void import_report_say(struct import_report *r, const char *fmt, ...)
{
	va_list ap;
	clear_line(r);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
}

void import_report_folder(struct import_report *r, const char *user, const char *folder,
                          unsigned long long total)
{
	snprintf(r->where, sizeof(r->where), "%s %s", user, folder);
	r->done = 0;
	r->total = total;
	r->drawn_ms = 0;
	import_report_progress(r, 0);
}

void import_report_progress(struct import_report *r, unsigned long long done)
{
	r->done = done;
	uint64_t now = now_ms();
	if (!r->tty || (r->drawn_ms != 0 && now - r->drawn_ms < 100 && done < r->total))
		return;
	r->drawn_ms = now;
	printf("\r\033[K%.60s: %llu/%llu messages, %llu MB in all", r->where, done, r->total,
	       (r->bytes + 999999) / 1000000);
	fflush(stdout);
	r->line_shown = true;
}

void import_report_summary(struct import_report *r, FILE *out)
{
	unsigned long long skipped = 0;
	clear_line(r);
	for (int i = 0; i < IMPORT_SKIP_COUNT; i++)
		skipped += r->skipped[i];
	fprintf(out, "imported: %lu user%s, %lu folder%s, %llu message%s, %llu bytes\n", r->users,
	        r->users == 1 ? "" : "s", r->folders, r->folders == 1 ? "" : "s", r->messages,
	        r->messages == 1 ? "" : "s", r->bytes);
	if (r->already > 0)
		fprintf(out, "  %llu message%s handled by an earlier run (not copied again)\n",
		        r->already, r->already == 1 ? " was" : "s were");
	if (r->over_limit > 0)
		fprintf(out, "  %llu message%s larger than limits.message_size (imported anyway: "
		        "they were the user's mail already)\n", r->over_limit, r->over_limit == 1 ? "" : "s");
	if (skipped == 0 && r->folders_failed == 0) {
		fprintf(out, "  nothing skipped\n");
		return;
	}
	if (r->folders_failed > 0)
		fprintf(out, "  FAILED: %lu folder%s (see the messages above; run again once fixed)\n",
		        r->folders_failed, r->folders_failed == 1 ? "" : "s");
	for (int i = 0; i < IMPORT_SKIP_COUNT; i++)
		if (r->skipped[i] > 0)
			fprintf(out, "  skipped: %llu %s\n", r->skipped[i], skip_names[i]);
}
