#include "queue/backoff.h"

uint64_t queue_retry_delay_ms(int attempts, uint64_t min_ms, uint64_t max_ms, uint32_t rnd)
{
	/* with min 1m: 1m, 5m, 15m, 30m, 1h, 2h, 4h, 8h ... (RFC 5321 4.5.4.1: at least 30m
	 * between retries is suggested; the first quick ones catch greylisting) */
	static const uint64_t steps[] = { 1, 5, 15, 30, 60, 120, 240 };
	const int nsteps = (int)(sizeof(steps) / sizeof(steps[0]));
	uint64_t mult;
	if (attempts < 1)
		attempts = 1;
	if (attempts <= nsteps) {
		mult = steps[attempts - 1];
	} else {
		mult = steps[nsteps - 1];
		for (int i = nsteps; i < attempts && mult < UINT64_MAX / 4; i++)
			mult *= 2;
	}
	uint64_t delay = (min_ms > 0 && mult > max_ms / min_ms) ? max_ms : min_ms * mult;
	if (delay > max_ms)
		delay = max_ms;
	/* jitter in [-10%, +10%) */
	uint64_t span = delay / 5;
	/* span < 2^32 ms (7 days max_retry) so the product fits */
	uint64_t jitter = ((uint64_t)rnd * (span & 0xffffffffu)) >> 32;
	return delay - delay / 10 + jitter;
}
