/*
 * dclient.c (proxy): the proxy's own calls to the Docker Engine (the
 * inventory's list, inspect and events requests; the Drydock routes' logs
 * and delete).  Requests are built here from fixed templates and checked
 * ids, never from client bytes.  A response is either collected whole (up
 * to a bound) or handed over as it arrives (streams such as /events).
 */
#include "pwbuild.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "http.h"
#include "log.h"
#include "proxy.h"
#include "util.h"

enum { BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_EOF };

struct dreq {
	struct event_base	*base;
	struct connreq		*wait;
	struct upstream		*up;
	struct evbuffer		*head;
	struct http_scan	 scan;
	int			 status;
	int			 headed;
	int			 mode;
	int			 keepalive;
	uint64_t		 left;
	struct http_chunked	 chunk;
	struct evbuffer		*body;
	size_t			 maxbody;
	struct event		*timer;
	dclient_data		 data;
	dclient_done		 done;
	void			*arg;
	int			 busy;		/* inside a callback */
	int			 cancelled;
};

static struct event_base *dc_base;

void
dclient_init(struct event_base *base)
{
	dc_base = base;
}

static void
dreq_free(struct dreq *d)
{
	upstream_cancel(d->wait);
	upstream_free(d->up);
	if (d->head != NULL)
		evbuffer_free(d->head);
	if (d->body != NULL)
		evbuffer_free(d->body);
	if (d->timer != NULL)
		event_free(d->timer);
	free(d);
}

/* The end: one call to done, then the request is gone. */
static void
dreq_finish(struct dreq *d, int status, const char *err)
{
	struct evbuffer	*body = d->body;

	d->body = NULL;
	/* No answer at all, or a stream (events) that Docker ended. */
	if (err != NULL && (!d->headed || d->data != NULL))
		proxy_docker_seen(0);
	if (err == NULL && d->up != NULL && d->keepalive && d->mode != BODY_EOF) {
		upstream_release(d->up);
		d->up = NULL;
	}
	if (!d->cancelled) {
		d->busy++;
		d->done(d->arg, status, body, err);
		d->busy--;
	}
	if (body != NULL)
		evbuffer_free(body);
	dreq_free(d);
}

int
dclient_status(const struct dreq *d)
{
	return d->status;
}

void
dclient_cancel(struct dreq *d)
{
	if (d == NULL)
		return;
	if (d->busy) {
		d->cancelled = 1;	/* freed when the callback returns */
		return;
	}
	dreq_free(d);
}

static void
dreq_timeout(evutil_socket_t fd, short ev, void *arg)
{
	dreq_finish(arg, 0, "Docker did not answer in time");
}

/* Hand decoded body bytes on, or collect them. 0, or -1 when over bound. */
static int
deliver(struct dreq *d, struct evbuffer *src, size_t n)
{
	if (d->data != NULL) {
		struct evbuffer *tmp = evbuffer_new();
		evbuffer_remove_buffer(src, tmp, n);
		d->busy++;
		d->data(d->arg, tmp);
		d->busy--;
		evbuffer_free(tmp);
		return 0;
	}
	if (evbuffer_get_length(d->body) + n > d->maxbody)
		return -1;
	evbuffer_remove_buffer(src, d->body, n);
	return 0;
}

static void
dc_readcb(struct bufferevent *bev, void *arg)
{
	struct dreq		*d = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct http_limits	 lim;
	struct http_head	 h;
	struct evbuffer		*tmp;
	const char		*why = NULL;
	unsigned char		*p;
	size_t			 n;
	int			 len, r;

	http_limits_default(&lim);
	while (!d->headed) {
		if ((n = evbuffer_get_length(in)) == 0)
			return;
		if (n > lim.max_head + 1)
			n = lim.max_head + 1;
		p = evbuffer_pullup(in, (ssize_t)n);
		if ((len = http_scan(&d->scan, &lim, p, n, 0, &why)) == 0)
			return;
		if (len < 0 || http_parse_response(&h, (const char *)p,
		    (size_t)len) != 0) {
			if (len >= 0)
				http_head_free(&h);
			dreq_finish(d, 0, "unparsable response from Docker");
			return;
		}
		evbuffer_drain(in, (size_t)len);
		http_scan_init(&d->scan);
		if (h.status >= 100 && h.status < 200) {
			http_head_free(&h);
			continue;
		}
		d->headed = 1;
		d->status = h.status;
		proxy_docker_seen(1);
		if (d->data != NULL) {
			/* Streams: say the head arrived (data NULL). */
			d->busy++;
			d->data(d->arg, NULL);
			d->busy--;
			if (d->cancelled) {
				http_head_free(&h);
				dreq_free(d);
				return;
			}
		}
		d->keepalive = h.keepalive;
		if (h.status == 204 || h.status == 304)
			d->mode = BODY_NONE;
		else if (h.chunked) {
			d->mode = BODY_CHUNKED;
			http_chunked_init(&d->chunk);
		} else if (h.has_cl) {
			d->mode = BODY_LENGTH;
			d->left = h.content_length;
		} else
			d->mode = BODY_EOF;
		http_head_free(&h);
	}
	for (;;) {
		if (d->cancelled) {
			dreq_free(d);
			return;
		}
		switch (d->mode) {
		case BODY_NONE:
			dreq_finish(d, d->status, NULL);
			return;
		case BODY_LENGTH:
			if (d->left == 0) {
				dreq_finish(d, d->status, NULL);
				return;
			}
			n = evbuffer_get_length(in);
			if (n > d->left)
				n = (size_t)d->left;
			if (n == 0)
				return;
			if (deliver(d, in, n) == -1) {
				dreq_finish(d, 0, "Docker answer too large");
				return;
			}
			d->left -= n;
			break;
		case BODY_CHUNKED:
			tmp = evbuffer_new();
			r = http_chunked_step(&d->chunk, in, tmp, 1 << 20, &why);
			n = evbuffer_get_length(tmp);
			if (n > 0 && deliver(d, tmp, n) == -1)
				r = -1, why = "Docker answer too large";
			evbuffer_free(tmp);
			if (r < 0) {
				dreq_finish(d, 0, why);
				return;
			}
			if (r == 1) {
				dreq_finish(d, d->status, NULL);
				return;
			}
			if (n == 0)
				return;
			break;
		case BODY_EOF:
			if ((n = evbuffer_get_length(in)) == 0)
				return;
			if (deliver(d, in, n) == -1) {
				dreq_finish(d, 0, "Docker answer too large");
				return;
			}
			break;
		}
	}
}

