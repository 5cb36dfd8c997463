/* bench/smtp_load.c - loopback SMTP load generator for bench/smtp_accept.
 *
 * Plain C17 + POSIX threads, no other dependency:
 *   cc -O2 -pthread -o smtp_load bench/smtp_load.c
 *
 * Load mode: C client threads send M messages between them. Each message is one
 * SMTP transaction (EHLO once per connection, MAIL, RCPT, DATA, body, "."); by
 * default every message gets its own connection and ends with QUIT, as Postfix's
 * smtp-source does; -r keeps one session per thread and sends RSET between
 * messages. The latency measured is the DATA reply: from sending the final
 * "." to reading the server's reply, which is the time the server takes to make
 * the message durable. One JSON line goes to stdout:
 *   {"sent":..,"accepted":..,"failed":..,"seconds":..,"msg_per_s":..,
 *    "p50_ms":..,"p99_ms":..,"max_ms":..,...}
 * sent = transactions started, accepted = 250 replies to the final ".",
 * failed = sent - accepted (refused, timed out, connection errors).
 *
 * Idle mode (-i N): opens N connections one after another (greeting + EHLO),
 * prints {"open":..,"errors":..,"open_s":..}, holds them until SIGTERM, SIGINT
 * or SIGUSR1 (or the -T deadline), then sends QUIT on each, closes them and
 * prints {"alive_after_hold":..}.
 *
 * Bounds: the target must be on 127.0.0.0/8 or ::1; every socket operation has
 * a timeout (-o) and the whole run ends by the -T deadline whatever the server
 * does.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define MAX_THREADS 2000
#define MAX_REPLY_LINE 1024       /* longer reply lines are an error */
#define ERRORS_SHOWN 10           /* first errors printed on stderr */

struct options {
	const char *target;
	struct sockaddr_storage addr;
	socklen_t addrlen;
	int conc;
	long total;
	long body_bytes;
	const char *rcpt;         /* may contain one %d, replaced by 1..users */
	int users;
	const char *from;
	const char *file;         /* -F: send this message (CRLF lines) instead of building one */
	const char *helo;
	bool reuse;
	double deadline_s;
	double op_timeout_s;
	long idle;
};

static struct options opt = {
	.conc = 1, .total = 100, .body_bytes = 4096, .rcpt = "bench1@bench.test", .users = 1,
	.from = "bench-src@localhost", .helo = "smtp-load.localhost", .deadline_s = 120,
	.op_timeout_s = 30,
};

static double t_end;              /* CLOCK_MONOTONIC seconds: hard end of the run */
static char *message;             /* headers + dot-stuffed body, CRLF lines, no final "." */
static size_t message_len;
static double *latency_ms;        /* one slot per accepted message */
static atomic_long next_msg, n_accepted, n_failed, n_connects, n_errors;
static atomic_bool deadline_hit;
static pthread_mutex_t err_mu = PTHREAD_MUTEX_INITIALIZER;
static char first_error[256];

struct conn {
	int fd;
	size_t len;               /* bytes in buf */
	char buf[4096];
};

/* ---- helpers ------------------------------------------------------------ */

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void usage(void)
{
	fprintf(stderr,
	        "usage: smtp_load -s HOST:PORT [-c CONC] [-m MSGS] [-l BODY_BYTES] [-t RCPT]\n"
	        "                 [-u USERS] [-f FROM] [-F MESSAGE_FILE] [-r] [-T DEADLINE_S]\n"
	        "                 [-o OP_TIMEOUT_S]\n"
	        "       smtp_load -s HOST:PORT -i IDLE_CONNS [-T DEADLINE_S]\n"
	        "  HOST must be 127.0.0.0/8 or ::1 ([::1]:PORT). RCPT may hold one %%d, which\n"
	        "  becomes 1..USERS, spreading messages over USERS mailboxes. -F sends the file's\n"
	        "  message (CRLF lines) instead of a built one of BODY_BYTES.\n");
	exit(2);
}

