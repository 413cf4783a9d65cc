/*
 * test_ipc.c: the message layer refuses what its permission table does not
 * allow (type, size, descriptor) and the payload reader never reads past
 * the end.
 */
#include "pwbuild.h"

#include <sys/socket.h>

#include <check.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "approval.h"
#include "ipc.h"

static int	got_msgs, got_closed, got_fd;

static void
on_msg(struct ipc_chan *c, struct ipc_msg *m, void *arg)
{
	got_msgs++;
	if (m->fd != -1) {
		got_fd++;
		close(m->fd);
	}
}

static void
on_closed(struct ipc_chan *c, void *arg)
{
	got_closed++;
	ipc_chan_free(c);
}

static const struct ipc_perm perms[] = {
	{ IPC_C_READY, 4, 4, 0 },
	{ IPC_M_LISTENER, 4, 4, 1 },
};

/* Send one raw record from sv[0], dispatch it at sv[1]. */
static void
roundtrip(uint16_t type, const void *p, size_t n, int fd, int *msgs,
    int *closed)
{
	struct event_base	*base = event_base_new();
	struct ipc_chan		*rx;
	int			 sv[2];

	ck_assert_int_eq(ipc_socketpair(sv), 0);
	got_msgs = got_closed = got_fd = 0;
	rx = ipc_chan_new(base, sv[1], "test", perms, 2, on_msg, on_closed,
	    NULL);
	ck_assert_int_eq(ipc_send_sync(sv[0], type, 0, 0, p, n, fd), 0);
	event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	*msgs = got_msgs;
	*closed = got_closed;
	if (!got_closed)
		ipc_chan_free(rx);
	close(sv[0]);
	event_base_free(base);
}

START_TEST(test_permitted)
{
	uint32_t	v = 1;
	int		m, c;

	roundtrip(IPC_C_READY, &v, 4, -1, &m, &c);
	ck_assert_int_eq(m, 1);
	ck_assert_int_eq(c, 0);
}
END_TEST

START_TEST(test_unknown_type)
{
	uint32_t	v = 1;
	int		m, c;

	roundtrip(IPC_W_AUTH_REQ, &v, 4, -1, &m, &c);
	ck_assert_int_eq(m, 0);
	ck_assert_int_eq(c, 1);
}
END_TEST

START_TEST(test_wrong_size)
{
	uint64_t	v = 1;
	int		m, c;

	roundtrip(IPC_C_READY, &v, 8, -1, &m, &c);
	ck_assert_int_eq(m, 0);
	ck_assert_int_eq(c, 1);
}
END_TEST

START_TEST(test_unexpected_fd)
{
	uint32_t	v = 1;
	int		m, c, fd = open("/dev/null", O_RDONLY);

	/* A descriptor on a message that must not carry one ends the peer. */
	roundtrip(IPC_C_READY, &v, 4, fd, &m, &c);
	close(fd);
	ck_assert_int_eq(m, 0);
	ck_assert_int_eq(c, 1);
	ck_assert_int_eq(got_fd, 0);
}
END_TEST

START_TEST(test_missing_fd)
{
	uint32_t	v = 1;
	int		m, c;

	roundtrip(IPC_M_LISTENER, &v, 4, -1, &m, &c);
	ck_assert_int_eq(m, 0);
	ck_assert_int_eq(c, 1);
}
END_TEST

START_TEST(test_fd_passing)
{
	uint32_t	v = 1;
	int		m, c, fd = open("/dev/null", O_RDONLY);

	roundtrip(IPC_M_LISTENER, &v, 4, fd, &m, &c);
	close(fd);
	ck_assert_int_eq(m, 1);
	ck_assert_int_eq(c, 0);
	ck_assert_int_eq(got_fd, 1);
}
END_TEST

static int	wants;

static void
on_want_write(void *arg)
{
	wants++;
}

/*
 * A channel driven by another loop: the same permission checks when its
 * owner says it is readable, want_write when a send would block, and the
 * queue drained when the owner says it is writable.
 */
