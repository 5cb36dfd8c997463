/* The configuration: read from a libconfig file (or the embedded default),
 * validated against a schema, and turned into a plain struct. */
#ifndef POSTERN_CONFIG_H
#define POSTERN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/cidr.h"
#include "core/log.h"

/* dmarc.enforcement: what a DMARC failure does (the values of mailauth's
 * enum dmarc_enforcement, which dmarc_eval.c checks) */
enum config_dmarc_enforcement {
	CONFIG_DMARC_NONE = 0,          /* monitor: judge and record, always deliver */
	CONFIG_DMARC_RELAXED,           /* quarantine: to Junk; reject: 550 5.7.1 (the default) */
	CONFIG_DMARC_STRICT,            /* quarantine refused too; a DNS failure defers */
};
const char *config_dmarc_enforcement_name(enum config_dmarc_enforcement e);

/* spf.enforcement: what an SPF result does to inbound mail (the values of
 * mailauth's enum inbound_spf_enforcement) */
enum config_spf_enforcement {
	CONFIG_SPF_NONE = 0,            /* record only */
	CONFIG_SPF_SOFT,                /* mark failures, accept (the default) */
	CONFIG_SPF_STRICT,              /* fail: 550 5.7.23; temperror: 451 4.7.24 */
};
const char *config_spf_enforcement_name(enum config_spf_enforcement e);

/* Where a service listens: a TCP address and port, or a UNIX socket. */
struct listen_addr {
	char host[64];          /* numeric IPv4 or IPv6 address, no brackets; "" for a socket */
	int port;               /* 0 for a socket */
	char path[108];         /* "unix:PATH": the socket's absolute path (sun_path's size) */
	char text[128];         /* as written, for logs */
	/* the socket file's owner and group ("": the service user's, group's)
	 * and mode, from the service's socket_* keys */
	char owner[64];
	char group[64];
	unsigned mode;
};

struct listen_list {
	struct listen_addr *addrs;
	size_t n;
};

/* clamav = { ... }: messages scanned by clamd (src/filter/clamav.h) */
struct config_clamav {
	bool enabled;                   /* off by default */
	struct listen_addr address;     /* clamd's socket: "unix:/path" or "IP:PORT" */
	uint64_t timeout_ms;            /* from connecting to clamd's verdict */
	bool on_error_accept;           /* clamd failed: accept ("accept"), else 451 ("tempfail") */
	uint64_t max_size;              /* larger messages are not scanned */
};

/* ban = { ... }: automatic bans of clients that misbehave (src/net/ban.h) */
struct config_ban {
	int threshold;                  /* violations within window that ban; 0: off */
	uint64_t window_ms;
	uint64_t duration_ms;           /* the first ban; each repeat doubles it */
	uint64_t max_duration_ms;       /* ... up to this; an offender is remembered this long */
	struct cidr *allow;             /* never banned (default: loopback) */
	size_t nallow;
};

/* Outbound TLS policy (issue: queue delivery). */
enum out_tls_policy {
	OUT_TLS_OPPORTUNISTIC = 0,      /* TLS when offered and verified, else plain text */
	OUT_TLS_OPPORTUNISTIC_INSECURE, /* TLS when offered, any certificate, plain text on failure */
	OUT_TLS_REQUIRED,               /* verified TLS or defer */
};

struct tls_policy_entry {
	char *domain;
	enum out_tls_policy policy;
};

/* Authentication failure limits for one protocol (auth/ratelimit.c). */
struct auth_limits_cfg {
	int max_attempts_per_ip, max_attempts_per_username, fast_block_threshold;
	int max_attempts_per_client_user;       /* one username from one address (ip_window) */
	uint64_t ip_window_ms, username_window_ms, fast_window_ms, fast_block_duration_ms;
	uint64_t delay_base_ms, delay_max_ms;
};
/* 10 failures per IP, 5 per username and 5 per username from one IP in 15
 * minutes; 10 per IP in 1 minute
 * block the IP for 5 minutes; delays 1 s doubling to at most 16 s. */
void config_auth_limits_defaults(struct auth_limits_cfg *a);

/* The networks a user logged in from (auth/known_networks.h): from those, the
 * user's own password works while the username is blocked. */
struct known_networks_cfg {
	uint64_t remember_ms;   /* a network is known this long after its last login (30 days) */
	int max_per_user;       /* networks kept per user, the least recent dropped (32) */
	int ipv4_prefix;        /* an IPv4 network: /24 */
	int ipv6_prefix;        /* an IPv6 network: /64 */
};
void config_known_networks_defaults(struct known_networks_cfg *k);

