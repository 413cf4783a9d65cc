/*
 * pool.c (proxy): Docker connections.  Idle ones are kept (at most
 * PROXY_MAX_IDLE, each for UPSTREAM_IDLE_TIMEOUT seconds, and dropped as
 * soon as Docker closes them); new ones are asked of the master, the only
 * process allowed to connect(), which answers with a descriptor or errno.
 * Requests waiting for a connection are answered in order of asking.
 */
#include "pwbuild.h"

#include <sys/queue.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>

#include "ipc.h"
#include "log.h"
#include "proxy.h"
#include "util.h"

struct connreq {
	TAILQ_ENTRY(connreq)	 entry;
	uint32_t		 id;
	upstream_cb		 cb;
	void			*arg;
};

static struct {
	struct event_base	*base;
	struct ipc_chan		*master;
	TAILQ_HEAD(upq, upstream) idle;
	int			 nidle;
	int			 idle_s;
	TAILQ_HEAD(, connreq)	 waiting;
	uint32_t		 next_id;
	struct event		*reaper;
} pool;

struct upstream *
upstream_new(int fd)
{
	struct upstream	*u = xcalloc(1, sizeof(*u));

	pw_set_nonblock(fd);
	u->bev = bufferevent_socket_new(pool.base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (u->bev == NULL)
		fatalx("bufferevent_socket_new");
	bufferevent_setwatermark(u->bev, EV_READ, 0, PROXY_HIGH_WATER);
	pw_bev_tune(u->bev);
	bufferevent_setwatermark(u->bev, EV_WRITE, PROXY_HIGH_WATER / 2, 0);
	pw_bev_fastwrite(u->bev);
	return u;
}

void
upstream_free(struct upstream *u)
{
	if (u == NULL)
		return;
	bufferevent_free(u->bev);
	free(u);
}

static void
idle_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct upstream	*u = arg;

	TAILQ_REMOVE(&pool.idle, u, entry);
	pool.nidle--;
	upstream_free(u);
}

/* A finished, clean connection: give it to a waiter or keep it idle. */
void
upstream_release(struct upstream *u)
{
	struct connreq	*w;

	if (evbuffer_get_length(bufferevent_get_input(u->bev)) != 0) {
		upstream_free(u);
		return;
	}
	if ((w = TAILQ_FIRST(&pool.waiting)) != NULL) {
		TAILQ_REMOVE(&pool.waiting, w, entry);
		bufferevent_setcb(u->bev, NULL, NULL, NULL, NULL);
		w->cb(w->arg, u, 0);
		free(w);
		return;
	}
	if (pool.nidle >= PROXY_MAX_IDLE) {
		upstream_free(u);
		return;
	}
	u->idle_since = pw_now_ms();
	/* Watch idle connections so one Docker closed leaves the pool. */
	bufferevent_setcb(u->bev, NULL, NULL, idle_eventcb, u);
	bufferevent_enable(u->bev, EV_READ);
	TAILQ_INSERT_HEAD(&pool.idle, u, entry);
	pool.nidle++;
}

/*
 * A connection for cb: from the idle pool at once (returns NULL, cb ran),
 * or later from the master (returns a handle for upstream_cancel).
 */
struct connreq *
upstream_get(upstream_cb cb, void *arg)
{
	struct upstream	*u;
	struct connreq	*w;

	if ((u = TAILQ_FIRST(&pool.idle)) != NULL) {
		TAILQ_REMOVE(&pool.idle, u, entry);
		pool.nidle--;
		bufferevent_setcb(u->bev, NULL, NULL, NULL, NULL);
		cb(arg, u, 0);
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->id = ++pool.next_id;
	w->cb = cb;
	w->arg = arg;
	TAILQ_INSERT_TAIL(&pool.waiting, w, entry);
	if (pool.master == NULL ||
	    ipc_send(pool.master, IPC_P_DOCKER_REQ, 0, w->id, NULL, 0, -1) == -1) {
		TAILQ_REMOVE(&pool.waiting, w, entry);
		free(w);
		cb(arg, NULL, EPIPE);
		return NULL;
	}
	return w;
}

void
upstream_cancel(struct connreq *w)
{
	if (w == NULL)
		return;
	TAILQ_REMOVE(&pool.waiting, w, entry);
	free(w);
}

/* IPC_M_DOCKER_ANS: a connected descriptor, or the errno of trying. */
void
pool_docker_answer(struct ipc_msg *m)
{
	struct connreq	*w;
	struct ipc_rd	 rd;
	uint32_t	 err;

	ipc_rd_init(&rd, m);
	err = ipc_rd_u32(&rd);
	if (ipc_rd_end(&rd) == -1 || (err == 0) != (m->fd != -1))
		fatalx("malformed Docker connection answer");
	TAILQ_FOREACH(w, &pool.waiting, entry)
		if (w->id == m->hdr.id)
			break;
	if (w == NULL) {
		/* The asker left meanwhile: keep the connection for later. */
		if (m->fd != -1)
			upstream_release(upstream_new(m->fd));
		return;
	}
	TAILQ_REMOVE(&pool.waiting, w, entry);
	if (err != 0)
		w->cb(w->arg, NULL, (int)err);
	else
		w->cb(w->arg, upstream_new(m->fd), 0);
	free(w);
}

static void
pool_reap(evutil_socket_t fd, short ev, void *arg)
{
	struct upstream	*u, *prev;
	uint64_t	 now = pw_now_ms();

	for (u = TAILQ_LAST(&pool.idle, upq); u != NULL; u = prev) {
		prev = TAILQ_PREV(u, upq, entry);
		if (now - u->idle_since < (uint64_t)pool.idle_s * 1000)
			break;
		TAILQ_REMOVE(&pool.idle, u, entry);
		pool.nidle--;
		upstream_free(u);
	}
}

void
pool_init(struct event_base *base, int idle_s)
{
	struct timeval	tv = { 10, 0 };

	pool.base = base;
	pool.idle_s = idle_s;
	TAILQ_INIT(&pool.idle);
	TAILQ_INIT(&pool.waiting);
	/* Reap at least twice per idle period. */
	if (idle_s < 20) {
		tv.tv_sec = idle_s / 2;
		tv.tv_usec = (idle_s % 2) * 500000;
	}
	pool.reaper = event_new(base, -1, EV_PERSIST, pool_reap, NULL);
	event_add(pool.reaper, &tv);
}

void
pool_set_master(struct ipc_chan *master)
{
	pool.master = master;
}