static void record_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void record_error(const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	long n = atomic_fetch_add(&n_errors, 1);
	pthread_mutex_lock(&err_mu);
	if (first_error[0] == '\0')
		snprintf(first_error, sizeof(first_error), "%s", msg);
	pthread_mutex_unlock(&err_mu);
	if (n < ERRORS_SHOWN)
		fprintf(stderr, "smtp_load: %s\n", msg);
	else if (n == ERRORS_SHOWN)
		fprintf(stderr, "smtp_load: further errors not shown\n");
}

/* Only loopback targets: this tool must never load a remote host. */
static int parse_target(const char *text, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon;
	memset(ss, 0, sizeof(*ss));
	if (text[0] == '[') {
		const char *end = strchr(text, ']');
		if (end == NULL || end[1] != ':' || (size_t)(end - text - 1) >= sizeof(host))
			return -1;
		memcpy(host, text + 1, (size_t)(end - text - 1));
		host[end - text - 1] = '\0';
		colon = end + 1;
	} else {
		colon = strrchr(text, ':');
		if (colon == NULL || (size_t)(colon - text) >= sizeof(host))
			return -1;
		memcpy(host, text, (size_t)(colon - text));
		host[colon - text] = '\0';
	}
	char *e;
	long port = strtol(colon + 1, &e, 10);
	if (colon[1] == '\0' || *e != '\0' || port < 1 || port > 65535)
		return -1;
	if (strcmp(host, "localhost") == 0)
		snprintf(host, sizeof(host), "127.0.0.1");
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, host, &s4->sin_addr) == 1) {
		if ((ntohl(s4->sin_addr.s_addr) >> 24) != 127)
			return -1;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		*len = sizeof(*s4);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &s6->sin6_addr) == 1) {
		if (!IN6_IS_ADDR_LOOPBACK(&s6->sin6_addr))
			return -1;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		*len = sizeof(*s6);
		return 0;
	}
	return -1;
}

/* Headers + a body of exactly body_bytes octets (CRLF lines of at most 80
 * octets), dot-stuffed for the wire (RFC 5321 4.5.2). Every 16th line starts
 * with "." so the server's un-stuffing is exercised too. */
static void build_message(void)
{
	size_t cap = (size_t)opt.body_bytes * 2 + 1024;
	char *m = malloc(cap);
	if (m == NULL) {
		perror("malloc");
		exit(1);
	}
	int n = snprintf(m, cap,
	                 "From: <%s>\r\nTo: undisclosed-recipients:;\r\n"
	                 "Subject: smtp_load benchmark message\r\n"
	                 "Date: Thu, 01 Jan 2026 00:00:00 +0000\r\n"
	                 "Message-ID: <smtp-load@localhost>\r\n\r\n", opt.from);
	size_t len = (size_t)n;
	static const char alphabet[] = "abcdefghijklmnopqrstuvwxyz0123456789 ";
	long left = opt.body_bytes, line = 0;
	while (left >= 2) {
		long content = left - 2 < 78 ? left - 2 : 78;
		for (long i = 0; i < content; i++) {
			char ch = (i == 0 && line % 16 == 15) ? '.' : alphabet[(line + i) % 37];
			if (i == 0 && ch == '.')
				m[len++] = '.';   /* stuffing: not counted in body_bytes */
			m[len++] = ch;
		}
		m[len++] = '\r';
		m[len++] = '\n';
		left -= content + 2;
		line++;
	}
	message = m;
	message_len = len;
}

/* -F FILE: the message as a file holds it (a DKIM-signed one, say),
 * dot-stuffed for the wire, its last line ended. */