/* Send rate limits (net/sendlimit.h): what is counted, over which window. */
enum send_what { SEND_MESSAGES = 0, SEND_RECIPIENTS, SEND_WHAT_COUNT };
enum send_window { SEND_PER_MINUTE = 0, SEND_PER_HOUR, SEND_PER_DAY, SEND_WINDOW_COUNT };
/* The most of each per window; 0: no limit. */
struct send_rates {
	int limit[SEND_WHAT_COUNT][SEND_WINDOW_COUNT];
};
/* "messages_per_hour", ...: the config key and the CLI option (with "--"
 * and '-' for '_') of each limit. */
const char *config_send_rate_name(enum send_what what, enum send_window win);

/* The services postern can run, as config names: each has `listen.<name>`,
 * a session policy built from the global keys and `services.<name>`, and a
 * row in src/daemon/services.c. Adding one is a line here and a row there. */
#define CONFIG_SERVICES(X) \
	X(SMTP, "smtp")                 /* 25: mail exchange */ \
	X(SUBMISSION, "submission")     /* 587: STARTTLS, AUTH (RFC 6409) */ \
	X(SUBMISSIONS, "submissions")   /* 465: implicit TLS (RFC 8314) */ \
	X(IMAP, "imap")                 /* 143: STARTTLS */ \
	X(IMAPS, "imaps")               /* 993: implicit TLS */ \
	X(POP3, "pop3")                 /* 110: STLS (RFC 2595) */ \
	X(POP3S, "pop3s")               /* 995: implicit TLS */ \
	X(LMTP, "lmtp")                 /* 24: local delivery from an MTA (RFC 2033) */

enum service_id {
#define X(id, name) SVC_##id,
	CONFIG_SERVICES(X)
#undef X
	SVC_COUNT
};
extern const char *const config_service_names[SVC_COUNT];

/* How long and how much one session of a service may take (src/net/session.c
 * enforces all of it). Durations in ms; 0 means "no such limit". */
struct service_policy {
	uint64_t command_ms;    /* one whole command line, and silence before login */
	uint64_t idle_ms;       /* silence between commands once logged in */
	uint64_t data_ms;       /* silence inside a message or literal transfer */
	uint64_t write_ms;      /* a client that does not read our replies */
	uint64_t login_ms;      /* from connect until login (SMTP: AUTH or the first MAIL) */
	uint64_t session_ms;    /* from connect, whatever the session does */
	int errors;             /* protocol errors before the session is closed */
	uint64_t output_max;    /* replies queued for a client before reading pauses */
	int connections;        /* simultaneous sessions of this service */
	int connections_per_ip; /* ... from one address (IPv6: one /64) */
	/* who may connect: anyone, or (local_only) clients on loopback or a
	 * UNIX socket and those in allow[] */
	bool local_only;
	const struct cidr *allow;
	size_t nallow;
	/* the slowloris rule: while the client owes us octets (a started
	 * command line or literal, a message, a TLS handshake) it sends at least
	 * min_bytes in every min_rate_window_ms; 0 = no such rule */
	uint64_t min_bytes;
	uint64_t min_rate_window_ms;
	/* a PROXY protocol header (v1 or v2) comes first, from one of
	 * trusted_proxies, within proxy_timeout_ms: it names the client */
	bool proxy_protocol;
	struct cidr *trusted_proxies;   /* owned: freed by config_free */
	size_t ntrusted_proxies;
	uint64_t proxy_timeout_ms;
};

/* rspamd.on_error: what a message gets when rspamd cannot be asked */
enum config_rspamd_on_error {
	CONFIG_RSPAMD_TEMPFAIL = 0,     /* 451 4.7.1: the sender retries later */
	CONFIG_RSPAMD_ACCEPT,           /* delivered unscanned */
};

/* rspamd = { ... } (config_rspamd.c, src/filter/rspamd.h) */
struct config_rspamd {
	bool enabled;                   /* off by default */
	struct listen_addr address;     /* the normal worker: /checkv2 */
	struct listen_addr controller;  /* the controller worker: /learnspam, /learnham */
	char *password;                 /* the controller's; NULL: none sent */
	uint64_t timeout_ms;            /* one scan or one learn, connect to reply */
	enum config_rspamd_on_error on_error;
	uint64_t max_size;              /* larger messages are not scanned (nor learnt) */
	bool learn;                     /* moves into and out of Junk train rspamd */
};
const char *config_rspamd_on_error_name(enum config_rspamd_on_error e);

/* One zone of dnsbl.zones or dnswl.zones (config_dnsbl.c's syntax):
 * a listing adds weight to the client's score (negative for dnswl). */
