/*
 * argon.c (authd): Argon2id derivations on two threads, so a derivation
 * (tens of milliseconds, 19 MiB) never stalls authd's event loop: cheap
 * checks (raw tokens, cached hashes, signatures) keep being answered while
 * up to two derivations run.  A third concurrent one is refused at once
 * (the reference's "authentication verification capacity exceeded"),
 * before any memory is allocated for it.  Results come back to the loop
 * through a pipe.
 */
#include "pwbuild.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <openssl/crypto.h>

#include "authd.h"
#include "log.h"
#include "util.h"

#define ARGON_SLOTS	2

struct argon_job {
	struct argon_job	*next;
	char			*pw;
	size_t			 len;
	int			 ok;
	argon_done		 done;
	void			*arg;
};

static pthread_mutex_t	 argon_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t	 argon_cv = PTHREAD_COND_INITIALIZER;
static struct argon_job	*argon_queue;
static int		 argon_inflight;
static int		 argon_pipe[2] = { -1, -1 };
static struct event	*argon_ev;

static void *
argon_thread(void *unused)
{
	struct argon_job	*j;

	for (;;) {
		pthread_mutex_lock(&argon_mu);
		while (argon_queue == NULL)
			pthread_cond_wait(&argon_cv, &argon_mu);
		j = argon_queue;
		argon_queue = j->next;
		pthread_mutex_unlock(&argon_mu);
		j->ok = token_verify_slow(j->pw, j->len);
		while (write(argon_pipe[1], &j, sizeof(j)) == -1 &&
		    errno == EINTR)
			;
	}
	return NULL;
}

static void
argon_results(evutil_socket_t fd, short ev, void *unused)
{
	struct argon_job	*j;
	ssize_t			 n;

	while ((n = read(fd, &j, sizeof(j))) == (ssize_t)sizeof(j)) {
		argon_inflight--;
		if (j->ok)
			token_remember(j->pw, j->len);
		j->done(j->arg, j->ok);
		freezero(j->pw, j->len + 1);
		free(j);
	}
}

/* Before the sandbox: the threads and the pipe. */
int
argon_init(struct event_base *base, int nthreads)
{
	pthread_t	t;
	int		i;

	if (pipe2(argon_pipe, O_CLOEXEC) == -1)
		return -1;
	pw_set_nonblock(argon_pipe[0]);
	argon_ev = event_new(base, argon_pipe[0], EV_READ | EV_PERSIST,
	    argon_results, NULL);
	event_add(argon_ev, NULL);
	for (i = 0; i < nthreads; i++) {
		if (pthread_create(&t, NULL, argon_thread, NULL) != 0)
			return -1;
		pthread_detach(t);
	}
	return 0;
}

int
argon_busy(void)
{
	return argon_inflight >= ARGON_SLOTS;
}

/* Queue a derivation; -1 when both slots are taken (nothing queued). */
int
argon_submit(const char *pw, size_t len, argon_done done, void *arg)
{
	struct argon_job	*j;

	if (argon_inflight >= ARGON_SLOTS)
		return -1;
	j = xcalloc(1, sizeof(*j));
	j->pw = xmalloc(len + 1);
	memcpy(j->pw, pw, len);
	j->pw[len] = '\0';
	j->len = len;
	j->done = done;
	j->arg = arg;
	argon_inflight++;
	pthread_mutex_lock(&argon_mu);
	j->next = argon_queue;
	argon_queue = j;
	pthread_cond_signal(&argon_cv);
	pthread_mutex_unlock(&argon_mu);
	return 0;
}
