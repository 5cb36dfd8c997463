#include "net/session.h"

#include <stdio.h>
#include <stdlib.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <openssl/bio.h>

#include "core/log.h"
#include "core/util.h"
#include "net/compress.h"
#include "net/compress_bev.h"
#include "net/listener.h"
#include "net/timeouts.h"
#include "tls/tls.h"

/* Input is not read past this while the protocol is busy (flow control). */
#define NS_READ_HIGHWATER (256 * 1024)
/* Compressed output queued below the compressor before it pauses: the
 * output cap then counts the rest, still to be compressed. */
#define NS_COMPRESSED_QUEUE (64 * 1024)
/* After the last reply, how long a peer that does not read may hold us. */
#define NS_CLOSE_GRACE_MS 10000
/* A lingering close: how long, and how much, a client may still send after
 * the last reply before the socket is closed anyway. */
#define NS_LINGER_MS 2000
#define NS_LINGER_BYTES (1024 * 1024)

static void on_read(struct bufferevent *bev, void *arg);
static void on_write(struct bufferevent *bev, void *arg);
static void on_event(struct bufferevent *bev, short what, void *arg);

const char *net_session_expiry_name(enum ns_expiry why)
{
	switch (why) {
	case NS_EXPIRED_COMMAND: return "command";
	case NS_EXPIRED_IDLE: return "idle";
	case NS_EXPIRED_DATA: return "data";
	case NS_EXPIRED_LOGIN: return "login";
	case NS_EXPIRED_SESSION: return "session";
	case NS_EXPIRED_RATE: return "min_rate";
	case NS_TICK: return "tick";
	}
	return "?";
}

static enum net_timeout timeout_kind(enum ns_expiry why)
{
	switch (why) {
	case NS_EXPIRED_COMMAND: return NET_TIMEOUT_COMMAND;
	case NS_EXPIRED_DATA: return NET_TIMEOUT_DATA;
	case NS_EXPIRED_LOGIN: return NET_TIMEOUT_LOGIN;
	case NS_EXPIRED_SESSION: return NET_TIMEOUT_SESSION;
	case NS_EXPIRED_RATE: return NET_TIMEOUT_MIN_RATE;
	case NS_EXPIRED_IDLE:
	case NS_TICK: break;   /* a protocol closes on a tick for idling too long */
	}
	return NET_TIMEOUT_IDLE;
}

/* A timeout the engine handles itself (no protocol reply is possible):
 * counted and logged with its reason. */
static void log_engine_timeout(struct net_session *ns, enum net_timeout kind)
{
	char event[40];
	net_timeout_count(kind);
	snprintf(event, sizeof(event), "%s.timeout", ns->ops->protocol);
	log_event(LOG_INFO, event, "s", "session", ns->id, "s", "ip", ns->conn.ip,
	          "s", "limit", net_timeout_name(kind), NULL);
}

/* ---- timers ------------------------------------------------------------------ */

static void arm_ms(struct net_session *ns, uint64_t ms)
{
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	/* libevent counts from the time cached when this loop iteration began: a
	 * deadline armed after slow work (a TLS record, a big reply) would fire
	 * that much early, and expiry_now() would take it for an idle timeout */
	event_base_update_cache_time(worker_base(ns->worker));
	evtimer_add(ns->timer, &tv);
}

static uint64_t left_of(uint64_t start, uint64_t span, uint64_t now)
{
	return now - start < span ? span - (now - start) : 0;
}

/* The nearest deadline from now (UINT64_MAX when none applies). */
static uint64_t deadline_left(const struct net_session *ns, uint64_t now)
{
	uint64_t left = UINT64_MAX;
	if (ns->policy->session_ms > 0)
		left = left_of(ns->started_ms, ns->policy->session_ms, now);
	if (!ns->logged_in && ns->policy->login_ms > 0) {
		uint64_t l = left_of(ns->started_ms, ns->policy->login_ms, now);
		if (l < left)
			left = l;
	}
	return left;
}

static uint64_t wait_span(const struct net_session *ns, enum ns_wait what)
{
	switch (what) {
	case NS_WAIT_COMMAND: return ns->logged_in ? ns->policy->idle_ms : ns->policy->command_ms;
	case NS_WAIT_DATA: return ns->policy->data_ms;
	case NS_WAIT_TICK: return ns->tick_ms;
	case NS_WAIT_NOTHING: break;
	}
	return UINT64_MAX;
}

static void watch_rate(struct net_session *ns);

