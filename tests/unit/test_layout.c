/* Unit tests for src/daemon/layout.c: the data directory serve creates, and
 * the permission rules it starts under (each problem names its fix). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/privs.h"
#include "core/util.h"
#include "daemon/layout.h"

struct fixture {
	char root[256];
	char data[300];
	struct config *cfg;
	struct service_identity id;     /* the process itself: nothing to switch */
	char problems[8][1024];
	int n;
};

static void collect(void *arg, const char *problem)
{
	struct fixture *f = arg;
	if (f->n < 8)
		snprintf(f->problems[f->n], sizeof(f->problems[0]), "%s", problem);
	f->n++;
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char err[256], text[512];
	snprintf(f->root, sizeof(f->root), "/tmp/postern-layout-XXXXXX");
	assert_non_null(mkdtemp(f->root));
	snprintf(f->data, sizeof(f->data), "%s/data", f->root);
	snprintf(text, sizeof(text), "data_dir = \"%s\";\nuser = \"\";\n", f->data);
	assert_int_equal(config_load_string(text, "t.conf", &f->cfg, err, sizeof(err)), 0);
	assert_int_equal(privs_resolve(f->cfg, &f->id, err, sizeof(err)), 0);
	assert_false(f->id.change);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	assert_int_equal(system(cmd), 0);
	config_free(f->cfg);
	free(f);
	return 0;
}

static mode_t mode_of(const char *path)
{
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	return sb.st_mode & 07777;
}

static void write_file(const char *path, mode_t mode)
{
	FILE *fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("-----BEGIN PRIVATE KEY-----\n", fp);
	fclose(fp);
	assert_int_equal(chmod(path, mode), 0);
}

static void test_prepare_makes_setgid_dirs(void **state)
{
	struct fixture *f = *state;
	char err[256], sub[400];
	assert_int_equal(layout_prepare(f->cfg, &f->id, err, sizeof(err)), 0);
	assert_int_equal(mode_of(f->data), 02750);
	snprintf(sub, sizeof(sub), "%s/spool", f->data);
	assert_int_equal(mode_of(sub), 02750);
	/* existing directories are the admin's: left as they are */
	assert_int_equal(chmod(f->data, 0700), 0);
	assert_int_equal(layout_prepare(f->cfg, &f->id, err, sizeof(err)), 0);
	assert_int_equal(mode_of(f->data), 0700);
	assert_int_equal(layout_check(f->cfg, &f->id, collect, f), 0);
}

static void test_writable_data_dir_named_with_chmod(void **state)
{
	struct fixture *f = *state;
	char err[256], want[400];
	assert_int_equal(layout_prepare(f->cfg, &f->id, err, sizeof(err)), 0);
	assert_int_equal(chmod(f->data, 0777), 0);
	assert_int_equal(layout_check(f->cfg, &f->id, collect, f), 1);
	snprintf(want, sizeof(want), "chmod o-w %s", f->data);
	assert_non_null(strstr(f->problems[0], want));
}

static void test_open_keys_named_with_chmod(void **state)
{
	struct fixture *f = *state;
	char err[256], dir[400], key[500], selfsigned[400];
	assert_int_equal(layout_prepare(f->cfg, &f->id, err, sizeof(err)), 0);
	snprintf(dir, sizeof(dir), "%s/dkim/example.org", f->data);
	assert_int_equal(mkdir_p(dir, 0700), 0);
	snprintf(key, sizeof(key), "%s/sel.pem", dir);
	write_file(key, 0600);
	snprintf(selfsigned, sizeof(selfsigned), "%s/tls/selfsigned-key.pem", f->data);
	write_file(selfsigned, 0640);    /* group-readable is allowed */
	assert_int_equal(layout_check(f->cfg, &f->id, collect, f), 0);

	assert_int_equal(chmod(key, 0644), 0);
	assert_int_equal(chmod(selfsigned, 0602), 0);
	assert_int_equal(layout_check(f->cfg, &f->id, collect, f), 2);
	char want[600];
	snprintf(want, sizeof(want), "chmod o-rwx %s", selfsigned);
	assert_non_null(strstr(f->problems[0], want));
	snprintf(want, sizeof(want), "DKIM private key %s", key);
	assert_non_null(strstr(f->problems[1], want));
}

static void test_missing_data_dir_is_no_problem(void **state)
{
	struct fixture *f = *state;
	assert_int_equal(layout_check(f->cfg, &f->id, collect, f), 0);
}

static void test_bind_advice_names_every_fix(void **state)
{
	(void)state;
	char advice[512];
	privs_bind_advice(25, advice, sizeof(advice));
	assert_non_null(strstr(advice, "port 25 needs CAP_NET_BIND_SERVICE"));
	assert_non_null(strstr(advice, "setcap cap_net_bind_service=+ep /"));
	assert_non_null(strstr(advice, "AmbientCapabilities=CAP_NET_BIND_SERVICE"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_prepare_makes_setgid_dirs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_writable_data_dir_named_with_chmod, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_keys_named_with_chmod, setup, teardown),
		cmocka_unit_test_setup_teardown(test_missing_data_dir_is_no_problem, setup, teardown),
		cmocka_unit_test(test_bind_advice_names_every_fix),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
