/* The slowloris rule's arithmetic: octets a client sent over a sliding
 * window, and whether one that owes us input has been too slow about it.
 * Pure: the session engine feeds it the clock, the octets it reads off the
 * socket, and whether the client owes us any (src/net/session.c). */
#ifndef POSTERN_NET_MINRATE_H
#define POSTERN_NET_MINRATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The window slides in steps of window/MINRATE_SLOTS (5 s of a minute). */
#define MINRATE_SLOTS 12

struct minrate {
	uint64_t window_ms;
	uint64_t min_bytes;             /* 0: no rule */
	uint64_t slot[MINRATE_SLOTS];   /* octets received in each step */
	uint64_t slot_start;            /* when slot[cur] began */
	unsigned cur;
	uint64_t owing_since;           /* 0: the client owes us nothing */
};

void minrate_init(struct minrate *m, uint64_t window_ms, uint64_t min_bytes, uint64_t now);
/* n octets arrived from the client. */
void minrate_received(struct minrate *m, uint64_t now, size_t n);
/* Whether the client now owes us octets (inside a command line, a literal,
 * a message, a handshake): the rule only judges time spent owing. */
void minrate_owing(struct minrate *m, uint64_t now, bool owing);
/* True when the client has owed us octets for a whole window and sent fewer
 * than min_bytes in it. */
bool minrate_too_slow(struct minrate *m, uint64_t now);
/* Octets received in the window that ends now. */
uint64_t minrate_window_bytes(struct minrate *m, uint64_t now);
/* How often the engine looks: one step. */
uint64_t minrate_step_ms(const struct minrate *m);

#endif
