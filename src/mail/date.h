/* Dates in messages: the Date: field (RFC 5322 3.3 and 4.3), and the
 * calendar arithmetic on them. */
#ifndef POSTERN_MAIL_DATE_H
#define POSTERN_MAIL_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct mail_date {
	int32_t day;            /* the date as written, in the field's own zone: days
	                         * since 1970-01-01 (what IMAP SENT* compares) */
	int64_t unix_time;      /* the instant */
	int zone_minutes;       /* east of UTC; 0 for -0000 */
};

/* The value of a Date: header (raw: folds may be left in), RFC 5322 3.3
 * date-time with the obsolete forms of 4.3: "Tue, 1 Jul 2003 10:52:37
 * +0200". Comments and folding white space between the tokens, the day of
 * the week optional, seconds optional, 2-digit years (< 50: 20xx, else
 * 19xx) and 3-digit years (+ 1900), the zone numeric, a name (UT, GMT,
 * EST...PDT) or missing; military letters and unknown names are -0000.
 * Whatever follows the zone is ignored. False when the date or the time
 * is not valid. */
bool mail_date_parse(const char *s, size_t len, struct mail_date *out);

/* Days since 1970-01-01 of a civil date (proleptic Gregorian). */
int32_t mail_days_from_civil(int y, unsigned m, unsigned d);
/* Days in month m (1-12) of year y. */
unsigned mail_days_in_month(int y, unsigned m);
/* 1-12 for "Jan".."Dec" (any case), 0 for anything else. */
unsigned mail_month_from_name(const char *s, size_t n);

#endif