#define CONFIG_DNSBL_CODES_MAX 8
struct dnsbl_zone {
	char *name;             /* lower-case, no trailing dot */
	int weight;
	/* the answers that count as a listing, ranges of IPv4 addresses in host
	 * order; none: any answer in 127.0.0.0/8 (src/filter/dnsbl.h) */
	uint32_t code_lo[CONFIG_DNSBL_CODES_MAX], code_hi[CONFIG_DNSBL_CODES_MAX];
	size_t ncodes;
};

/* the most event loops (workers) a server runs, also when one per CPU */
#define CONFIG_WORKERS_MAX 64

struct config {
	char *source;           /* file name, or "(embedded default)" */
	char *hostname;
	char *data_dir;
	/* `postmaster`: where mail for postmaster@ and abuse@ and the server's
	 * notices to its admin go, lower-cased; none: the first user created */
	char **postmaster;
	size_t npostmaster;
	int workers;            /* event loops; 0 = one per CPU */
	char *user;             /* started as root, serve runs as this user; "" = stay */
	char *group;            /* ... and group ("" = the user's primary group) */
	bool strict_permissions; /* refuse to start on keys or data others can read or change */
	struct listen_list listen[SVC_COUNT];   /* listen.<service name> */
	struct {
		uint64_t max_line;           /* command text incl. non-literal parts */
		uint64_t append_limit;       /* largest APPEND literal (APPENDLIMIT) */
		uint64_t session_memory;     /* output buffered for one session */
		int max_search_results;
		int max_connections_per_user;
		int max_mailboxes;           /* per user: CREATE beyond it gets NO [LIMIT] */
		int search_rate_limit_per_min;  /* BODY / TEXT searches; 0 = no limit */
		bool login_without_tls;      /* LOGIN / AUTHENTICATE PLAIN before STARTTLS */
		bool compress;               /* offer COMPRESS=DEFLATE (RFC 4978) */
		uint64_t idle_poll_ms;       /* how often an idling session looks for news */
		uint64_t autologout_ms;      /* a logged-in session silent this long is closed */
	} imap;
	struct {
		uint64_t session_memory;     /* output a RETR or TOP buffers for one session */
		bool login_without_tls;      /* USER/PASS and AUTH before STLS */
		uint64_t autologout_ms;      /* a logged-in session silent this long is closed */
	} pop3;
	struct {
		uint64_t max_message_size;
		char *socket_owner;     /* unix: sockets of listen.lmtp; NULL: the service user */
		char *socket_group;     /* NULL: the service group */
		unsigned socket_mode;
		struct cidr *allow_remote;  /* networks beyond loopback that may connect */
		size_t nallow_remote;
	} lmtp;
	struct {
		uint64_t storage;        /* a user's default limit in octets; 0 = none */
		uint64_t messages;       /* a user's default limit of messages; 0 = none */
	} quota;
	struct {
		char *psl_file;          /* the public suffix list; NULL: the system's (libpsl) */
		enum config_dmarc_enforcement enforcement;
		bool reports;            /* send aggregate reports (opt-in) */
		uint64_t report_interval_ms;    /* between report runs */
		int report_max_per_day;  /* reports sent in any 24 hours, at most */
	} dmarc;
	struct {
		enum config_spf_enforcement enforcement;
	} spf;
	struct {
		unsigned max_signatures;        /* DKIM-Signature fields checked per message */
	} dkim;
	struct {
		/* sealers whose ARC-Authentication-Results are believed, lower-case */
		char **trusted_sealers;
		size_t ntrusted_sealers;
	} arc;
	struct {
		bool received_ip;        /* show the client's IP in Received: of submitted mail */
		bool auth_without_tls;   /* offer AUTH before STARTTLS on 587 (never on by default) */
	} submission;
	struct {
		struct auth_limits_cfg smtp;
		struct auth_limits_cfg imap;
		struct auth_limits_cfg pop3;
		uint64_t cache_ttl_ms;  /* verified logins remembered this long; 0 = no cache */
		int cache_size;         /* ... at most this many at once */
		bool master_login;      /* master users may open any mailbox (IMAP, POP3); off by default */
		struct known_networks_cfg known_networks;
	} auth;
	struct {
		char *cert;     /* NULL: generate a self-signed certificate */
		char *key;
		int min_version; /* TLS1_2_VERSION or TLS1_3_VERSION */
	} tls;
	struct {
		uint64_t message_size;
		int recipients;
		int connections;
		int connections_per_ip;
		int errors;
		int hops;               /* Received: fields that mean a mail loop */
		/* set in the file: then the default of every service too */
		bool errors_set, connections_per_ip_set;
	} limits;
	struct {
		uint64_t command_ms;  /* waiting for a whole command line */
		uint64_t data_ms;     /* silence allowed inside DATA/BDAT */
		uint64_t session_ms;  /* whole session */
		uint64_t shutdown_ms; /* grace for in-flight transactions on SIGTERM */
		bool session_set;     /* set in the file: then every service's default */
	} timeouts;
	struct service_policy policy[SVC_COUNT];
	struct {
		enum log_level level;
		char *file;
		char *audit_file;
	} log;
	struct {
		struct cidr *hosts;     /* clients allowed to relay without authentication */
		size_t nhosts;
	} relay;
	struct {
		char **servers;         /* "IP" or "IP@PORT"; none = the system resolver */
		size_t nservers;
		char **allow_zones;     /* special-use zones to resolve anyway (tests: "test.") */
		size_t nallow_zones;
	} dns;
	struct {
		/* SRS for mail an alias forwards to another domain (src/mailauth/srs.h) */
		bool enabled;
		char *domain;           /* the rewritten senders' domain, lower-case; default hostname */
		int max_age_days;       /* bounces to older SRS addresses are refused */
	} srs;
	struct config_ban ban;
	struct config_clamav clamav;
	struct config_rspamd rspamd;
	struct {
		/* greylisting of port 25's mail (src/filter/greylist.h) */
		bool enabled;
		uint64_t delay_ms;      /* a retry is accepted this long after the first attempt */
		uint64_t expire_ms;     /* ... and until this long after it */
		uint64_t remember_ms;   /* a passed triplet is remembered this long after its last use */
		int auto_allow;         /* passed triplets that let a whole network in; 0: never */
		int max_entries;        /* triplets kept at most */
		struct cidr *allow_nets;        /* clients never greylisted */
		size_t nallow_nets;
		char **allow_domains;   /* envelope sender domains (and below) never greylisted */
		size_t nallow_domains;
	} greylist;
	struct {
		/* send rate limits (src/net/sendlimit.h) */
		struct send_rates user;     /* per authenticated user (their own override it) */
		struct send_rates client;   /* per client address (IPv6 /64) without AUTH */
		int max_tracked;            /* users and addresses tracked at once */
	} rate_limit;
	struct {
		/* DNS blocklists and allowlists asked at connect (src/filter/dnsbl.h):
		 * dnsbl.zones, then dnswl.zones (negative weights); none: off */
		struct dnsbl_zone *zones;
		size_t nzones;
		int threshold;          /* a score this high is refused */
		uint64_t timeout_ms;    /* zones unanswered by then count as errors */
		struct cidr *allow;     /* clients never looked up */
		size_t nallow;
	} dnsbl;
	struct {
		uint64_t max_age_ms, warn_after_ms, min_retry_ms, max_retry_ms;
		uint64_t timeout_ms, circuit_cooldown_ms;
		int concurrency, per_domain, circuit_failures, port;
		bool allow_loopback;    /* deliver to MX addresses on 127/8, ::1 (tests only) */
		enum out_tls_policy tls;
		char *tls_ca_file;
		char *helo;
		char *source_ipv4, *source_ipv6;
		struct tls_policy_entry *policies;
		size_t npolicies;
	} queue;
};