static void load_message_file(void)
{
	FILE *f = fopen(opt.file, "rb");
	if (f == NULL) {
		perror(opt.file);
		exit(2);
	}
	size_t cap = 1 << 16, len = 0;
	char *m = malloc(cap * 2 + 4), line[8192];
	bool sol = true;
	while (m != NULL && fgets(line, sizeof(line), f) != NULL) {
		size_t n = strlen(line);
		if (len + 2 * n + 4 > cap * 2) {
			cap = cap * 2 + n;
			m = realloc(m, cap * 2 + 4);
			if (m == NULL)
				break;
		}
		if (sol && line[0] == '.')
			m[len++] = '.';
		memcpy(m + len, line, n);
		len += n;
		sol = line[n - 1] == '\n';
	}
	fclose(f);
	if (m == NULL) {
		perror("malloc");
		exit(1);
	}
	if (len > 0 && !sol) {
		m[len++] = '\r';
		m[len++] = '\n';
	}
	message = m;
	message_len = len;
}

/* ---- socket I/O with deadlines ------------------------------------------ */

static double op_deadline(void)
{
	double d = now_s() + opt.op_timeout_s;
	return d < t_end ? d : t_end;
}

/* 0 when fd is ready for events before deadline, -1 on timeout (errno=ETIMEDOUT). */
static int wait_fd(int fd, short events, double deadline)
{
	for (;;) {
		double left = deadline - now_s();
		if (left <= 0) {
			errno = ETIMEDOUT;
			return -1;
		}
		struct pollfd p = { .fd = fd, .events = events };
		int r = poll(&p, 1, (int)(left * 1000) + 1);
		if (r > 0)
			return 0;
		if (r < 0 && errno != EINTR)
			return -1;
	}
}

static void conn_close(struct conn *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->len = 0;
}

static int conn_open(struct conn *c)
{
	c->len = 0;
	c->fd = socket(opt.addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		record_error("socket: %s", strerror(errno));
		return -1;
	}
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	atomic_fetch_add(&n_connects, 1);
	if (connect(c->fd, (struct sockaddr *)&opt.addr, opt.addrlen) < 0) {
		if (errno != EINPROGRESS) {
			record_error("connect: %s", strerror(errno));
			conn_close(c);
			return -1;
		}
		int err = 0;
		socklen_t el = sizeof(err);
		if (wait_fd(c->fd, POLLOUT, op_deadline()) < 0 ||
		    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &el) < 0 || err != 0) {
			record_error("connect: %s", strerror(err ? err : errno));
			conn_close(c);
			return -1;
		}
	}
	return 0;
}

static int send_all(struct conn *c, const char *p, size_t len)
{
	double deadline = op_deadline();
	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n > 0) {
			p += n;
			len -= (size_t)n;
		} else if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			if (wait_fd(c->fd, POLLOUT, deadline) < 0)
				return -1;
		} else {
			return -1;
		}
	}
	return 0;
}

/* Reads one (possibly multi-line) reply; returns its code, or -1 with errno set.
 * The last line goes to text. */
static int read_reply(struct conn *c, char *text, size_t textlen, double deadline)
{
	for (;;) {
		char *nl;
		while ((nl = memchr(c->buf, '\n', c->len)) != NULL) {
			size_t ll = (size_t)(nl - c->buf) + 1;
			char line[MAX_REPLY_LINE];
			size_t keep = ll < sizeof(line) ? ll : sizeof(line) - 1;
			memcpy(line, c->buf, keep);
			line[keep] = '\0';
			memmove(c->buf, c->buf + ll, c->len - ll);
			c->len -= ll;
			if (ll < 4 || line[0] < '2' || line[0] > '5' || line[1] < '0' || line[1] > '9' ||
			    line[2] < '0' || line[2] > '9') {
				errno = EPROTO;
				return -1;
			}
			if (line[3] == '-')
				continue;
			line[strcspn(line, "\r\n")] = '\0';
			snprintf(text, textlen, "%s", line);
			return (line[0] - '0') * 100 + (line[1] - '0') * 10 + (line[2] - '0');
		}
		if (c->len == sizeof(c->buf)) {
			errno = EMSGSIZE;
			return -1;
		}
		ssize_t n = recv(c->fd, c->buf + c->len, sizeof(c->buf) - c->len, 0);
		if (n > 0) {
			c->len += (size_t)n;
		} else if (n == 0) {
			errno = ECONNRESET;
			return -1;
		} else if (errno == EAGAIN || errno == EINTR) {
			if (wait_fd(c->fd, POLLIN, deadline) < 0)
				return -1;
		} else {
			return -1;
		}
	}
}

