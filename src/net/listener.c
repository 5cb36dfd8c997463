#include "net/listener.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "core/privs.h"
#include "core/util.h"

#define LISTEN_BACKLOG 4096

/* SO_REUSEPORT would let a second postern (same user) share our port and
 * take part of the mail: first make sure nobody holds it. */
static int port_in_use(const struct sockaddr *sa, socklen_t len)
{
	int fd = socket(sa->sa_family, SOCK_STREAM | SOCK_CLOEXEC, 0), one = 1, busy = 0;
	if (fd < 0)
		return 0;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (sa->sa_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, sa, len) < 0 && errno == EADDRINUSE)
		busy = 1;
	close(fd);
	return busy;
}

int listener_bind(const struct listen_addr *la, bool check_free, char *err, size_t errlen,
                  bool *unavailable)
{
	struct sockaddr_storage ss;
	socklen_t len;
	int one = 1;
	memset(&ss, 0, sizeof(ss));
	*unavailable = false;
	if (strchr(la->host, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)la->port);
		inet_pton(AF_INET6, la->host, &s6->sin6_addr);
		len = sizeof(*s6);
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)la->port);
		inet_pton(AF_INET, la->host, &s4->sin_addr);
		len = sizeof(*s4);
	}
	if (check_free && port_in_use((struct sockaddr *)&ss, len)) {
		snprintf(err, errlen, "%s: address already in use (is another postern running?)", la->text);
		return -1;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*unavailable = errno == EAFNOSUPPORT;
		snprintf(err, errlen, "%s: socket: %m", la->text);
		return -1;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
	if (ss.ss_family == AF_INET6) /* "[::]:25" means IPv6 only; list 0.0.0.0 too for v4 */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, len) < 0 || listen(fd, LISTEN_BACKLOG) < 0) {
		*unavailable = errno == EADDRNOTAVAIL || errno == EAFNOSUPPORT;
		if (errno == EACCES && la->port < privs_unprivileged_port_start()) {
			char advice[512];
			privs_bind_advice(la->port, advice, sizeof(advice));
			snprintf(err, errlen, "%s: cannot listen: permission denied: %s", la->text, advice);
		} else {
			snprintf(err, errlen, "%s: cannot listen: %m", la->text);
		}
		close(fd);
		return -1;
	}
	return fd;
}

void sockaddr_ip(const struct sockaddr *sa, char *out, size_t outlen)
{
	if (sa->sa_family == AF_INET) {
		inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, (socklen_t)outlen);
	} else if (sa->sa_family == AF_INET6) {
		const struct in6_addr *a = &((const struct sockaddr_in6 *)sa)->sin6_addr;
		if (IN6_IS_ADDR_V4MAPPED(a))
			inet_ntop(AF_INET, &a->s6_addr[12], out, (socklen_t)outlen);
		else
			inet_ntop(AF_INET6, a, out, (socklen_t)outlen);
	} else if (sa->sa_family == AF_UNIX) {
		snprintf(out, outlen, "%s", NET_PEER_LOCAL);
	} else {
		snprintf(out, outlen, "unknown");
	}
}

int sockaddr_port(const struct sockaddr *sa)
{
	if (sa->sa_family == AF_INET)
		return ntohs(((const struct sockaddr_in *)sa)->sin_port);
	if (sa->sa_family == AF_INET6)
		return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
	return 0;
}
