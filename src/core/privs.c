#include "core/privs.h"

#include <errno.h>
#include <grp.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <sys/capability.h>
#include <sys/prctl.h>
#include <unistd.h>

#include "core/config.h"

static int resolve_group(const struct config *cfg, const struct passwd *pw,
                         struct service_identity *id, char *err, size_t errlen)
{
	if (cfg->group == NULL || cfg->group[0] == '\0') {
		struct group *gr = getgrgid(pw->pw_gid);
		id->gid = pw->pw_gid;
		snprintf(id->group, sizeof(id->group), "%s", gr ? gr->gr_name : "?");
		return 0;
	}
	struct group *gr = getgrnam(cfg->group);
	if (gr == NULL) {
		snprintf(err, errlen, "%s: group '%s' does not exist: create it with `postern install` "
		         "(or `groupadd --system %s`), or set group in the configuration",
		         cfg->source, cfg->group, cfg->group);
		return -1;
	}
	id->gid = gr->gr_gid;
	snprintf(id->group, sizeof(id->group), "%s", gr->gr_name);
	return 0;
}

int privs_resolve(const struct config *cfg, struct service_identity *id, char *err, size_t errlen)
{
	memset(id, 0, sizeof(*id));
	id->uid = geteuid();
	id->gid = getegid();
	if (id->uid != 0 || cfg->user == NULL || cfg->user[0] == '\0')
		return 0;
	struct passwd *pw = getpwnam(cfg->user);
	if (pw == NULL) {
		snprintf(err, errlen, "%s: user '%s' does not exist: create it with `postern install` "
		         "(or `useradd --system --home-dir %s --shell /usr/sbin/nologin %s`), or set "
		         "user in the configuration (user = \"\" keeps running as root: not for a real "
		         "server)", cfg->source, cfg->user, cfg->data_dir, cfg->user);
		return -1;
	}
	if (pw->pw_uid == 0) {
		snprintf(err, errlen, "%s: user '%s' is root: name an unprivileged user (or user = \"\")",
		         cfg->source, cfg->user);
		return -1;
	}
	snprintf(id->user, sizeof(id->user), "%s", pw->pw_name);
	id->uid = pw->pw_uid;
	id->change = true;
	return resolve_group(cfg, pw, id, err, errlen);
}

static int switch_ids(const struct service_identity *id, char *err, size_t errlen)
{
	if (setgroups(1, &id->gid) < 0 || setresgid(id->gid, id->gid, id->gid) < 0 ||
	    setresuid(id->uid, id->uid, id->uid) < 0) {
		snprintf(err, errlen, "cannot become %s:%s: %s", id->user, id->group, strerror(errno));
		return -1;
	}
	/* paranoia: a kernel or seccomp policy that ignored us must not pass */
	if (setuid(0) == 0 || geteuid() == 0) {
		snprintf(err, errlen, "still root after switching to %s", id->user);
		return -1;
	}
	return 0;
}

/* Leaves exactly CAP_NET_BIND_SERVICE in the permitted and effective sets
 * when `keep` (and the process has it), nothing otherwise. */
static int set_caps(bool keep, char *err, size_t errlen)
{
	cap_value_t bind = CAP_NET_BIND_SERVICE;
	cap_t now = cap_get_proc(), want = cap_init();
	cap_flag_value_t have = CAP_CLEAR;
	int rc = -1;
	if (now == NULL || want == NULL)
		goto out;
	cap_get_flag(now, bind, CAP_PERMITTED, &have);
	if (keep && have == CAP_SET &&
	    (cap_set_flag(want, CAP_PERMITTED, 1, &bind, CAP_SET) < 0 ||
	     cap_set_flag(want, CAP_EFFECTIVE, 1, &bind, CAP_SET) < 0))
		goto out;
	rc = cap_set_proc(want);
out:
	if (rc < 0)
		snprintf(err, errlen, "cannot set capabilities: %s", strerror(errno));
	cap_free(now);
	cap_free(want);
	return rc;
}

