/* SPDX-License-Identifier: MIT */
#include "device-worker/control_io.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>

int control_send(int fd, enum control_type type, uint32_t arg, int64_t value)
{
	struct control_msg m;
	ssize_t n;

	memset(&m, 0, sizeof(m));
	m.type = (uint32_t)type;
	m.arg = arg;
	m.value = value;
	do {
		n = send(fd, &m, sizeof(m), MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* SOCK_SEQPACKET sends whole records; anything else is not our socket. */
	if ((size_t)n != sizeof(m))
		return -EMSGSIZE;
	return 0;
}

int control_recv(int fd, struct control_msg *m)
{
	/* One spare byte so an oversized datagram shows as such even without MSG_TRUNC. */
	uint8_t buf[sizeof(*m) + 1];
	ssize_t n;

	memset(m, 0, sizeof(*m));
	do {
		/* MSG_TRUNC: the return value is the datagram's real length. */
		n = recv(fd, buf, sizeof(buf), MSG_DONTWAIT | MSG_TRUNC);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return errno == EWOULDBLOCK ? -EAGAIN : -errno;
	if (n == 0)
		return -EPIPE;
	if ((size_t)n != sizeof(*m))
		return -EBADMSG;
	memcpy(m, buf, sizeof(*m));
	return 0;
}
