#include "daemon/sockets.h"

#include <grp.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "core/config.h"
#include "core/privs.h"
#include "core/util.h"
#include "net/listener.h"

/* Who the socket file goes to: the names configured, else the identity serve
 * takes on; (uid_t)-1 / (gid_t)-1 when that is the process's own already. */
static int socket_owner(const struct listen_addr *la, const struct service_identity *id,
                        uid_t *uid, gid_t *gid, char *err, size_t errlen)
{
	*uid = id->change ? id->uid : (uid_t)-1;
	*gid = id->change ? id->gid : (gid_t)-1;
	if (la->owner[0] != '\0') {
		struct passwd *pw = getpwnam(la->owner);
		if (pw == NULL) {
			snprintf(err, errlen, "%s: socket_owner '%s' does not exist", la->text, la->owner);
			return -1;
		}
		*uid = pw->pw_uid;
	}
	if (la->group[0] != '\0') {
		struct group *gr = getgrnam(la->group);
		if (gr == NULL) {
			snprintf(err, errlen, "%s: socket_group '%s' does not exist", la->text, la->group);
			return -1;
		}
		*gid = gr->gr_gid;
	}
	return 0;
}

static int bind_one(const struct listen_addr *la, const struct service_identity *id,
                    struct local_sockets *out, char *err, size_t errlen)
{
	uid_t uid;
	gid_t gid;
	if (socket_owner(la, id, &uid, &gid, err, errlen) < 0)
		return -1;
	int fd = listener_bind_unix(la, uid, gid, err, errlen);
	if (fd < 0)
		return -1;
	out->fds = xrealloc(out->fds, (out->n + 1) * sizeof(*out->fds));
	out->fds[out->n++] = (struct listener_fd){ .addr = la, .fd = fd };
	return 0;
}

int local_sockets_bind(const struct config *cfg, const struct service_identity *id,
                       struct local_sockets *out, char *err, size_t errlen)
{
	for (int s = 0; s < SVC_COUNT; s++) {
		const struct listen_list *l = config_listen(cfg, (enum service_id)s);
		for (size_t i = 0; i < l->n; i++) {
			if (l->addrs[i].path[0] == '\0')
				continue;
			if (bind_one(&l->addrs[i], id, out, err, errlen) < 0) {
				local_sockets_close(out);
				return -1;
			}
		}
	}
	return 0;
}

void local_sockets_close(struct local_sockets *ls)
{
	for (size_t i = 0; i < ls->n; i++)
		close(ls->fds[i].fd);
	free(ls->fds);
	ls->fds = NULL;
	ls->n = 0;
}
