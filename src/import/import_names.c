#include "import/import_names.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include "core/utf8.h"
#include "core/util.h"
#include "mail/mutf7.h"
#include "store/mbox.h"

/* One level: modified UTF-7 decoded, else UTF-8 as it is. */
static int level_name(const char *level, char *out, size_t outlen)
{
	if (mutf7_decode(level, out, outlen) == 0)
		return 0;
	if (!utf8_valid(level, strlen(level)) || strlen(level) >= outlen)
		return -1;
	strcpy(out, level);
	return 0;
}

int import_folder_name(const char *disk, char sep, char *out, size_t outlen, const char **why)
{
	char level[MBOX_NAME_MAX + 1], decoded[MBOX_NAME_MAX + 1];
	size_t n = 0;
	const char *p = disk;
	for (;;) {
		size_t len = strcspn(p, (char[]){ sep, '\0' });
		if (len == 0)
			return *why = "an empty level", -1;
		if (len > MBOX_NAME_MAX)
			return *why = "a name longer than 255 octets", -1;
		memcpy(level, p, len);
		level[len] = '\0';
		if (level_name(level, decoded, sizeof(decoded)) < 0)
			return *why = "neither modified UTF-7 nor UTF-8", -1;
		size_t dlen = strlen(decoded);
		if (n + (n > 0) + dlen >= outlen || n + (n > 0) + dlen > MBOX_NAME_MAX)
			return *why = "a name longer than 255 octets", -1;
		if (n > 0)
			out[n++] = '/';
		memcpy(out + n, decoded, dlen + 1);
		n += dlen;
		p += len;
		if (*p == '\0')
			break;
		p++;
	}
	if (strcasecmp(out, "INBOX") == 0)
		strcpy(out, "INBOX");
	if (strcmp(out, "INBOX") != 0 && !mbox_name_valid(out))
		return *why = "a name postern does not allow ('.', '~', '%', '*', '\\', '\"', "
		              "control characters or a '/' in a level)", -1;
	return 0;
}