/* Root only: no capability but the one we keep can come back, even
 * through an exec of a setuid or file-capability binary. */
static int drop_bounding_set(char *err, size_t errlen)
{
	for (cap_value_t c = 0; c <= CAP_LAST_CAP; c++) {
		if (c == CAP_NET_BIND_SERVICE || !CAP_IS_SUPPORTED(c))
			continue;
		if (cap_drop_bound(c) == 0)
			continue;
		/* a container without CAP_SETPCAP: no_new_privs still stops an exec
		 * from gaining anything */
		if (errno == EPERM)
			return 0;
		snprintf(err, errlen, "cannot drop capability %d: %s", (int)c, strerror(errno));
		return -1;
	}
	return 0;
}

static int set_no_new_privs(char *err, size_t errlen)
{
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0) {
		snprintf(err, errlen, "cannot set no_new_privs: %s", strerror(errno));
		return -1;
	}
	return 0;
}

int privs_drop_for_serve(const struct service_identity *id, char *err, size_t errlen)
{
	if (id->change) {
		if (drop_bounding_set(err, errlen) < 0)
			return -1;
		/* keep the permitted set across setuid, then trim it to one capability */
		if (prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0 || switch_ids(id, err, errlen) < 0)
			return -1;
		prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
		if (set_caps(true, err, errlen) < 0)
			return -1;
	} else if (geteuid() != 0 && set_caps(true, err, errlen) < 0) {
		return -1;
	}
	return set_no_new_privs(err, errlen);
}

int privs_become(const struct service_identity *id, char *err, size_t errlen)
{
	if (!id->change)
		return 0;
	/* without KEEPCAPS the kernel clears every capability at the switch */
	if (switch_ids(id, err, errlen) < 0 || set_caps(false, err, errlen) < 0)
		return -1;
	return set_no_new_privs(err, errlen);
}

const char *privs_user_name(uid_t uid, char *out, size_t outlen)
{
	struct passwd pw, *found = NULL;
	char buf[1024];
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &found) == 0 && found != NULL)
		snprintf(out, outlen, "%s", pw.pw_name);
	else
		snprintf(out, outlen, "%u", (unsigned)uid);
	return out;
}

const char *privs_group_name(gid_t gid, char *out, size_t outlen)
{
	struct group gr, *found = NULL;
	char buf[4096];
	if (getgrgid_r(gid, &gr, buf, sizeof(buf), &found) == 0 && found != NULL)
		snprintf(out, outlen, "%s", gr.gr_name);
	else
		snprintf(out, outlen, "%u", (unsigned)gid);
	return out;
}

bool privs_can_bind_low_ports(void)
{
	cap_t now = cap_get_proc();
	cap_flag_value_t eff = CAP_CLEAR;
	if (now != NULL)
		cap_get_flag(now, CAP_NET_BIND_SERVICE, CAP_EFFECTIVE, &eff);
	cap_free(now);
	return eff == CAP_SET;
}

int privs_unprivileged_port_start(void)
{
	int port = 1024;
	FILE *f = fopen("/proc/sys/net/ipv4/ip_unprivileged_port_start", "r");
	if (f != NULL) {
		if (fscanf(f, "%d", &port) != 1)
			port = 1024;
		fclose(f);
	}
	return port;
}

void privs_bind_advice(int port, char *out, size_t outlen)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n <= 0)
		snprintf(exe, sizeof(exe), "postern");
	else
		exe[n] = '\0';
	snprintf(out, outlen, "port %d needs CAP_NET_BIND_SERVICE (ports below %d are privileged): "
	         "start postern as root (it binds, then runs as its service user), or `setcap "
	         "cap_net_bind_service=+ep %s`, or in its systemd unit "
	         "AmbientCapabilities=CAP_NET_BIND_SERVICE", port, privs_unprivileged_port_start(), exe);
}
