/* Master users: the login form and the audit event (the check itself is
 * login.c's, the exchange sasl_server.c's). */
#include "auth/master.h"

#include <string.h>

#include "auth/login.h"
#include "core/log.h"
#include "core/util.h"

bool master_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > MASTER_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return false;
	}
	return true;
}

enum master_form master_login_split(const char *login, char *user, size_t ucap, char *master,
                                    size_t mcap)
{
	const char *star = strrchr(login, '*');
	user[0] = '\0';
	master[0] = '\0';
	/* "user*" or "a*b@example.org": no master name after the last '*' */
	if (star == NULL || !master_name_valid(star + 1) || strlen(star + 1) >= mcap)
		return MASTER_FORM_NONE;
	str_copy(master, mcap, star + 1);
	size_t n = (size_t)(star - login);
	if (n == 0 || n >= ucap)
		return MASTER_FORM_BAD;
	memcpy(user, login, n);
	user[n] = '\0';
	return MASTER_FORM_OK;
}

void master_audit(const struct login_ctx *c, const char *user, const char *master,
                  const char *result, const char *reason, bool cached)
{
	if (strcmp(result, "success") == 0)
		log_security(LOG_INFO, "auth.master_login", "s", "ip", c->ip, "s", "protocol",
		             c->protocol, "s", "user", user, "s", "master", master, "s", "result",
		             result, "b", "cached", (int)cached, NULL);
	else
		log_security(LOG_WARN, "auth.master_login", "s", "ip", c->ip, "s", "protocol",
		             c->protocol, "s", "user", user, "s", "master", master, "s", "result",
		             result, "s", "reason", reason, NULL);
}
