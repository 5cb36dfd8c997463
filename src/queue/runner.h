/* The outbound queue runner: a thread with its own event loop that picks
 * due recipients from the store, delivers them over SMTP, schedules
 * retries, sends delay warnings and bounces, and removes finished messages. */
#ifndef POSTERN_RUNNER_H
#define POSTERN_RUNNER_H

#include <stddef.h>

struct config;
struct committer;
struct queue_runner;

struct queue_runner *queue_runner_new(const struct config *cfg, struct committer *committer,
                                      char *err, size_t errlen);
int queue_runner_start(struct queue_runner *q, char *err, size_t errlen);
/* Thread-safe: look at the queue now (new entries were recorded). */
void queue_runner_wake(void *q);
/* Stops scheduling, lets deliveries in flight finish within the shutdown
 * grace, then aborts the rest (they stay queued) and joins the thread. */
void queue_runner_stop(struct queue_runner *q);
void queue_runner_free(struct queue_runner *q);

#endif
