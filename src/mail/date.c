/* RFC 5322 3.3 dates (with 4.3's obsolete forms), as the Date: field holds
 * them, and the calendar arithmetic they need. */
#include "mail/date.h"

#include <stddef.h>

#include "core/util.h"
#include "mail/lex.h"

static const char *const month_names[12] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
};
static const char *const day_names[7] = { "Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun" };

/* Index of the word in names (case-insensitive), or -1. */
static int name_index(const char *w, size_t n, const char *const *names, int count)
{
	for (int i = 0; i < count; i++) {
		if (mail_eq_nocase(w, n, names[i]))
			return i;
	}
	return -1;
}

unsigned mail_month_from_name(const char *s, size_t n)
{
	return (unsigned)(name_index(s, n, month_names, 12) + 1);
}

unsigned mail_days_in_month(int y, unsigned m)
{
	static const unsigned char days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 && leap ? 29 : days[m - 1];
}

int32_t mail_days_from_civil(int y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;

	return (int32_t)(era * 146097 + (int)doe - 719468);
}


struct scan {
	const char *p, *end;
};

/* CFWS (RFC 5322 3.2.2): white space, the line ends of folds, and
 * comments. */
static void skip_cfws(struct scan *sc)
{
	sc->p += mail_skip_cfws(sc->p, (size_t)(sc->end - sc->p), 0);
}

/* A run of digits into *v; false unless it is min to max digits long. */
static bool scan_digits(struct scan *sc, size_t min, size_t max, unsigned *v)
{
	size_t n = 0;

	*v = 0;
	for (; sc->p < sc->end && mail_is_digit(*sc->p); sc->p++, n++) {
		if (n < max)
			*v = *v * 10 + (unsigned)(*sc->p - '0');
	}
	return n >= min && n <= max;
}

static size_t scan_letters(struct scan *sc, const char **word)
{
	*word = sc->p;
	while (sc->p < sc->end && mail_is_alpha(*sc->p))
		sc->p++;
	return (size_t)(sc->p - *word);
}

/* c after optional CFWS, taken if there */
static bool scan_char(struct scan *sc, char c)
{
	skip_cfws(sc);
	if (sc->p == sc->end || *sc->p != c)
		return false;
	sc->p++;
	return true;
}

/* RFC 5322 4.3: 2-digit years < 50 are 20xx, other 2- and 3-digit years
 * + 1900; 4 digits as they are (3.3 allows more, no mail needs them). */
static bool scan_year(struct scan *sc, int *year)
{
	const char *start = sc->p;
	unsigned y;

	if (!scan_digits(sc, 2, 4, &y))
		return false;
	if (sc->p - start == 2)
		y += y < 50 ? 2000 : 1900;
	else if (sc->p - start == 3)
		y += 1900;
	*year = (int)y;
	return true;
}

/* [day-of-week ","] day month year, the day-of-week not checked against the date */
static bool scan_date(struct scan *sc, int32_t *day)
{
	const char *w;
	size_t n;
	unsigned d;
	int m, y;

	skip_cfws(sc);
	n = scan_letters(sc, &w);
	if (n > 0) {
		if (name_index(w, n, day_names, 7) < 0)
			return false;
		scan_char(sc, ',');     /* tolerated when missing */
		skip_cfws(sc);
	}
	if (!scan_digits(sc, 1, 2, &d))
		return false;
	skip_cfws(sc);
	n = scan_letters(sc, &w);
	m = mail_month_from_name(w, n);
	skip_cfws(sc);
	if (m == 0 || !scan_year(sc, &y) || d == 0 || d > mail_days_in_month(y, (unsigned)m))
		return false;
	*day = mail_days_from_civil(y, (unsigned)m, d);
	return true;
}

/* hour ":" minute [":" second], in seconds since midnight; a leap second
 * is the second before. The hour may have one digit (common breakage). */
static bool scan_time(struct scan *sc, int32_t *seconds)
{
	unsigned hh, mm, ss = 0;

	skip_cfws(sc);
	if (!scan_digits(sc, 1, 2, &hh) || !scan_char(sc, ':'))
		return false;
	skip_cfws(sc);
	if (!scan_digits(sc, 2, 2, &mm))
		return false;
	if (scan_char(sc, ':')) {
		skip_cfws(sc);
		if (!scan_digits(sc, 2, 2, &ss))
			return false;
	}
	if (hh > 23 || mm > 59 || ss > 60)
		return false;
	*seconds = (int32_t)(hh * 3600 + mm * 60 + (ss == 60 ? 59 : ss));
	return true;
}

/* zone = ("+" / "-") 4DIGIT, or an RFC 5322 4.3 obs-zone name; military
 * letters, unknown names, a missing or malformed zone: -0000 (no offset
 * known). Minutes east of UTC. */
static int scan_zone(struct scan *sc)
{
	static const struct {
		const char *name;
		int minutes;
	} zones[] = {
		{ "UT", 0 }, { "GMT", 0 }, { "EST", -300 }, { "EDT", -240 }, { "CST", -360 },
		{ "CDT", -300 }, { "MST", -420 }, { "MDT", -360 }, { "PST", -480 }, { "PDT", -420 },
	};
	const char *w;
	unsigned v;

	skip_cfws(sc);
	if (sc->p < sc->end && (*sc->p == '+' || *sc->p == '-')) {
		int sign = *sc->p++ == '-' ? -1 : 1;
		if (scan_digits(sc, 4, 4, &v) && v % 100 <= 59)
			return sign * (int)(v / 100 * 60 + v % 100);
		return 0;
	}
	size_t n = scan_letters(sc, &w);
	for (size_t i = 0; i < ARRAY_LEN(zones); i++) {
		if (mail_eq_nocase(w, n, zones[i].name))
			return zones[i].minutes;
	}
	return 0;
}

bool mail_date_parse(const char *s, size_t len, struct mail_date *out)
{
	struct scan sc = { s, s + len };
	int32_t day, seconds;

	*out = (struct mail_date){ 0 };
	if (!scan_date(&sc, &day) || !scan_time(&sc, &seconds))
		return false;
	out->day = day;
	out->zone_minutes = scan_zone(&sc);
	out->unix_time = (int64_t)day * 86400 + seconds - (int64_t)out->zone_minutes * 60;
	return true;
}