void net_session_wait(struct net_session *ns, enum ns_wait what)
{
	if (ns->phase != NS_OPEN)
		return;   /* the handshake or the closing grace owns the timer */
	ns->waiting = what;
	ns->partial_input = false;
	ns->expiring = 0;
	if (what == NS_WAIT_DATA)
		watch_rate(ns);
	if (what == NS_WAIT_NOTHING) {
		/* the deadlines are checked again when the session waits for the client */
		evtimer_del(ns->timer);
		return;
	}
	uint64_t ms = wait_span(ns, what), dl = deadline_left(ns, now_ms());
	arm_ms(ns, ms < dl ? ms : dl);
}

void net_session_tick(struct net_session *ns, uint64_t period_ms)
{
	ns->tick_ms = period_ms;
	net_session_wait(ns, NS_WAIT_TICK);
}

void net_session_partial_input(struct net_session *ns)
{
	ns->partial_input = true;
	watch_rate(ns);
}

void net_session_logged_in(struct net_session *ns)
{
	ns->logged_in = true;
}

/* How early libevent may call a timer by our clock: it reads a coarse
 * monotonic clock (a few ms a tick). A deadline due within this is reached. */
#define NS_TIMER_SLACK_MS 20

static enum ns_expiry expiry_now(const struct net_session *ns)
{
	uint64_t now = now_ms() + NS_TIMER_SLACK_MS;
	if (ns->policy->session_ms > 0 && now - ns->started_ms >= ns->policy->session_ms)
		return NS_EXPIRED_SESSION;
	if (!ns->logged_in && ns->policy->login_ms > 0 && now - ns->started_ms >= ns->policy->login_ms)
		return NS_EXPIRED_LOGIN;
	switch (ns->waiting) {
	case NS_WAIT_DATA: return NS_EXPIRED_DATA;
	case NS_WAIT_TICK: return NS_TICK;
	default: return ns->logged_in ? NS_EXPIRED_IDLE : NS_EXPIRED_COMMAND;
	}
}

/* The protocol's reply to a timeout closes the session: counted then (a
 * protocol busy with other work may let one pass). */
static void expire(struct net_session *ns, enum ns_expiry why)
{
	ns->expiring = 1 + (int)why;
	ns->ops->expired(ns, why);
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	struct net_session *ns = arg;
	(void)fd;
	(void)what;
	if (ns->phase == NS_LINGERING) {
		net_session_free(ns, "closed");
		return;
	}
	if (ns->phase != NS_OPEN) {
		/* a handshake that stalls, or a client that never reads its last reply */
		log_engine_timeout(ns, ns->phase == NS_HANDSHAKE ? NET_TIMEOUT_HANDSHAKE
		                                                 : NET_TIMEOUT_WRITE);
		net_session_free(ns, "timeout");
		return;
	}
	if (ns->waiting == NS_WAIT_NOTHING)
		return;
	expire(ns, expiry_now(ns));
}

/* ---- the slowloris rule ----------------------------------------------------- */

/* Whether the client owes us octets: it is inside a handshake, a message or
 * literal, or a command line it has begun; not while we hold its input back. */
static bool client_owes(struct net_session *ns)
{
	if (ns->phase == NS_HANDSHAKE)
		return true;
	if (ns->phase != NS_OPEN || ns->output_blocked || ns->bev == NULL)
		return false;
	switch (ns->waiting) {
	case NS_WAIT_DATA: return true;
	case NS_WAIT_COMMAND:
		return ns->partial_input || evbuffer_get_length(net_session_input(ns)) > 0;
	default: return false;
	}
}

static void too_slow(struct net_session *ns)
{
	log_event(LOG_INFO, "net.too_slow", "s", "session", ns->id, "s", "ip", ns->conn.ip,
	          "s", "protocol", ns->ops->protocol,
	          "i", "octets", (long long)minrate_window_bytes(&ns->rate, now_ms()),
	          "i", "min", (long long)ns->rate.min_bytes,
	          "i", "window_ms", (long long)ns->rate.window_ms, NULL);
	if (ns->phase == NS_HANDSHAKE) {
		log_engine_timeout(ns, NET_TIMEOUT_MIN_RATE);   /* nothing can be said mid-handshake */
		net_session_free(ns, "too slow");
		return;
	}
	expire(ns, NS_EXPIRED_RATE);
}

/* One step of the window: judged while the client owes us, then the look
 * stops until input comes again (an idle session costs no timer). */
