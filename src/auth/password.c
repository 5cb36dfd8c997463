#include "auth/password.h"

#include <argon2.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "core/threadpool.h"
#include "core/util.h"

#define SALT_LEN 16
#define HASH_LEN 32

#define STR_(x) #x
#define STR(x)  STR_(x)

/* Fixed salt and tag, current parameters: verifying against it costs a real
 * verification, and no password is known to match the tag. */
static const char dummy_hash[] =
	"$argon2id$v=19$m=" STR(PASSWORD_ARGON2_M_KIB) ",t=" STR(PASSWORD_ARGON2_T)
	",p=" STR(PASSWORD_ARGON2_P) "$Vgsofabu+++jCC0gtHkGYQ$Ret555ZuxqL5QYnRqvcCInE7o/J4m8lJfdtyMFZ3xAY";

enum scheme {
	SCHEME_UNKNOWN,
	SCHEME_ARGON2ID,
	SCHEME_BCRYPT,
	SCHEME_SHA512_CRYPT,
	SCHEME_SHA256_CRYPT,
	SCHEME_SSHA512,
};

/* The scheme of an unprefixed hash, from its modular crypt prefix. */
static enum scheme bare_scheme(const char *h)
{
	if (strncmp(h, "$argon2id$", 10) == 0)
		return SCHEME_ARGON2ID;
	if (strncmp(h, "$2y$", 4) == 0 || strncmp(h, "$2b$", 4) == 0 || strncmp(h, "$2a$", 4) == 0)
		return SCHEME_BCRYPT;
	if (strncmp(h, "$6$", 3) == 0)
		return SCHEME_SHA512_CRYPT;
	if (strncmp(h, "$5$", 3) == 0)
		return SCHEME_SHA256_CRYPT;
	return SCHEME_UNKNOWN;
}

static const struct {
	const char *prefix;
	enum scheme scheme; /* SCHEME_UNKNOWN: any crypt form */
} dovecot_prefixes[] = {
	{ "{ARGON2ID}", SCHEME_ARGON2ID },
	{ "{BLF-CRYPT}", SCHEME_BCRYPT },
	{ "{SHA512-CRYPT}", SCHEME_SHA512_CRYPT },
	{ "{SHA256-CRYPT}", SCHEME_SHA256_CRYPT },
	{ "{SSHA512}", SCHEME_SSHA512 },
	{ "{SSHA512.B64}", SCHEME_SSHA512 },
	{ "{CRYPT}", SCHEME_UNKNOWN },
};

/* Classifies encoded and points *body past any Dovecot "{SCHEME}" prefix.
 * A prefix must agree with what follows it ({SHA512-CRYPT}$2y$ is unknown). */
static enum scheme classify(const char *encoded, const char **body)
{
	*body = encoded;
	if (encoded[0] != '{')
		return bare_scheme(encoded);
	for (size_t i = 0; i < ARRAY_LEN(dovecot_prefixes); i++) {
		size_t n = strlen(dovecot_prefixes[i].prefix);
		/* Dovecot matches scheme names without regard to case */
		if (strncasecmp(encoded, dovecot_prefixes[i].prefix, n) != 0)
			continue;
		*body = encoded + n;
		enum scheme want = dovecot_prefixes[i].scheme;
		if (want == SCHEME_SSHA512)
			return SCHEME_SSHA512;
		enum scheme got = bare_scheme(*body);
		if (want == SCHEME_UNKNOWN) /* {CRYPT}: what crypt(3) reads */
			return got == SCHEME_ARGON2ID ? SCHEME_UNKNOWN : got;
		return got == want ? got : SCHEME_UNKNOWN;
	}
	return SCHEME_UNKNOWN;
}

/* Reads a decimal of at most 9 digits at *p and advances past it. */
static int read_uint(const char **p, unsigned long *out)
{
	const char *s = *p;
	unsigned long v = 0;
	size_t n = 0;
	while (s[n] >= '0' && s[n] <= '9') {
		if (n == 9)
			return -1;
		v = v * 10 + (unsigned long)(s[n] - '0');
		n++;
	}
	if (n == 0)
		return -1;
	*out = v;
	*p = s + n;
	return 0;
}