static void
dc_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct dreq	*d = arg;

	if (d->headed && d->mode == BODY_EOF) {
		dc_readcb(bev, d);
		if (!d->cancelled)
			dreq_finish(d, d->status, NULL);
		return;
	}
	dreq_finish(d, 0, "Docker closed the connection");
}

static void
dc_failed(evutil_socket_t fd, short ev, void *arg)
{
	struct dreq	*d = arg;
	char		 msg[128];

	snprintf(msg, sizeof(msg), "cannot connect to Docker: %s",
	    strerror(d->status));
	d->status = 0;
	dreq_finish(d, 0, msg);
}

static void
dc_connected(void *arg, struct upstream *u, int err)
{
	struct dreq	*d = arg;
	struct timeval	 now = { 0, 0 };

	d->wait = NULL;
	if (u == NULL) {
		/* Report from the loop, never from inside dclient_request. */
		d->status = err;
		event_base_once(dc_base, -1, EV_TIMEOUT, dc_failed, d, &now);
		return;
	}
	d->up = u;
	bufferevent_setcb(u->bev, dc_readcb, NULL, dc_eventcb, d);
	bufferevent_enable(u->bev, EV_READ);	/* writes: pw_bev_fastwrite */
	evbuffer_add_buffer(bufferevent_get_output(u->bev), d->head);
}

/*
 * Start METHOD target.  With data, the body is handed over as it arrives;
 * else it is collected (at most maxbody bytes) and given to done.
 * timeout_s 0 means none (streams).  done always runs later, from the
 * event loop; the handle stays valid until then (for dclient_cancel).
 */
struct dreq *
dclient_request(const char *method, const char *target, int timeout_s,
    size_t maxbody, dclient_data data, dclient_done done, void *arg)
{
	return dclient_request_body(method, target, NULL, 0, timeout_s,
	    maxbody, data, done, arg);
}

/* The same with a JSON request body (len bytes of json; NULL: none). */
struct dreq *
dclient_request_body(const char *method, const char *target,
    const char *json, size_t len, int timeout_s, size_t maxbody,
    dclient_data data, dclient_done done, void *arg)
{
	struct dreq	*d = xcalloc(1, sizeof(*d));
	struct connreq	*w;

	d->head = evbuffer_new();
	evbuffer_add_printf(d->head, "%s %s HTTP/1.1\r\nHost: docker\r\n"
	    "User-Agent: portwing\r\n", method, target);
	if (json != NULL)
		evbuffer_add_printf(d->head, "Content-Type: application/json\r\n"
		    "Content-Length: %zu\r\n\r\n", len);
	else
		evbuffer_add(d->head, "\r\n", 2);
	if (json != NULL)
		evbuffer_add(d->head, json, len);
	d->body = evbuffer_new();
	d->maxbody = maxbody;
	d->data = data;
	d->done = done;
	d->arg = arg;
	if (timeout_s > 0) {
		struct timeval tv = { timeout_s, 0 };
		d->timer = evtimer_new(dc_base, dreq_timeout, d);
		evtimer_add(d->timer, &tv);
	}
	if ((w = upstream_get(dc_connected, d)) != NULL)
		d->wait = w;
	return d;
}

/* A full container ID as Docker lists it (lower-case hex), fit for a path. */
int
dclient_hex_id(const char *id)
{
	size_t	n = strlen(id);

	return n >= 12 && n < 80 && strspn(id, "0123456789abcdef") == n;
}

/* Docker's "message" from an error body, else the text itself. */
void
dclient_message(struct evbuffer *b, char *out, size_t outsz)
{
	size_t	 n = evbuffer_get_length(b);
	json_t	*o = json_loadb((const char *)evbuffer_pullup(b, -1), n, 0, NULL);

	if (o != NULL && json_is_string(json_object_get(o, "message")))
		pw_strlcpy(out, json_string_value(json_object_get(o, "message")),
		    outsz);
	else {
		if (n >= outsz)
			n = outsz - 1;
		evbuffer_copyout(b, out, n);
		out[n] = '\0';
		out[strcspn(out, "\r\n")] = '\0';
	}
	json_decref(o);
}
