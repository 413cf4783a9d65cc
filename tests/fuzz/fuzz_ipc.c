/*
 * fuzz_ipc.c: libFuzzer harness for the IPC record decoder
 * (common/ipc.c): the record and permission checks a receiver makes
 * before any handler runs, the ipc_rd_* payload readers, and the payload
 * decoders that sit on them (a child's configuration message, audit
 * records from workers and authd, enrollment requests).
 *
 * The input is a list of records, each [u8 ctl][u16 len, little endian]
 * [len raw bytes: header and payload exactly as a peer would send them].
 * Bit 0 of ctl sends a descriptor with the record.  The records go over a
 * real SOCK_SEQPACKET socketpair to a channel with a permission table,
 * so the bytes take the same path as a compromised worker's would.
 */
#include "pwbuild.h"

#include <sys/socket.h>
#include <sys/uio.h>

#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "auditrec.h"
#include "config.h"
#include "ipc.h"
#include "log.h"
#include "util.h"

#define FUZZ_MAX_RECORDS	32

int	LLVMFuzzerTestOneInput(const uint8_t *, size_t);

static struct event_base	*base;
static int			 closed_seen;

static const struct ipc_perm perms[] = {
	{ IPC_M_CONFIG, 16, IPC_MAX_CONFIG + 512, IPC_FD_OPTIONAL },
	{ IPC_C_READY, 4, 4, 0 },
	{ IPC_W_ENROLL_REQ, 8, 16 * 1024, 0 },
	{ IPC_W_AUDIT, 8, IPC_MAX_AUDIT, 0 },
	{ IPC_A_AUDIT, 8, IPC_MAX_AUDIT, 0 },
	{ IPC_M_LISTENER, 4, 4, 1 },
};

static void
on_config(struct ipc_rd *rd)
{
	struct pw_config	 c;
	char			*kv, chroot[256], err[256];

	kv = ipc_rd_strdup(rd, IPC_MAX_CONFIG);
	(void)ipc_rd_u32(rd);
	(void)ipc_rd_u32(rd);
	(void)ipc_rd_u32(rd);
	(void)ipc_rd_u32(rd);
	ipc_rd_str(rd, chroot, sizeof(chroot));
	if (kv != NULL && ipc_rd_end(rd) == 0 &&
	    config_from_kv(&c, kv, err, sizeof(err)) == 0)
		config_free(&c);
	free(kv);
}

static void
on_msg(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	struct ipc_rd		 rd;
	struct audit_rec	 rec;
	char			 ts[64], *a, *b;

	ipc_rd_init(&rd, m);
	switch (m->hdr.type) {
	case IPC_M_CONFIG:
		on_config(&rd);
		break;
	case IPC_C_READY:
		(void)ipc_rd_u32(&rd);
		(void)ipc_rd_end(&rd);
		break;
	case IPC_W_ENROLL_REQ:
		a = ipc_rd_strdup(&rd, 256);
		b = ipc_rd_strdup(&rd, 8192);
		(void)ipc_rd_end(&rd);
		free(a);
		free(b);
		break;
	case IPC_W_AUDIT:
	case IPC_A_AUDIT:
		if (audit_rec_get(&rd, &rec) == 0)
			audit_time(rec.ts_ns, ts, sizeof(ts));
		break;
	case IPC_M_LISTENER:
		if (m->fd == -1)
			abort();	/* the table said a descriptor is required */
		(void)ipc_rd_u32(&rd);
		break;
	default:
		abort();		/* a type outside the table got through */
	}
	if (m->fd != -1)
		close(m->fd);
}

static void
on_closed(struct ipc_chan *ch, void *arg)
{
	closed_seen = 1;
	ipc_chan_free(ch);
}

static void
send_record(int fd, const uint8_t *p, size_t n, int withfd)
{
	struct msghdr	 mh;
	struct iovec	 iov;
	union {
		struct cmsghdr	hdr;
		char		buf[CMSG_SPACE(sizeof(int))];
	} cm;
	struct cmsghdr	*cmsg;
	int		 pass;

	memset(&mh, 0, sizeof(mh));
	iov.iov_base = (void *)(uintptr_t)p;
	iov.iov_len = n;
	mh.msg_iov = &iov;
	mh.msg_iovlen = 1;
	pass = withfd ? open("/dev/null", O_RDONLY | O_CLOEXEC) : -1;
	if (pass != -1) {
		memset(&cm, 0, sizeof(cm));
		mh.msg_control = cm.buf;
		mh.msg_controllen = sizeof(cm.buf);
		cmsg = CMSG_FIRSTHDR(&mh);
		cmsg->cmsg_level = SOL_SOCKET;
		cmsg->cmsg_type = SCM_RIGHTS;
		cmsg->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cmsg), &pass, sizeof(int));
	}
	(void)sendmsg(fd, &mh, MSG_NOSIGNAL);
	if (pass != -1)
		close(pass);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ipc_chan	*rx;
	size_t		 n;
	int		 sv[2], nrec = 0, ctl;

	if (base == NULL) {
		log_setlevel(LOG_LVL_ERROR);	/* refusals are expected */
		if ((base = event_base_new()) == NULL)
			abort();
	}
	if (ipc_socketpair(sv) == -1)
		abort();
	closed_seen = 0;
	rx = ipc_chan_new(base, sv[1], "fuzz", perms, nitems(perms), on_msg,
	    on_closed, NULL);
	while (size >= 3 && nrec++ < FUZZ_MAX_RECORDS) {
		ctl = data[0];
		n = (size_t)data[1] | (size_t)data[2] << 8;
		data += 3;
		size -= 3;
		if (n > size)
			n = size;
		send_record(sv[0], data, n, ctl & 1);
		data += n;
		size -= n;
	}
	close(sv[0]);
	while (!closed_seen)
		event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	(void)rx;
	return 0;
}