/* "$argon2id$v=19$m=<m>,t=<t>,p=<p>$..." -> the three parameters. */
static int argon2_params(const char *h, unsigned long *m, unsigned long *t, unsigned long *p)
{
	unsigned long v;
	if (strncmp(h, "$argon2id$v=", 12) != 0)
		return -1;
	const char *s = h + 12;
	if (read_uint(&s, &v) < 0 || v != ARGON2_VERSION_13 || strncmp(s, "$m=", 3) != 0)
		return -1;
	s += 3;
	if (read_uint(&s, m) < 0 || strncmp(s, ",t=", 3) != 0)
		return -1;
	s += 3;
	if (read_uint(&s, t) < 0 || strncmp(s, ",p=", 3) != 0)
		return -1;
	s += 3;
	if (read_uint(&s, p) < 0 || s[0] != '$')
		return -1;
	return 0;
}

static int argon2_verify_bounded(const char *h, const char *password)
{
	unsigned long m, t, p;
	if (argon2_params(h, &m, &t, &p) < 0 || m > PASSWORD_ARGON2_M_KIB_MAX ||
	    t > PASSWORD_ARGON2_T_MAX || p > PASSWORD_ARGON2_P_MAX)
		return -1;
	/* argon2id_verify compares the tags in constant time */
	int rc = argon2id_verify(h, password, strlen(password));
	if (rc == ARGON2_OK)
		return 1;
	return rc == ARGON2_VERIFY_MISMATCH ? 0 : -1;
}

int password_hash(const char *password, char *out, size_t outlen)
{
	unsigned char salt[SALT_LEN];
	random_bytes(salt, sizeof(salt));
	int rc = argon2id_hash_encoded(PASSWORD_ARGON2_T, PASSWORD_ARGON2_M_KIB, PASSWORD_ARGON2_P,
	                               password, strlen(password), salt, sizeof(salt), HASH_LEN,
	                               out, outlen);
	OPENSSL_cleanse(salt, sizeof(salt));
	return rc == ARGON2_OK ? 0 : -1;
}

int password_verify(const char *encoded, const char *password)
{
	const char *body;
	switch (classify(encoded, &body)) {
	case SCHEME_ARGON2ID:
		return argon2_verify_bounded(body, password);
	case SCHEME_BCRYPT:
	case SCHEME_SHA512_CRYPT:
	case SCHEME_SHA256_CRYPT:
		return password_crypt_verify(body, password);
	case SCHEME_SSHA512:
		return password_ssha512_verify(body, password);
	case SCHEME_UNKNOWN:
		break;
	}
	return -1;
}

bool password_needs_upgrade(const char *encoded)
{
	unsigned long m, t, p;
	/* a prefixed hash is rewritten in the bare form too */
	if (encoded[0] == '{' || argon2_params(encoded, &m, &t, &p) < 0)
		return true;
	return m != PASSWORD_ARGON2_M_KIB || t != PASSWORD_ARGON2_T || p != PASSWORD_ARGON2_P;
}

const char *password_scheme_name(const char *encoded)
{
	const char *body;
	switch (classify(encoded, &body)) {
	case SCHEME_ARGON2ID:
		return "argon2id";
	case SCHEME_BCRYPT:
		return "bcrypt";
	case SCHEME_SHA512_CRYPT:
		return "sha512-crypt";
	case SCHEME_SHA256_CRYPT:
		return "sha256-crypt";
	case SCHEME_SSHA512:
		return "ssha512";
	case SCHEME_UNKNOWN:
		break;
	}
	return "unknown";
}

const char *password_dummy_hash(void)
{
	return dummy_hash;
}

int password_dummy_verify(const char *password)
{
	return password_verify(dummy_hash, password) < 0 ? -1 : 0;
}

struct verify_job {
	char *encoded;
	char *password;
	int result;
	password_verify_cb cb;
	void *arg;
};

static void verify_work(void *arg)
{
	struct verify_job *job = arg;
	job->result = password_verify(job->encoded, job->password);
	OPENSSL_cleanse(job->password, strlen(job->password));
}

static void verify_done(void *arg)
{
	struct verify_job *job = arg;
	job->cb(job->result, job->arg);
	free(job->encoded);
	free(job->password);
	free(job);
}

int password_verify_async(struct threadpool *tp, struct event_base *base, const char *encoded,
                          const char *password, password_verify_cb cb, void *arg)
{
	struct verify_job *job = xcalloc(1, sizeof(*job));
	job->encoded = xstrdup(encoded);
	job->password = xstrdup(password);
	job->cb = cb;
	job->arg = arg;
	if (threadpool_submit(tp, base, verify_work, verify_done, job) < 0) {
		OPENSSL_cleanse(job->password, strlen(job->password));
		free(job->encoded);
		free(job->password);
		free(job);
		return -1;
	}
	return 0;
}
