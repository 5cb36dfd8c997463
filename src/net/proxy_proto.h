/* The PROXY protocol header (haproxy's proxy-protocol.txt, versions 1 and 2):
 * what a load balancer in front of a listener sends first, naming the client
 * it accepted. A pure parser: bytes in, a verdict out, no I/O.
 *
 * It is incremental by re-reading: call it with everything received so far.
 * PROXY_MORE promises that every byte given belongs to the header (a prefix
 * of one), so a reader may consume them all without eating the client's
 * first bytes; PROXY_DONE says how many octets the header has, and what
 * follows them is the client's. */
#ifndef POSTERN_NET_PROXY_PROTO_H
#define POSTERN_NET_PROXY_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/socket.h>

/* v1: "a line of at most 107 characters including the CRLF" (2.1) */
#define PROXY_V1_MAX 107
/* v2's header is 16 octets and its length field; addresses and TLVs may make
 * it up to 64 KiB, but no proxy sends more than a few hundred octets: longer
 * headers are refused (so a reader's buffer is bounded). */
#define PROXY_HEADER_MAX 4096

enum proxy_result {
	PROXY_MORE,     /* a valid prefix: read more (all given bytes are the header's) */
	PROXY_DONE,     /* a whole header of header->length octets */
	PROXY_ERROR,    /* not a header we accept: close */
};

struct proxy_header {
	int version;                    /* 1 or 2 */
	/* LOCAL (v2), UNKNOWN (v1), or an address family we do not take over
	 * (v2 UNSPEC, AF_UNIX): the connection's own addresses stay (2.2) */
	bool local;
	struct sockaddr_storage src;    /* the client, when !local */
	struct sockaddr_storage dst;    /* the address it connected to */
	size_t length;                  /* octets of the header */
};

/* Parses the header at the start of buf[0..len). On PROXY_ERROR, *why (when
 * not NULL) says what was wrong, for the log. */
enum proxy_result proxy_proto_parse(const unsigned char *buf, size_t len,
                                    struct proxy_header *out, const char **why);

#endif
