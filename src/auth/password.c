#include "auth/password.h"

#include <argon2.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "core/threadpool.h"
#include "core/util.h"

#define SALT_LEN 16
#define HASH_LEN 32

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
	if (strncmp(encoded, "$argon2id$", 10) != 0)
		return -1;
	/* argon2id_verify compares the tags in constant time */
	int rc = argon2id_verify(encoded, password, strlen(password));
	if (rc == ARGON2_OK)
		return 1;
	return rc == ARGON2_VERIFY_MISMATCH ? 0 : -1;
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
