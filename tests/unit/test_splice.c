/*
 * test_splice.c: a splicer moves exactly the bytes it was given from one
 * socket to another, leaves what follows them in the source, and says why
 * it stopped when a side goes away.
 */
#include "pwbuild.h"

#include <sys/socket.h>

#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "splice.h"

struct run {
	int		 ended;
	enum splice_end	 how;
	int		 err;
	uint64_t	 taken;
};

static void
on_end(struct splicer *s, enum splice_end how, int err, void *arg)
{
	struct run	*r = arg;

	r->ended++;
	r->how = how;
	r->err = err;
	r->taken = splicer_taken(s);
}

static void
pair(int sv[2])
{
	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0,
	    sv), 0);
}

/* Feeds `len' bytes of a pattern into fd from a thread (blocking). */
struct feed {
	int		 fd;
	size_t		 len;
	int		 close_after;
};

static unsigned char
pat(size_t i)
{
	return (unsigned char)((i * 131) ^ (i >> 9));
}

static void *
feeder(void *arg)
{
	struct feed	*f = arg;
	unsigned char	 buf[70000];
	size_t		 off = 0, k, i;
	ssize_t		 n;
	int		 fl = fcntl(f->fd, F_GETFL);

	fcntl(f->fd, F_SETFL, fl & ~O_NONBLOCK);
	while (off < f->len) {
		k = f->len - off < sizeof(buf) ? f->len - off : sizeof(buf);
		for (i = 0; i < k; i++)
			buf[i] = pat(off + i);
		if ((n = write(f->fd, buf, k)) <= 0)
			break;
		off += (size_t)n;
	}
	if (f->close_after)
		close(f->fd);
	return NULL;
}

/* Reads everything from fd (blocking) until EOF into *out. */
struct drain {
	int		 fd;
	unsigned char	*buf;
	size_t		 len, cap;
};

static void *
drainer(void *arg)
{
	struct drain	*d = arg;
	ssize_t		 n;
	int		 fl = fcntl(d->fd, F_GETFL);

	fcntl(d->fd, F_SETFL, fl & ~O_NONBLOCK);
	for (;;) {
		if (d->len == d->cap) {
			d->cap = d->cap ? d->cap * 2 : 65536;
			d->buf = realloc(d->buf, d->cap);
		}
		if ((n = read(d->fd, d->buf + d->len, d->cap - d->len)) <= 0)
			break;
		d->len += (size_t)n;
	}
	return NULL;
}

START_TEST(test_exact_run)
{
	struct event_base	*base = event_base_new();
	struct splicer		*s;
	struct run		 r = { 0 };
	struct feed		 f;
	struct drain		 d = { 0 };
	pthread_t		 tf, td;
	int			 a[2], b[2];
	size_t			 i, want = 5 * 1024 * 1024 + 77, extra = 4096;
	char			 rest[8192];
	ssize_t			 n;

	pair(a);
	pair(b);
	f.fd = a[0];
	f.len = want + extra;	/* more than the run: the rest stays */
	f.close_after = 0;
	d.fd = b[1];
	pthread_create(&tf, NULL, feeder, &f);
	pthread_create(&td, NULL, drainer, &d);
	s = splicer_new(base, a[1], b[0], want, on_end, &r);
	ck_assert_ptr_nonnull(s);
	while (r.ended == 0)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(r.ended, 1);
	ck_assert_int_eq(r.how, SPLICE_DONE);
	ck_assert_uint_eq(r.taken, want);
	splicer_free(s);
	pthread_join(tf, NULL);
	close(b[0]);
	pthread_join(td, NULL);
	ck_assert_uint_eq(d.len, want);
	for (i = 0; i < want; i++)
		if (d.buf[i] != pat(i))
			ck_abort_msg("byte %zu differs", i);
	/* What followed the run is still in the source, in order. */
	n = read(a[1], rest, sizeof(rest));
	ck_assert_int_eq(n, (ssize_t)extra);
	for (i = 0; i < extra; i++)
		ck_assert_int_eq((unsigned char)rest[i], pat(want + i));
	free(d.buf);
	close(a[0]);
	close(a[1]);
	close(b[1]);
	event_base_free(base);
}
END_TEST

START_TEST(test_source_ends_early)
{
	struct event_base	*base = event_base_new();
	struct splicer		*s;
	struct run		 r = { 0 };
	struct feed		 f;
	struct drain		 d = { 0 };
	pthread_t		 tf, td;
	int			 a[2], b[2];

	pair(a);
	pair(b);
	f.fd = a[0];
	f.len = 300000;
	f.close_after = 1;
	d.fd = b[1];
	pthread_create(&tf, NULL, feeder, &f);
	pthread_create(&td, NULL, drainer, &d);
	s = splicer_new(base, a[1], b[0], 1000000, on_end, &r);
	while (r.ended == 0)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(r.how, SPLICE_EOF);
	ck_assert_uint_eq(r.taken, 300000);
	splicer_free(s);
	pthread_join(tf, NULL);
	close(b[0]);
	pthread_join(td, NULL);
	ck_assert_uint_eq(d.len, 300000);
	free(d.buf);
	close(a[1]);
	close(b[1]);
	event_base_free(base);
}
END_TEST

START_TEST(test_sink_gone)
{
	struct event_base	*base = event_base_new();
	struct splicer		*s;
	struct run		 r = { 0 };
	struct feed		 f;
	pthread_t		 tf;
	int			 a[2], b[2];

	signal(SIGPIPE, SIG_IGN);
	pair(a);
	pair(b);
	close(b[1]);		/* nobody will read */
	f.fd = a[0];
	f.len = 200000;
	f.close_after = 0;
	pthread_create(&tf, NULL, feeder, &f);
	s = splicer_new(base, a[1], b[0], 200000, on_end, &r);
	while (r.ended == 0)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(r.how, SPLICE_WRERR);
	ck_assert_int_eq(r.err, EPIPE);
	splicer_free(s);
	close(a[1]);		/* the feeder's write fails and it ends */
	pthread_join(tf, NULL);
	close(a[0]);
	close(b[0]);
	event_base_free(base);
}
END_TEST

/* Freed before it ran: nothing is reported, nothing moves. */
START_TEST(test_free_at_once)
{
	struct event_base	*base = event_base_new();
	struct splicer		*s;
	struct run		 r = { 0 };
	int			 a[2], b[2];
	char			 c;

	pair(a);
	pair(b);
	ck_assert_int_eq(write(a[0], "x", 1), 1);
	s = splicer_new(base, a[1], b[0], 10, on_end, &r);
	splicer_free(s);
	event_base_loop(base, EVLOOP_NONBLOCK);
	ck_assert_int_eq(r.ended, 0);
	ck_assert_int_eq(read(a[1], &c, 1), 1);
	close(a[0]);
	close(a[1]);
	close(b[0]);
	close(b[1]);
	event_base_free(base);
}
END_TEST

int
main(void)
{
	Suite	*s = suite_create("splice");
	TCase	*tc = tcase_create("core");
	SRunner	*sr;
	int	 nf;

	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_exact_run);
	tcase_add_test(tc, test_source_ends_early);
	tcase_add_test(tc, test_sink_gone);
	tcase_add_test(tc, test_free_at_once);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	nf = srunner_ntests_failed(sr);
	srunner_free(sr);
	return nf == 0 ? 0 : 1;
}