/* Sends cmd (may be NULL: just read), reads the reply; 0 when its first digit is
 * want_class, else records an error and returns -1. */
static int step(struct conn *c, const char *what, const char *cmd, int want_class)
{
	char text[MAX_REPLY_LINE];
	if (cmd != NULL && send_all(c, cmd, strlen(cmd)) < 0) {
		record_error("%s: send: %s", what, strerror(errno));
		return -1;
	}
	int code = read_reply(c, text, sizeof(text), op_deadline());
	if (code < 0) {
		if (errno == ETIMEDOUT && now_s() >= t_end)
			atomic_store(&deadline_hit, true);
		record_error("%s: %s", what, strerror(errno));
		return -1;
	}
	if (code / 100 != want_class) {
		record_error("%s: %s", what, text);
		return -1;
	}
	return 0;
}

static int session_start(struct conn *c)
{
	char cmd[300];
	if (conn_open(c) < 0)
		return -1;
	snprintf(cmd, sizeof(cmd), "EHLO %s\r\n", opt.helo);
	if (step(c, "greeting", NULL, 2) < 0 || step(c, "EHLO", cmd, 2) < 0) {
		conn_close(c);
		return -1;
	}
	return 0;
}

static void rcpt_for(long msg, char *out, size_t outlen)
{
	const char *pct = strstr(opt.rcpt, "%d");
	if (pct == NULL) {
		snprintf(out, outlen, "%s", opt.rcpt);
		return;
	}
	snprintf(out, outlen, "%.*s%ld%s", (int)(pct - opt.rcpt), opt.rcpt,
	         msg % opt.users + 1, pct + 2);
}

/* One transaction on an open session; 0 when the message was accepted. */
static int send_message(struct conn *c, long msg)
{
	char cmd[600], rcpt[512], text[MAX_REPLY_LINE];
	snprintf(cmd, sizeof(cmd), "MAIL FROM:<%s>\r\n", opt.from);
	if (step(c, "MAIL", cmd, 2) < 0)
		return -1;
	rcpt_for(msg, rcpt, sizeof(rcpt));
	snprintf(cmd, sizeof(cmd), "RCPT TO:<%s>\r\n", rcpt);
	if (step(c, "RCPT", cmd, 2) < 0 || step(c, "DATA", "DATA\r\n", 3) < 0)
		return -1;
	if (send_all(c, message, message_len) < 0) {
		record_error("DATA body: send: %s", strerror(errno));
		return -1;
	}
	double t0 = now_s();
	if (send_all(c, ".\r\n", 3) < 0) {
		record_error("DATA end: send: %s", strerror(errno));
		return -1;
	}
	int code = read_reply(c, text, sizeof(text), op_deadline());
	double t1 = now_s();
	if (code < 0) {
		if (errno == ETIMEDOUT && now_s() >= t_end)
			atomic_store(&deadline_hit, true);
		record_error("DATA reply: %s", strerror(errno));
		return -1;
	}
	if (code != 250) {
		record_error("DATA reply: %s", text);
		return -1;
	}
	long slot = atomic_fetch_add(&n_accepted, 1);
	latency_ms[slot] = (t1 - t0) * 1000.0;
	return 0;
}

