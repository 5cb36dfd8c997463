/* The outbound queue runner: a thread with its own event loop that picks
 * due recipients from the store, delivers them over SMTP, schedules
 * retries, sends delay warnings and bounces, and removes finished messages. */
#ifndef POSTERN_RUNNER_H
#define POSTERN_RUNNER_H

#include <stddef.h>

struct config;
struct committer;
struct queue_runner;
struct srs;

struct queue_runner *queue_runner_new(const struct config *cfg, struct committer *committer,
                                      char *err, size_t errlen);
/* Reports to an SRS address at srs->domain go to the address it encodes
 * (src/mailauth/srs.h). srs (NULL: SRS is off) outlives the runner; set
 * before the start. */
void queue_runner_set_srs(struct queue_runner *q, const struct srs *srs);
int queue_runner_start(struct queue_runner *q, char *err, size_t errlen);
/* Thread-safe: look at the queue now (new entries were recorded). */
void queue_runner_wake(void *q);
/* Stops scheduling, lets deliveries in flight finish within the shutdown
 * grace, then aborts the rest (they stay queued) and joins the thread. */
void queue_runner_stop(struct queue_runner *q);
void queue_runner_free(struct queue_runner *q);

#endif