static void on_rate_check(evutil_socket_t fd, short what, void *arg)
{
	struct net_session *ns = arg;
	uint64_t now = now_ms();
	(void)fd;
	(void)what;
	bool owes = client_owes(ns);
	minrate_owing(&ns->rate, now, owes);
	if (!owes)
		return;
	if (minrate_too_slow(&ns->rate, now)) {
		too_slow(ns);
		return;
	}
	watch_rate(ns);
}

static void watch_rate(struct net_session *ns)
{
	if (ns->rate.min_bytes == 0 || ns->rate_timer == NULL ||
	    evtimer_pending(ns->rate_timer, NULL))
		return;
	uint64_t ms = minrate_step_ms(&ns->rate);
	struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) * 1000 };
	evtimer_add(ns->rate_timer, &tv);
}

static void on_raw_input(struct evbuffer *buf, const struct evbuffer_cb_info *info, void *arg)
{
	(void)buf;
	if (info->n_added > 0)
		minrate_received(&((struct net_session *)arg)->rate, now_ms(), info->n_added);
}

/* Implicit TLS reads the socket inside OpenSSL: its octets, handshake
 * included, are counted where OpenSSL reads them. */
static long on_tls_bio(BIO *b, int oper, const char *argp, size_t len, int argi, long argl,
                       int ret, size_t *processed)
{
	(void)argp;
	(void)len;
	(void)argi;
	(void)argl;
	if (oper == (BIO_CB_READ | BIO_CB_RETURN) && ret > 0 && processed != NULL)
		minrate_received(&((struct net_session *)BIO_get_callback_arg(b))->rate, now_ms(),
		                 *processed);
	return ret;
}

/* Counts every octet the client sends, at the socket: STARTTLS and COMPRESS
 * stack filters above this bufferevent, which stays at the bottom. */
static void count_raw_input(struct net_session *ns)
{
	if (ns->rate.min_bytes == 0)
		return;
	if (ns->svc->tls != SERVICE_TLS_IMPLICIT) {
		evbuffer_add_cb(bufferevent_get_input(ns->bev), on_raw_input, ns);
		return;
	}
	BIO *rbio = SSL_get_rbio(bufferevent_openssl_get_ssl(ns->bev));
	if (rbio != NULL) {
		BIO_set_callback_arg(rbio, (char *)ns);
		BIO_set_callback_ex(rbio, on_tls_bio);
	}
}

/* ---- input and output ---------------------------------------------------------- */

struct evbuffer *net_session_input(struct net_session *ns)
{
	return bufferevent_get_input(ns->bev);
}

struct evbuffer *net_session_output(struct net_session *ns)
{
	return bufferevent_get_output(ns->bev);
}

size_t net_session_output_pending(const struct net_session *ns)
{
	if (ns->bev == NULL)
		return 0;
	size_t n = evbuffer_get_length(bufferevent_get_output(ns->bev));
	if (ns->compress != NULL)
		n += evbuffer_get_length(bufferevent_get_output(bufferevent_get_underlying(ns->bev)));
	return n;
}

void net_session_write(struct net_session *ns, const void *data, size_t len)
{
	if (ns->bev != NULL)
		bufferevent_write(ns->bev, data, len);
}

bool net_session_output_full(struct net_session *ns)
{
	if (net_session_output_pending(ns) <= ns->policy->output_max)
		return false;
	/* a client that pipelines without reading our replies waits until it
	 * does, instead of making us buffer without bound */
	ns->output_blocked = true;
	bufferevent_disable(ns->bev, EV_READ);
	return true;
}

void net_session_pause_input(struct net_session *ns)
{
	bufferevent_disable(ns->bev, EV_READ);
}

/* The one input loop of every protocol. */
void net_session_process_input(struct net_session *ns)
{
	while (ns->phase == NS_OPEN && !ns->output_blocked && !net_session_output_full(ns))
		if (!ns->ops->read(ns))
			return;
}

void net_session_resume_input(struct net_session *ns)
{
	bufferevent_enable(ns->bev, EV_READ);
	net_session_process_input(ns);
}

/* ---- errors and endings ---------------------------------------------------------- */

void net_session_violation(struct net_session *ns, enum ban_reason why)
{
	if (!ns->policy->local_only)
		ban_violation(worker_bans(ns->worker), ns->conn.ip, why);
}

void net_session_login_refused(void *session)
{
	net_session_violation(session, BAN_LOGIN_BLOCKED);
}

