/* Connection caps: total, per address, per service, per address within a
 * service; IPv6 counted by /64; every acquire undone by its release. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "core/config.h"
#include "net/connlimit.h"

static struct config *load(const char *text)
{
	struct config *cfg = NULL;
	char err[512];
	assert_int_equal(config_load_string(text, "t.conf", &cfg, err, sizeof(err)), 0);
	return cfg;
}

static void test_service_cap_leaves_room_for_others(void **state)
{
	(void)state;
	struct config *cfg = load("limits = { connections = 10; connections_per_ip = 100; };");
	struct connlimit *cl = connlimit_new(cfg);
	char ip[32];
	/* IMAP may take half the slots, from however many addresses */
	for (int i = 0; i < 5; i++) {
		snprintf(ip, sizeof(ip), "192.0.2.%d", i);
		assert_int_equal(connlimit_acquire(cl, SVC_IMAP, ip), CONNLIMIT_OK);
	}
	assert_int_equal(connlimit_acquire(cl, SVC_IMAP, "192.0.2.99"), CONNLIMIT_SERVICE);
	/* inbound mail still gets in, up to the total */
	for (int i = 0; i < 5; i++)
		assert_int_equal(connlimit_acquire(cl, SVC_SMTP, "198.51.100.1"), CONNLIMIT_OK);
	assert_int_equal(connlimit_acquire(cl, SVC_SMTP, "198.51.100.2"), CONNLIMIT_TOTAL);
	connlimit_release(cl, SVC_IMAP, "192.0.2.0");
	assert_int_equal(connlimit_acquire(cl, SVC_SMTP, "198.51.100.2"), CONNLIMIT_OK);
	connlimit_free(cl);
	config_free(cfg);
}

static void test_per_address_caps(void **state)
{
	(void)state;
	struct config *cfg = load("");    /* defaults: 20 per address on smtp, 100 in all */
	struct connlimit *cl = connlimit_new(cfg);
	for (int i = 0; i < 20; i++)
		assert_int_equal(connlimit_acquire(cl, SVC_SMTP, "203.0.113.5"), CONNLIMIT_OK);
	assert_int_equal(connlimit_acquire(cl, SVC_SMTP, "203.0.113.5"), CONNLIMIT_SERVICE_PER_IP);
	/* the same address on another service has its own count */
	assert_int_equal(connlimit_acquire(cl, SVC_IMAPS, "203.0.113.5"), CONNLIMIT_OK);
	/* one IPv6 /64 is one client */
	for (int i = 0; i < 20; i++) {
		char ip[64];
		snprintf(ip, sizeof(ip), "2001:db8:1:2::%x", i + 1);
		assert_int_equal(connlimit_acquire(cl, SVC_SUBMISSION, ip), CONNLIMIT_OK);
	}
	assert_int_equal(connlimit_acquire(cl, SVC_SUBMISSION, "2001:db8:1:2:ffff::1"),
	                 CONNLIMIT_SERVICE_PER_IP);
	assert_int_equal(connlimit_acquire(cl, SVC_SUBMISSION, "2001:db8:1:3::1"), CONNLIMIT_OK);
	/* release frees exactly one place */
	connlimit_release(cl, SVC_SMTP, "203.0.113.5");
	assert_int_equal(connlimit_acquire(cl, SVC_SMTP, "203.0.113.5"), CONNLIMIT_OK);
	assert_int_equal(connlimit_acquire(cl, SVC_SMTP, "203.0.113.5"), CONNLIMIT_SERVICE_PER_IP);
	connlimit_free(cl);
	config_free(cfg);
}

static void test_global_per_address_cap(void **state)
{
	(void)state;
	struct config *cfg = load("limits = { connections_per_ip = 3; };");
	struct connlimit *cl = connlimit_new(cfg);
	assert_int_equal(connlimit_acquire(cl, SVC_SMTP, "192.0.2.1"), CONNLIMIT_OK);
	assert_int_equal(connlimit_acquire(cl, SVC_IMAP, "192.0.2.1"), CONNLIMIT_OK);
	assert_int_equal(connlimit_acquire(cl, SVC_IMAPS, "192.0.2.1"), CONNLIMIT_OK);
	assert_int_equal(connlimit_acquire(cl, SVC_SUBMISSION, "192.0.2.1"), CONNLIMIT_PER_IP);
	/* a release for a service the address holds nothing on changes nothing */
	connlimit_release(cl, SVC_SUBMISSION, "192.0.2.1");
	assert_int_equal(connlimit_acquire(cl, SVC_SUBMISSION, "192.0.2.1"), CONNLIMIT_PER_IP);
	connlimit_release(cl, SVC_IMAP, "192.0.2.1");
	assert_int_equal(connlimit_acquire(cl, SVC_SUBMISSION, "192.0.2.1"), CONNLIMIT_OK);
	connlimit_free(cl);
	config_free(cfg);
}

/* Slots freed in the middle of a probe cluster must not hide later entries. */
static void test_release_keeps_table_consistent(void **state)
{
	(void)state;
	struct config *cfg = load("limits = { connections = 64; connections_per_ip = 64; };");
	struct connlimit *cl = connlimit_new(cfg);
	char ip[32];
	for (int i = 0; i < 60; i++) {
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 7, i % 7);
		assert_int_equal(connlimit_acquire(cl, SVC_SMTP, ip), CONNLIMIT_OK);
	}
	for (int i = 0; i < 60; i += 2) {
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 7, i % 7);
		connlimit_release(cl, SVC_SMTP, ip);
	}
	for (int i = 1; i < 60; i += 2) {
		snprintf(ip, sizeof(ip), "10.0.%d.%d", i / 7, i % 7);
		connlimit_release(cl, SVC_SMTP, ip);
	}
	/* everything released: the whole total is free again */
	for (int i = 0; i < 64; i++)
		assert_int_equal(connlimit_acquire(cl, SVC_SMTP, "10.9.9.9"), CONNLIMIT_OK);
	assert_int_equal(connlimit_acquire(cl, SVC_SMTP, "10.9.9.8"), CONNLIMIT_TOTAL);
	connlimit_free(cl);
	config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_service_cap_leaves_room_for_others),
		cmocka_unit_test(test_per_address_caps),
		cmocka_unit_test(test_global_per_address_cap),
		cmocka_unit_test(test_release_keeps_table_consistent),
	};
	return cmocka_run_group_tests_name("connlimit", tests, NULL, NULL);
}
