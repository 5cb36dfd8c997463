/* The files serve owns: the data directory it creates (owned by the service
 * user, setgid, nobody else inside), and the permission rules it starts
 * under (strict_permissions): no private key others can read, no data
 * directory others can change, nothing inside owned by another user. */
#ifndef POSTERN_LAYOUT_H
#define POSTERN_LAYOUT_H

#include <stddef.h>

struct config;
struct service_identity;

/* Creates data_dir and the directories serve writes to, 2750, owned by the
 * service user when started as root. Existing directories are left as they
 * are (layout_check reports them). 0 or -1 with err. */
int layout_prepare(const struct config *cfg, const struct service_identity *id,
                   char *err, size_t errlen);

/* One problem, with the command that fixes it. */
typedef void (*layout_report_fn)(void *arg, const char *problem);

/* Reports every permission or ownership problem of the configured files;
 * returns how many there were. */
int layout_check(const struct config *cfg, const struct service_identity *id,
                 layout_report_fn report, void *arg);

#endif