bool net_session_error(struct net_session *ns)
{
	ns->errors++;
	if (++ns->errors_in_row < ns->policy->errors)
		return false;
	char event[32];
	snprintf(event, sizeof(event), "%s.too_many_errors", ns->ops->protocol);
	log_event(LOG_WARN, event, "s", "session", ns->id, "s", "ip", ns->conn.ip,
	          "i", "errors", (long long)ns->errors_in_row, NULL);
	net_session_violation(ns, BAN_PROTOCOL_ERRORS);
	return true;
}

void net_session_good_command(struct net_session *ns)
{
	ns->errors_in_row = 0;
}

void net_session_close(struct net_session *ns)
{
	if (ns->expiring > 0 && ns->phase == NS_OPEN) {
		enum ns_expiry why = (enum ns_expiry)(ns->expiring - 1);
		net_timeout_count(timeout_kind(why));
		if (why == NS_EXPIRED_LOGIN)
			net_session_violation(ns, BAN_LOGIN_DEADLINE);
	}
	ns->expiring = 0;
	ns->phase = NS_CLOSING;
	if (ns->compress != NULL)
		compress_bev_flush(ns->compress);
	if (ns->bev != NULL)
		bufferevent_disable(ns->bev, EV_READ);
	arm_ms(ns, NS_CLOSE_GRACE_MS);
}

void net_session_free(struct net_session *ns, const char *reason)
{
	if (ns->end_reason == NULL)
		ns->end_reason = reason;
	if (ns->compress != NULL) {
		compress_bev_detach(ns->compress);
		ns->compress = NULL;
	}
	if (ns->bev != NULL) {
		bufferevent_free(ns->bev);
		ns->bev = NULL;
	}
	if (ns->rate_timer != NULL)
		evtimer_del(ns->rate_timer);
	if (ns->pending_ops > 0) {
		/* another thread still uses the session's buffers: finish on its callback */
		ns->zombie = true;
		return;
	}
	if (!ns->released)
		ns->ops->release(ns);
	if (ns->timer != NULL)
		event_free(ns->timer);
	if (ns->rate_timer != NULL)
		event_free(ns->rate_timer);
	conn_unregister(&ns->conn);
	free(ns);
}

void net_session_op_begin(struct net_session *ns)
{
	ns->pending_ops++;
}

bool net_session_op_end(struct net_session *ns)
{
	ns->pending_ops--;
	if (ns->zombie) {
		if (ns->pending_ops == 0)
			net_session_free(ns, NULL);
		return false;
	}
	return true;
}

void net_session_hold(void *session)
{
	net_session_op_begin(session);
}

bool net_session_release(void *session)
{
	return net_session_op_end(session);
}

/* ---- TLS ------------------------------------------------------------------------------ */

SSL *net_session_ssl(const struct net_session *ns)
{
	if (!ns->tls || ns->bev == NULL)
		return NULL;
	/* under the compressor, when there is one */
	struct bufferevent *b = ns->compress ? bufferevent_get_underlying(ns->bev) : ns->bev;
	return bufferevent_openssl_get_ssl(b);
}

void net_session_starttls(struct net_session *ns)
{
	size_t injected = tls_bev_starttls_prepare(ns->bev);
	if (injected > 0) {
		char event[40];
		snprintf(event, sizeof(event), "%s.starttls_injection", ns->ops->protocol);
		log_event(LOG_WARN, event, "s", "session", ns->id, "s", "ip", ns->conn.ip,
		          "i", "discarded", (long long)injected, NULL);
	}
	ns->phase = NS_STARTTLS;
}

static void start_handshake(struct net_session *ns)
{
	struct bufferevent *tls = tls_bev_starttls(worker_base(ns->worker), ns->bev);
	if (tls == NULL) {
		net_session_free(ns, "tls failed");
		return;
	}
	ns->bev = tls;
	ns->phase = NS_HANDSHAKE;
	tls_bev_start(tls, on_read, on_write, on_event, ns, NS_READ_HIGHWATER);
	arm_ms(ns, ns->policy->command_ms);
	watch_rate(ns);
}

static void handshake_done(struct net_session *ns)
{
	char desc[160];
	bool implicit = ns->svc->tls == SERVICE_TLS_IMPLICIT;
	ns->tls = true;
	ns->phase = NS_OPEN;
	tls_describe(bufferevent_openssl_get_ssl(ns->bev), desc, sizeof(desc));
	log_event(LOG_INFO, "tls.established", "s", "session", ns->id, "s", "ip", ns->conn.ip,
	          "s", "tls", desc, "s", "protocol", ns->ops->protocol, NULL);
	net_session_wait(ns, NS_WAIT_COMMAND);
	if (implicit)
		ns->ops->start(ns);
	else
		ns->ops->tls_ready(ns);
}