START_TEST(test_polled)
{
	struct ipc_chan	*rx, *tx;
	struct ipc_hdr	 hdr;
	uint8_t		 buf[64];
	uint32_t	 v = 1;
	int		 sv[2], fd, sent = 0, drained = 0;
	int		 small = 4096;

	ck_assert_int_eq(ipc_socketpair(sv), 0);
	got_msgs = got_closed = got_fd = 0;
	rx = ipc_chan_new_polled(sv[1], "rx", perms, 2, on_msg, on_closed,
	    NULL, on_want_write, NULL);
	ck_assert_int_eq(ipc_send_sync(sv[0], IPC_C_READY, 0, 0, &v, 4, -1),
	    0);
	ipc_chan_readable(rx);
	ck_assert_int_eq(got_msgs, 1);
	ck_assert_int_eq(got_closed, 0);
	ck_assert_int_eq(ipc_send_sync(sv[0], IPC_W_AUTH_REQ, 0, 0, &v, 4, -1),
	    0);
	ipc_chan_readable(rx);
	ck_assert_int_eq(got_msgs, 1);
	ck_assert_int_eq(got_closed, 1);	/* on_closed freed rx */
	close(sv[0]);

	ck_assert_int_eq(ipc_socketpair(sv), 0);
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &small, sizeof(small));
	wants = 0;
	tx = ipc_chan_new_polled(sv[0], "tx", perms, 2, on_msg, on_closed,
	    NULL, on_want_write, NULL);
	while (wants == 0 && sent < 100000) {
		ck_assert_int_eq(ipc_send(tx, IPC_C_READY, 0, 0, &v, 4, -1), 0);
		sent++;
	}
	ck_assert_int_eq(wants, 1);
	ck_assert_uint_gt(ipc_queued(tx), 0);
	fd = -1;
	while (drained < sent) {
		ipc_chan_writable(tx);
		ck_assert_int_eq(ipc_recv_sync(sv[1], &hdr, buf, sizeof(buf),
		    &fd), 0);
		ck_assert_int_eq(hdr.type, IPC_C_READY);
		drained++;
	}
	ck_assert_int_eq(drained, sent);
	ck_assert_uint_eq(ipc_queued(tx), 0);
	ipc_chan_free(tx);
	close(sv[1]);
}
END_TEST

START_TEST(test_reader_bounds)
{
	struct ipc_wr	w;
	struct ipc_msg	m;
	struct ipc_rd	r;
	char		buf[8];

	ipc_wr_init(&w);
	ipc_wr_u32(&w, 7);
	ipc_wr_str(&w, "abcdefghij");
	memset(&m, 0, sizeof(m));
	m.hdr.len = (uint32_t)w.len;
	m.data = w.buf;

	/* A string longer than the destination is an error, not a cut. */
	ipc_rd_init(&r, &m);
	ck_assert_uint_eq(ipc_rd_u32(&r), 7);
	ipc_rd_str(&r, buf, sizeof(buf));
	ck_assert_int_eq(ipc_rd_end(&r), -1);

	/* Reading past the end is an error. */
	ipc_rd_init(&r, &m);
	(void)ipc_rd_u32(&r);
	{
		char big[64];
		ipc_rd_str(&r, big, sizeof(big));
		ck_assert_str_eq(big, "abcdefghij");
	}
	(void)ipc_rd_u32(&r);
	ck_assert_int_eq(ipc_rd_end(&r), -1);

	/* Leftover bytes are an error too. */
	ipc_rd_init(&r, &m);
	(void)ipc_rd_u32(&r);
	ck_assert_int_eq(ipc_rd_end(&r), -1);

	/* A length prefix pointing past the payload. */
	{
		uint32_t bogus[2] = { 1, 1000 };
		m.hdr.len = sizeof(bogus);
		m.data = (const uint8_t *)bogus;
		ipc_rd_init(&r, &m);
		(void)ipc_rd_u32(&r);
		ck_assert_ptr_null(ipc_rd_strdup(&r, 4096));
		ck_assert_int_eq(ipc_rd_end(&r), -1);
	}
	ipc_wr_free(&w);
}
END_TEST

START_TEST(test_string_with_nul)
{
	struct ipc_wr	w;
	struct ipc_msg	m;
	struct ipc_rd	r;

	ipc_wr_init(&w);
	ipc_wr_strn(&w, "ab\0cd", 5);
	memset(&m, 0, sizeof(m));
	m.hdr.len = (uint32_t)w.len;
	m.data = w.buf;
	ipc_rd_init(&r, &m);
	ck_assert_ptr_null(ipc_rd_strdup(&r, 64));
	ck_assert_int_eq(ipc_rd_end(&r), -1);
	ipc_wr_free(&w);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("ipc");
	TCase	*tc = tcase_create("framing");
	SRunner	*sr;
	int	 nf;

	tcase_add_test(tc, test_permitted);
	tcase_add_test(tc, test_unknown_type);
	tcase_add_test(tc, test_wrong_size);
	tcase_add_test(tc, test_unexpected_fd);
	tcase_add_test(tc, test_missing_fd);
	tcase_add_test(tc, test_fd_passing);
	tcase_add_test(tc, test_polled);
	tcase_add_test(tc, test_reader_bounds);
	tcase_add_test(tc, test_string_with_nul);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
