#include "net/minrate.h"

#include <string.h>

uint64_t minrate_step_ms(const struct minrate *m)
{
	uint64_t step = m->window_ms / MINRATE_SLOTS;
	return step > 0 ? step : 1;
}

void minrate_init(struct minrate *m, uint64_t window_ms, uint64_t min_bytes, uint64_t now)
{
	memset(m, 0, sizeof(*m));
	m->window_ms = window_ms;
	m->min_bytes = min_bytes;
	m->slot_start = now;
}

/* Moves the window up to now: steps that ended are dropped from its far end. */
static void advance(struct minrate *m, uint64_t now)
{
	uint64_t step = minrate_step_ms(m);
	if (now < m->slot_start)
		return;   /* a clock that went back: count into the current step */
	if (now - m->slot_start >= m->window_ms + step) {
		memset(m->slot, 0, sizeof(m->slot));
		m->slot_start = now;
		return;
	}
	while (now - m->slot_start >= step) {
		m->cur = (m->cur + 1) % MINRATE_SLOTS;
		m->slot[m->cur] = 0;
		m->slot_start += step;
	}
}

void minrate_received(struct minrate *m, uint64_t now, size_t n)
{
	advance(m, now);
	m->slot[m->cur] += n;
}

void minrate_owing(struct minrate *m, uint64_t now, bool owing)
{
	if (!owing)
		m->owing_since = 0;
	else if (m->owing_since == 0)
		m->owing_since = now > 0 ? now : 1;
}

uint64_t minrate_window_bytes(struct minrate *m, uint64_t now)
{
	uint64_t sum = 0;
	advance(m, now);
	for (unsigned i = 0; i < MINRATE_SLOTS; i++)
		sum += m->slot[i];
	return sum;
}

bool minrate_too_slow(struct minrate *m, uint64_t now)
{
	if (m->min_bytes == 0 || m->owing_since == 0 || now - m->owing_since < m->window_ms)
		return false;
	/* the whole window lies in time the client owed us: what it sent in it
	 * is what it sent while owing */
	return minrate_window_bytes(m, now) < m->min_bytes;
}