/* ---- compression ----------------------------------------------------------------------- */

static void on_compress_failed(void *arg, const char *why)
{
	struct net_session *ns = arg;
	char event[40];
	snprintf(event, sizeof(event), "%s.compress_error", ns->ops->protocol);
	log_event(LOG_WARN, event, "s", "session", ns->id, "s", "ip", ns->conn.ip,
	          "s", "error", why, NULL);
	net_session_free(ns, "compression error");
}

static size_t compress_budget(const struct net_session *ns, size_t mem_limit)
{
	return mem_limit > ns->policy->output_max ? mem_limit - ns->policy->output_max : 0;
}

bool net_session_compress_fits(const struct net_session *ns, size_t mem_limit)
{
	return compress_memory_needed() <= compress_budget(ns, mem_limit);
}

int net_session_compress(struct net_session *ns, size_t mem_limit)
{
	if (ns->compress != NULL || ns->bev == NULL)
		return -1;
	struct compress_bev_params p = {
		.mem_limit = compress_budget(ns, mem_limit),
		.read_max = NS_READ_HIGHWATER,
		.write_max = NS_COMPRESSED_QUEUE,
		.failed = on_compress_failed,
		.arg = ns,
	};
	struct bufferevent *under = ns->bev;
	struct bufferevent *bev = compress_bev_new(under, &p, &ns->compress);
	if (bev == NULL)
		return -1;
	ns->bev = bev;
	tls_bev_start(bev, on_read, on_write, on_event, ns, NS_READ_HIGHWATER);
	/* what the client sent after the command is compressed already and
	 * waits below: inflate it without waiting for more */
	if (evbuffer_get_length(bufferevent_get_input(under)) > 0)
		bufferevent_trigger(under, EV_READ, BEV_TRIG_IGNORE_WATERMARKS | BEV_TRIG_DEFER_CALLBACKS);
	char event[40];
	snprintf(event, sizeof(event), "%s.compress", ns->ops->protocol);
	log_event(LOG_DEBUG, event, "s", "session", ns->id, "s", "ip", ns->conn.ip,
	          "i", "memory", (long long)compress_bev_memory(ns->compress), NULL);
	return 0;
}

/* ---- bufferevent callbacks --------------------------------------------------------- */

static void on_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	watch_rate(arg);   /* a line begun is judged from the next step */
	net_session_process_input(arg);
}

static void on_linger_read(struct bufferevent *bev, void *arg)
{
	struct net_session *ns = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	ns->lingered += evbuffer_get_length(in);
	evbuffer_drain(in, evbuffer_get_length(in));
	if (ns->lingered > NS_LINGER_BYTES)
		arm_ms(ns, 0);
}

static void on_linger_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	arm_ms(arg, 0);   /* the client closed too (or failed): free from the loop */
}

/* The last reply is written. Closing the socket now, with octets of the
 * client's still unread (the rest of a refused literal or message, commands
 * it pipelined), makes the kernel send a reset, which can destroy that reply
 * before the client reads it. So: stop sending (FIN), drop what still comes
 * for a moment, then close: a lingering close. */
static void linger(struct net_session *ns)
{
	evutil_socket_t fd = bufferevent_getfd(ns->bev);
	ns->phase = NS_LINGERING;
	/* the session is over for its protocol: a lock, a mailbox index, a
	 * per-user count must not wait for the client to hang up */
	if (ns->pending_ops == 0) {
		if (ns->end_reason == NULL)
			ns->end_reason = "closed";
		ns->ops->release(ns);
		ns->released = true;
	}
	if (fd < 0 || shutdown(fd, SHUT_WR) < 0) {
		arm_ms(ns, 0);
		return;
	}
	bufferevent_setcb(ns->bev, on_linger_read, NULL, on_linger_event, ns);
	bufferevent_enable(ns->bev, EV_READ);
	on_linger_read(ns->bev, ns);
	if (ns->lingered <= NS_LINGER_BYTES)
		arm_ms(ns, NS_LINGER_MS);
}

