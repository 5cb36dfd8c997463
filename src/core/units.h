/* Sizes ("25M", "512K", "1G", "100") and durations ("15m", "3s", "1h", "500ms", "2d")
 * as written in the config file. */
#ifndef POSTERN_UNITS_H
#define POSTERN_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Bytes; suffixes K, M, G (powers of 1024), optional trailing 'B'/'iB'.
 * Returns 0, or -1 for malformed text or overflow. */
int units_parse_size(const char *s, uint64_t *bytes);
/* Milliseconds; suffixes ms, s, m, h, d; a bare number means seconds. */
int units_parse_duration(const char *s, uint64_t *ms);

/* The shortest exact text for a value, as the config file would write it:
 * "5m", "1h", "1500ms", "64K", "25M", "100". */
void units_format_duration(uint64_t ms, char *out, size_t len);
void units_format_size(uint64_t bytes, char *out, size_t len);

#endif