/* The TLS policy for deliveries to domain (per-domain entry, else the default). */
enum out_tls_policy config_tls_policy(const struct config *cfg, const char *domain);
int config_parse_tls_policy(const char *text, enum out_tls_policy *out);
const char *config_tls_policy_name(enum out_tls_policy p);

/* The listen list of a service. */
const struct listen_list *config_listen(const struct config *cfg, enum service_id id);

/* Each returns 0 and a new config, or -1 with "FILE:LINE: message" in err. */
int config_load_file(const char *path, struct config **out, char *err, size_t errlen);
int config_load_string(const char *text, const char *name, struct config **out,
                       char *err, size_t errlen);
void config_free(struct config *cfg);

/* Parses "1.2.3.4:25", "[::1]:25" or "unix:/absolute/path". 0 or -1. */
int config_parse_listen(const char *text, struct listen_addr *out);

/* A plain "local@domain" address: a dot-atom local part (RFC 5322 3.2.3)
 * and a domain of letter-digit-hyphen labels; no quoting, no literals. */
bool config_address_valid(const char *addr);

/* Letters, digits and hyphens in dot-separated labels of 1..63 (RFC 1035
 * 2.3.1), 253 octets at most. */
bool config_domain_valid(const char *domain);

/* The configuration `postern serve` runs on without -c (used by `make run`). */
extern const char config_default_text[];

/* The longest failure window of all protocols' auth limits: how long the
 * shared failure records must be kept. */
uint64_t config_auth_longest_window(const struct config *cfg);

#endif