static void close_soon(void *arg)
{
	linger(arg);   /* from the loop's flush callback, not from inside a buffer callback */
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct net_session *ns = arg;
	if (evbuffer_get_length(bufferevent_get_output(bev)) > 0)
		return;
	switch (ns->phase) {
	case NS_CLOSING:
		/* what deflate holds, and below: over STARTTLS or COMPRESS the last
		 * octets may still wait under a filter */
		if (ns->compress != NULL)
			compress_bev_flush(ns->compress);
		ns->flush.drained = close_soon;
		ns->flush.arg = ns;
		if (!tls_bev_flush_pending(bev, &ns->flush))
			linger(ns);
		return;
	case NS_LINGERING:
		return;
	case NS_STARTTLS:
		start_handshake(ns);
		return;
	case NS_HANDSHAKE:
		return;
	case NS_OPEN:
		break;
	}
	if (ns->ops->output_drained != NULL && ns->ops->output_drained(ns))
		return;
	if (ns->output_blocked) {
		ns->output_blocked = false;
		net_session_resume_input(ns);
	}
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	struct net_session *ns = arg;
	(void)bev;
	if (what & BEV_EVENT_CONNECTED) {
		if (ns->phase == NS_HANDSHAKE)
			handshake_done(ns);
		return;
	}
	if (ns->phase == NS_HANDSHAKE) {
		tls_bev_log_failure(ns->bev, ns->ops->protocol, ns->id, ns->conn.ip);
	} else if (what & BEV_EVENT_TIMEOUT) {
		/* the only timeout set on the bufferevent: replies not read */
		char event[40];
		net_timeout_count(NET_TIMEOUT_WRITE);
		snprintf(event, sizeof(event), "%s.write_timeout", ns->ops->protocol);
		log_event(LOG_INFO, event, "s", "session", ns->id, "s", "ip", ns->conn.ip,
		          "i", "pending", (long long)net_session_output_pending(ns), NULL);
	}
	net_session_free(ns, (what & BEV_EVENT_TIMEOUT) ? "timeout" : "disconnected");
}

/* ---- lifecycle --------------------------------------------------------------------- */

static void on_server_drain(struct conn *c)
{
	struct net_session *ns = (struct net_session *)c;
	ns->draining = true;
	if (ns->phase == NS_STARTTLS || ns->phase == NS_HANDSHAKE)
		net_session_free(ns, "shutdown");
	else if (ns->phase == NS_OPEN)
		ns->ops->drain(ns);
}

static void on_server_force_close(struct conn *c)
{
	net_session_free((struct net_session *)c, "shutdown");
}

void net_session_accept(struct worker *w, const struct service *svc, evutil_socket_t fd,
                        const struct sockaddr *peer, const char *ip)
{
	const struct config *cfg = worker_config(w);
	struct net_session *ns = xcalloc(1, svc->ops->size);
	ns->svc = svc;
	ns->ops = svc->ops;
	ns->policy = &cfg->policy[svc->id];
	ns->worker = w;
	ns->cfg = cfg;
	ns->started_ms = now_ms();
	random_id(ns->id, 12);
	conn_register(w, &ns->conn, svc->id, ip, sockaddr_port(peer));
	ns->conn.drain = on_server_drain;
	ns->conn.force_close = on_server_force_close;
	ns->timer = evtimer_new(worker_base(w), on_timer, ns);
	ns->rate_timer = evtimer_new(worker_base(w), on_rate_check, ns);
	minrate_init(&ns->rate, ns->policy->min_rate_window_ms, ns->policy->min_bytes, ns->started_ms);
	ns->bev = tls_bev_session(worker_base(w), fd, svc->tls == SERVICE_TLS_IMPLICIT,
	                          ns->policy->write_ms);
	if (ns->ops->open != NULL)
		ns->ops->open(ns);
	if (ns->bev == NULL || ns->timer == NULL || ns->rate_timer == NULL) {
		net_session_free(ns, "no resources");
		return;
	}
	count_raw_input(ns);
	tls_bev_start(ns->bev, on_read, on_write, on_event, ns, NS_READ_HIGHWATER);
	char event[32];
	snprintf(event, sizeof(event), "%s.connect", ns->ops->protocol);
	log_event(LOG_DEBUG, event, "s", "session", ns->id, "s", "ip", ip,
	          "i", "port", (long long)ns->conn.port, "s", "service", service_name(svc), NULL);
	if (svc->tls == SERVICE_TLS_IMPLICIT) {
		/* RFC 8314 3.3: TLS first; the greeting follows the handshake */
		ns->phase = NS_HANDSHAKE;
		arm_ms(ns, ns->policy->command_ms);
		watch_rate(ns);
		return;
	}
	net_session_wait(ns, NS_WAIT_COMMAND);
	ns->ops->start(ns);
}
