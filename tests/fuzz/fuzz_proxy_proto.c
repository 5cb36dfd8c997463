/* libFuzzer target for src/net/proxy_proto.c, the PROXY protocol header a
 * load balancer sends before the client's first byte.
 *
 * Beyond the sanitizers it checks the reader's promise: a header is at most
 * PROXY_HEADER_MAX octets and never longer than the input; every prefix of
 * an input that parses is MORE (the bytes may be consumed) or the same
 * verdict, and a header parses the same with the client's bytes after it. */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "net/proxy_proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(bool ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_header h, again;
	const char *why = NULL;
	enum proxy_result r = proxy_proto_parse(data, size, &h, &why);
	if (r == PROXY_ERROR) {
		check(why != NULL);
		return 0;
	}
	if (r == PROXY_MORE) {
		check(size < PROXY_HEADER_MAX);
		return 0;
	}
	check(h.length > 0 && h.length <= size && h.length <= PROXY_HEADER_MAX);
	check(h.version == 1 || h.version == 2);
	check(h.local || h.src.ss_family == AF_INET || h.src.ss_family == AF_INET6);
	/* the header alone gives the same verdict */
	check(proxy_proto_parse(data, h.length, &again, NULL) == PROXY_DONE);
	check(again.length == h.length && again.local == h.local &&
	      memcmp(&again.src, &h.src, sizeof(h.src)) == 0);
	/* and every shorter prefix asks for more */
	for (size_t cut = 0; cut < h.length; cut += 1 + cut / 8)
		check(proxy_proto_parse(data, cut, &again, NULL) == PROXY_MORE);
	return 0;
}
