/* Retry schedule for the outbound queue. */
#ifndef POSTERN_BACKOFF_H
#define POSTERN_BACKOFF_H

#include <stdint.h>

/* Delay before attempt number `attempts + 1`, given `attempts` failed ones
 * (>= 1): min_ms x 1, 5, 15, 30, 60, 120, 240, then doubling, capped at
 * max_ms, with +-10% jitter from rnd (any 32-bit random value) so that a
 * burst of failures does not come back as a burst of retries. */
uint64_t queue_retry_delay_ms(int attempts, uint64_t min_ms, uint64_t max_ms, uint32_t rnd);

#endif
