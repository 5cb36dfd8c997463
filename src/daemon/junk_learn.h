/* Moving mail into and out of Junk over IMAP trains rspamd (issue #24):
 * the daemon connects IMAP's hook (imap/imap_junk.h) to a learner
 * (filter/rspamd.h) per worker, so that neither knows the other. */
#ifndef POSTERN_JUNK_LEARN_H
#define POSTERN_JUNK_LEARN_H

struct config;

/* Sets IMAP's hook when rspamd.enabled and rspamd.learn; before the
 * workers start. */
void junk_learn_install(const struct config *cfg);

#endif