static void *client_thread(void *arg)
{
	(void)arg;
	struct conn *c = calloc(1, sizeof(*c));
	if (c == NULL)
		return NULL;
	c->fd = -1;
	for (;;) {
		if (now_s() >= t_end) {
			atomic_store(&deadline_hit, true);
			break;
		}
		long msg = atomic_fetch_add(&next_msg, 1);
		if (msg >= opt.total)
			break;
		int ok = (c->fd >= 0 || session_start(c) == 0) && send_message(c, msg) == 0;
		if (!ok) {
			atomic_fetch_add(&n_failed, 1);
			conn_close(c);    /* a fresh session for the next message */
		} else if (opt.reuse) {
			if (step(c, "RSET", "RSET\r\n", 2) < 0)
				conn_close(c);
		} else {
			/* the message is already accepted: QUIT problems are not failures */
			char text[MAX_REPLY_LINE];
			if (send_all(c, "QUIT\r\n", 6) == 0)
				(void)read_reply(c, text, sizeof(text), op_deadline());
			conn_close(c);
		}
	}
	if (c->fd >= 0) {
		char text[MAX_REPLY_LINE];
		if (send_all(c, "QUIT\r\n", 6) == 0)
			(void)read_reply(c, text, sizeof(text), op_deadline());
		conn_close(c);
	}
	free(c);
	return NULL;
}

/* ---- results ------------------------------------------------------------ */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* nearest-rank percentile of a sorted array */
static double percentile(const double *v, long n, double p)
{
	if (n == 0)
		return 0;
	double exact = p / 100.0 * (double)n;
	long rank = (long)exact;
	if ((double)rank < exact)
		rank++;
	if (rank < 1)
		rank = 1;
	return v[rank - 1];
}

static void json_string(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static int run_load(void)
{
	latency_ms = calloc((size_t)opt.total, sizeof(double));
	pthread_t *tids = calloc((size_t)opt.conc, sizeof(pthread_t));
	if (latency_ms == NULL || tids == NULL) {
		perror("calloc");
		return 1;
	}
	if (opt.file != NULL)
		load_message_file();
	else
		build_message();
	double t0 = now_s();
	t_end = t0 + opt.deadline_s;
	int started = 0;
	for (int i = 0; i < opt.conc; i++) {
		pthread_attr_t at;
		pthread_attr_init(&at);
		pthread_attr_setstacksize(&at, 256 * 1024);
		if (pthread_create(&tids[i], &at, client_thread, NULL) != 0) {
			record_error("pthread_create failed after %d threads", i);
			pthread_attr_destroy(&at);
			break;
		}
		pthread_attr_destroy(&at);
		started++;
	}
	for (int i = 0; i < started; i++)
		pthread_join(tids[i], NULL);
	double secs = now_s() - t0;

	long accepted = atomic_load(&n_accepted), failed = atomic_load(&n_failed);
	long sent = accepted + failed;
	qsort(latency_ms, (size_t)accepted, sizeof(double), cmp_double);
	printf("{\"mode\":\"load\",\"target\":");
	json_string(opt.target);
	printf(",\"clients\":%d,\"reuse\":%d,\"body_bytes\":%ld,\"sent\":%ld,\"accepted\":%ld,"
	       "\"failed\":%ld,\"seconds\":%.3f,\"msg_per_s\":%.1f,\"p50_ms\":%.2f,"
	       "\"p99_ms\":%.2f,\"max_ms\":%.2f,\"connects\":%ld,\"errors\":%ld,"
	       "\"deadline_hit\":%d,\"first_error\":",
	       started, opt.reuse ? 1 : 0, opt.body_bytes, sent, accepted, failed, secs,
	       secs > 0 ? (double)accepted / secs : 0.0, percentile(latency_ms, accepted, 50),
	       percentile(latency_ms, accepted, 99),
	       accepted ? latency_ms[accepted - 1] : 0.0, atomic_load(&n_connects),
	       atomic_load(&n_errors), atomic_load(&deadline_hit) ? 1 : 0);
	json_string(first_error);
	printf("}\n");
	free(tids);
	free(latency_ms);
	free(message);
	return accepted == opt.total ? 0 : 1;
}

/* Idle mode: the server's memory per open session is measured around this. */
static int run_idle(void)
{
	struct conn *conns = calloc((size_t)opt.idle, sizeof(*conns));
	if (conns == NULL) {
		perror("calloc");
		return 1;
	}
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGUSR1);
	sigprocmask(SIG_BLOCK, &set, NULL);   /* taken with sigtimedwait below */

	double t0 = now_s();
	t_end = t0 + opt.deadline_s;
	long open = 0, errors = 0;
	for (long i = 0; i < opt.idle && now_s() < t_end && errors <= 20; i++) {
		if (session_start(&conns[open]) == 0)
			open++;
		else
			errors++;
	}
	double open_s = now_s() - t0;
	printf("{\"mode\":\"idle\",\"open\":%ld,\"errors\":%ld,\"open_s\":%.2f,\"first_error\":",
	       open, errors, open_s);
	json_string(first_error);
	printf("}\n");
	fflush(stdout);

	for (;;) {
		double left = t_end - now_s();
		if (left <= 0)
			break;
		struct timespec ts = { (time_t)left, (long)((left - (double)(time_t)left) * 1e9) };
		int sig = sigtimedwait(&set, NULL, &ts);
		if (sig > 0 || (sig < 0 && errno != EINTR))
			break;
	}

	/* a session the server closed meanwhile reads EOF (or an error) */
	long alive = 0;
	for (long i = 0; i < open; i++) {
		char b;
		ssize_t n = recv(conns[i].fd, &b, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)))
			alive++;
	}
	for (long i = 0; i < open; i++)
		(void)send(conns[i].fd, "QUIT\r\n", 6, MSG_NOSIGNAL | MSG_DONTWAIT);
	for (long i = 0; i < open; i++)
		conn_close(&conns[i]);
	printf("{\"mode\":\"idle_done\",\"alive_after_hold\":%ld,\"held_s\":%.2f}\n", alive,
	       now_s() - t0 - open_s);
	free(conns);
	return errors == 0 ? 0 : 1;
}

