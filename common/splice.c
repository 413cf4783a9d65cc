/*
 * splice.c: a counted run of bytes from one socket to another, through a
 * pipe, without a copy through user space (see splice.h).
 *
 * Moving a body through a process with read and write costs two copies
 * per byte (socket to user space and back) and a wake-up per read.  With
 * splice(2) the kernel moves references to the pages instead: from a TCP
 * or unix socket into the pipe, and from the pipe into the next socket.
 * The pipe is emptied before each read, so it never holds more than one
 * read's worth, and a read never asks for more than is left of the run.
 */
#include "pwbuild.h"

#include <sys/types.h>

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "log.h"
#include "splice.h"
#include "util.h"

#define SPLICE_PIPE_SIZE	(256 * 1024)	/* asked; the kernel may give less */
#define SPLICE_BUDGET		(1024 * 1024)	/* per turn of the loop */

struct splicer {
	int		 from, to;
	int		 pipe[2];
	size_t		 cap;		/* the pipe's size */
	size_t		 inpipe;	/* taken, not yet written */
	uint64_t	 left;		/* still to take from `from' */
	uint64_t	 taken;
	struct event	*rd, *wr, *kick;
	splice_cb	 cb;
	void		*arg;
};

static void	splicer_pump(struct splicer *);

static void
splicer_ev(evutil_socket_t fd, short what, void *arg)
{
	splicer_pump(arg);
}

/* Wait for `fd' of one side only: the other is never the holdup. */
static void
splicer_wait(struct splicer *s, struct event *on, struct event *off)
{
	event_del(off);
	if (!event_pending(on, EV_READ | EV_WRITE, NULL))
		event_add(on, NULL);
}

static void
splicer_pump(struct splicer *s)
{
	size_t	budget = SPLICE_BUDGET, want;
	ssize_t	n;

	for (;;) {
		if (s->inpipe > 0) {
			n = splice(s->pipe[0], NULL, s->to, NULL, s->inpipe,
			    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
			if (n == -1 && errno == EINTR)
				continue;
			if (n == -1 && errno == EAGAIN) {
				splicer_wait(s, s->wr, s->rd);
				return;
			}
			if (n <= 0) {
				event_del(s->rd);
				event_del(s->wr);
				s->cb(s, SPLICE_WRERR, n == 0 ? EPIPE : errno,
				    s->arg);
				return;
			}
			s->inpipe -= (size_t)n;
			continue;
		}
		if (s->left == 0) {
			event_del(s->rd);
			event_del(s->wr);
			s->cb(s, SPLICE_DONE, 0, s->arg);
			return;
		}
		if (budget == 0) {
			/* Others get their turn; go on in the next one. */
			event_del(s->rd);
			event_del(s->wr);
			event_active(s->kick, EV_TIMEOUT, 0);
			return;
		}
		want = s->cap;
		if (want > s->left)
			want = (size_t)s->left;
		n = splice(s->from, NULL, s->pipe[1], NULL, want,
		    SPLICE_F_MOVE | SPLICE_F_NONBLOCK);
		if (n == -1 && errno == EINTR)
			continue;
		if (n == -1 && errno == EAGAIN) {
			splicer_wait(s, s->rd, s->wr);
			return;
		}
		if (n <= 0) {
			event_del(s->rd);
			event_del(s->wr);
			s->cb(s, n == 0 ? SPLICE_EOF : SPLICE_RDERR,
			    n == 0 ? 0 : errno, s->arg);
			return;
		}
		s->left -= (uint64_t)n;
		s->taken += (uint64_t)n;
		s->inpipe += (size_t)n;
		budget = (size_t)n >= budget ? 0 : budget - (size_t)n;
	}
}

struct splicer *
splicer_new(struct event_base *base, int from, int to, uint64_t n,
    splice_cb cb, void *arg)
{
	struct splicer	*s;
	int		 sz;

	s = xcalloc(1, sizeof(*s));
	if (pipe2(s->pipe, O_CLOEXEC | O_NONBLOCK) == -1) {
		free(s);
		return NULL;
	}
	(void)fcntl(s->pipe[1], F_SETPIPE_SZ, SPLICE_PIPE_SIZE);
	sz = fcntl(s->pipe[1], F_GETPIPE_SZ);
	s->cap = sz > 0 ? (size_t)sz : 65536;
	s->from = from;
	s->to = to;
	s->left = n;
	s->cb = cb;
	s->arg = arg;
	if ((s->rd = event_new(base, from, EV_READ | EV_PERSIST, splicer_ev,
	    s)) == NULL || (s->wr = event_new(base, to, EV_WRITE | EV_PERSIST,
	    splicer_ev, s)) == NULL || (s->kick = event_new(base, -1, 0,
	    splicer_ev, s)) == NULL)
		fatalx("event_new");
	/* The first move runs from the loop, never inside the caller. */
	event_active(s->kick, EV_TIMEOUT, 0);
	return s;
}

uint64_t
splicer_taken(const struct splicer *s)
{
	return s->taken;
}

void
splicer_free(struct splicer *s)
{
	if (s == NULL)
		return;
	event_free(s->rd);
	event_free(s->wr);
	event_free(s->kick);
	close(s->pipe[0]);
	close(s->pipe[1]);
	free(s);
}