static long parse_long(const char *s, long min, long max)
{
	char *e;
	errno = 0;
	long v = strtol(s, &e, 10);
	if (errno != 0 || *s == '\0' || *e != '\0' || v < min || v > max) {
		fprintf(stderr, "smtp_load: bad number '%s' (%ld..%ld)\n", s, min, max);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	int ch;
	while ((ch = getopt(argc, argv, "s:c:m:l:t:u:f:F:rT:o:i:h")) != -1) {
		switch (ch) {
		case 's': opt.target = optarg; break;
		case 'c': opt.conc = (int)parse_long(optarg, 1, MAX_THREADS); break;
		case 'm': opt.total = parse_long(optarg, 1, 100000000); break;
		case 'l': opt.body_bytes = parse_long(optarg, 0, 1L << 30); break;
		case 't': opt.rcpt = optarg; break;
		case 'u': opt.users = (int)parse_long(optarg, 1, 1000000); break;
		case 'f': opt.from = optarg; break;
		case 'F': opt.file = optarg; break;
		case 'r': opt.reuse = true; break;
		case 'T': opt.deadline_s = (double)parse_long(optarg, 1, 86400); break;
		case 'o': opt.op_timeout_s = (double)parse_long(optarg, 1, 3600); break;
		case 'i': opt.idle = parse_long(optarg, 1, 1000000); break;
		default: usage();
		}
	}
	if (optind != argc || opt.target == NULL)
		usage();
	if (parse_target(opt.target, &opt.addr, &opt.addrlen) < 0) {
		fprintf(stderr, "smtp_load: refusing target '%s': only 127.0.0.0/8 or [::1]:PORT\n",
		        opt.target);
		return 2;
	}
	const char *pct = strstr(opt.rcpt, "%d");
	if (strchr(opt.rcpt, '%') != pct || (pct != NULL && strchr(pct + 1, '%') != NULL)) {
		fprintf(stderr, "smtp_load: -t allows at most one %%d and no other %%\n");
		return 2;
	}

	/* idle connections and many clients need descriptors: raise the soft limit */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	signal(SIGPIPE, SIG_IGN);
	return opt.idle > 0 ? run_idle() : run_load();
}
