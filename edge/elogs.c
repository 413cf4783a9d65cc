/*
 * elogs.c: container logs and deletion over the edge session
 * (edge-protocol.md 5.10, 5.11), on the same path to Docker as the
 * controller's other calls (etunnel.c: authd's approval, the proxy).
 *
 *   dd:container_log_request, one-shot  -> dd:container_log_response with
 *                                          the text (demultiplexed), or
 *                                          "error: ..." in it
 *   dd:container_log_request, stream    -> dd:container_log_chunk per
 *                                          Docker frame, then _end (eof,
 *                                          canceled) or _error
 *   dd:container_log_cancel             -> the stream stops; _end canceled
 *   dd:container_delete_request         -> dd:container_delete_response
 *
 * Bounds: 128 live streams, 32 one-shot requests (logs and deletes) at
 * once; a one-shot text of at most 12 MiB (a message must stay under
 * 16 MiB once escaped; the rest is cut and says so); a Docker frame over
 * 256 KiB is skipped, as in Portwing.  Text that is not UTF-8 is mended
 * (U+FFFD), since the controller closes the session on a text frame that
 * is not.
 */
#include "pwbuild.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "edge.h"
#include "edge_int.h"
#include "log.h"
#include "util.h"

#define LOG_STREAMS_MAX		128
#define ONESHOT_MAX		32
#define LOG_TEXT_MAX		(12 * 1024 * 1024)
#define LOG_FRAME_MAX		(256 * 1024)

enum lkind { LK_ONESHOT, LK_STREAM, LK_DELETE };

struct lreq {
	TAILQ_ENTRY(lreq)	 entry;
	enum lkind		 kind;
	struct treq		*t;
	char			 id[129];
	char			 cid[129];
	int			 mux;		/* -1 unknown, 0 raw, 1 framed */
	unsigned char		*buf;		/* a frame being gathered */
	size_t			 len, cap;
	size_t			 skip;		/* bytes of a frame to skip */
	char			*text;		/* one-shot: the logs so far */
	size_t			 tlen;
	int			 cut;		/* one-shot: over LOG_TEXT_MAX */
};

static struct {
	TAILQ_HEAD(, lreq)	 reqs;
	int			 nstreams, noneshot;
} lg = { TAILQ_HEAD_INITIALIZER(lg.reqs), 0, 0 };

static void
lreq_free(struct lreq *l)
{
	TAILQ_REMOVE(&lg.reqs, l, entry);
	if (l->kind == LK_STREAM)
		lg.nstreams--;
	else
		lg.noneshot--;
	free(l->buf);
	free(l->text);
	free(l);
}

/* A JSON string of these bytes, mended to UTF-8 where they are not. */
static json_t *
text_json(const unsigned char *p, size_t n)
{
	size_t	 m;
	char	*u = pw_utf8_mend(p, n, &m);
	json_t	*j = json_stringn(u, m);

	free(u);
	return j;
}

static void
send_log_error(const char *id, const char *cid, const char *msg)
{
	(void)edge_send(edge_envelope("dd:container_log_error", json_pack(
	    "{s:s, s:s, s:s}", "requestId", id, "containerId", cid, "error",
	    msg)));
}

static void
send_log_end(struct lreq *l, const char *reason)
{
	(void)edge_send(edge_envelope("dd:container_log_end", json_pack(
	    "{s:s, s:s, s:s}", "requestId", l->id, "containerId", l->cid,
	    "reason", reason)));
}

/* One piece of output: a chunk (stream mode) or more text (one-shot). */
static void
emit(struct lreq *l, int fd, const unsigned char *p, size_t n)
{
	if (n == 0)
		return;
	if (l->kind == LK_STREAM) {
		json_t	*d = json_pack("{s:s, s:s, s:s, s:o}", "requestId",
		    l->id, "containerId", l->cid, "stream", fd == 2 ?
		    "stderr" : "stdout", "logs", text_json(p, n));

		(void)edge_send(edge_envelope("dd:container_log_chunk", d));
		return;
	}
	if (l->cut)
		return;
	if (l->tlen + n > LOG_TEXT_MAX) {
		n = LOG_TEXT_MAX - l->tlen;
		l->cut = 1;
	}
	l->text = xreallocarray(l->text, l->tlen + n + 1, 1);
	memcpy(l->text + l->tlen, p, n);
	l->tlen += n;
}

/*
 * Docker's log bytes: 8-byte headers (stream, 0, 0, 0, length) before
 * each frame unless the container has a TTY, decided by the first bytes.
 */
static int
log_data(struct treq *t, void *ctx, const unsigned char *p, size_t n)
{
	struct lreq	*l = ctx;
	size_t		 flen, k;

	if (l->kind == LK_DELETE || treq_status(t) / 100 != 2)
		return treq_hold(t, p, n);
	if (l->mux == 0) {
		emit(l, 1, p, n);
		return 0;
	}
	while (n > 0) {
		if (l->skip > 0) {
			/* A frame over 256 KiB: skipped, as in Portwing. */
			k = n < l->skip ? n : l->skip;
			l->skip -= k;
			p += k;
			n -= k;
			continue;
		}
		if (l->len + n > l->cap) {
			l->cap = l->len + n > 65536 ? l->len + n : 65536;
			l->buf = xreallocarray(l->buf, l->cap, 1);
		}
		memcpy(l->buf + l->len, p, n);
		l->len += n;
		n = 0;
		if (l->mux == -1) {
			if (l->len < 8)
				return 0;
			l->mux = l->buf[0] <= 2 && l->buf[1] == 0 &&
			    l->buf[2] == 0 && l->buf[3] == 0;
			if (!l->mux) {
				emit(l, 1, l->buf, l->len);
				l->len = 0;
				return 0;
			}
		}
		while (l->len >= 8) {
			flen = ((size_t)l->buf[4] << 24) |
			    ((size_t)l->buf[5] << 16) |
			    ((size_t)l->buf[6] << 8) | l->buf[7];
			if (flen > LOG_FRAME_MAX) {
				/* All of it held here belongs to the frame
				   when some of the frame is still to come. */
				k = l->len - 8 < flen ? l->len - 8 : flen;
				l->skip = flen - k;
				memmove(l->buf, l->buf + 8 + k,
				    l->len - 8 - k);
				l->len -= 8 + k;
				continue;
			}
			if (l->len < 8 + flen)
				break;
			emit(l, l->buf[0], l->buf + 8, flen);
			memmove(l->buf, l->buf + 8 + flen, l->len - 8 - flen);
			l->len -= 8 + flen;
		}
	}
	return 0;
}

static void
log_head(struct treq *t, void *ctx)
{
}

static void
log_end(struct treq *t, void *ctx)
{
	struct lreq	*l = ctx;
	char		 err[300];

	l->t = NULL;
	if (l->kind == LK_DELETE) {
		int ok = treq_status(t) == 204 || treq_status(t) == 200;
		json_t *d = json_pack("{s:s, s:s, s:b}", "requestId", l->id,
		    "containerId", l->cid, "success", ok);

		if (!ok) {
			treq_reason(t, "remove container", err, sizeof(err));
			json_object_set_new(d, "error", json_string(err));
		}
		(void)edge_send(edge_envelope("dd:container_delete_response",
		    d));
	} else if (treq_status(t) / 100 != 2) {
		treq_reason(t, "container logs", err, sizeof(err));
		if (l->kind == LK_STREAM)
			send_log_error(l->id, l->cid, err);
		else {
			char *s;

			xasprintf(&s, "error: %s", err);
			(void)edge_send(edge_envelope(
			    "dd:container_log_response", json_pack(
			    "{s:s, s:s, s:s}", "requestId", l->id,
			    "containerId", l->cid, "logs", s)));
			free(s);
		}
	} else if (l->kind == LK_STREAM) {
		if (l->len > 0 && !l->mux)
			emit(l, 1, l->buf, l->len);
		send_log_end(l, "eof");
	} else {
		if (l->len > 0 && !l->mux)
			emit(l, 1, l->buf, l->len);
		if (l->cut) {
			static const char more[] = "\n[portwing: logs cut at "
			    "12 MiB; ask with tail or since]\n";
			l->text = xreallocarray(l->text, l->tlen +
			    sizeof(more), 1);
			memcpy(l->text + l->tlen, more, sizeof(more) - 1);
			l->tlen += sizeof(more) - 1;
		}
		(void)edge_send(edge_envelope("dd:container_log_response",
		    json_pack("{s:s, s:s, s:o}", "requestId", l->id,
		    "containerId", l->cid, "logs", text_json(
		    (const unsigned char *)(l->text ? l->text : ""), l->tlen))));
	}
	lreq_free(l);
}

static void
log_fail(struct treq *t, void *ctx, const char *msg)
{
	struct lreq	*l = ctx;
	char		*s;

	l->t = NULL;
	if (l->kind == LK_DELETE)
		(void)edge_send(edge_envelope("dd:container_delete_response",
		    json_pack("{s:s, s:s, s:b, s:s}", "requestId", l->id,
		    "containerId", l->cid, "success", 0, "error", msg)));
	else if (l->kind == LK_STREAM)
		send_log_error(l->id, l->cid, msg);
	else {
		xasprintf(&s, "error: %s", msg);
		(void)edge_send(edge_envelope("dd:container_log_response",
		    json_pack("{s:s, s:s, s:s}", "requestId", l->id,
		    "containerId", l->cid, "logs", s)));
		free(s);
	}
	lreq_free(l);
}

static const struct tops log_ops = { log_head, log_data, log_end, log_fail };

static struct lreq *
lreq_find(const char *id)
{
	struct lreq	*l;

	TAILQ_FOREACH(l, &lg.reqs, entry)
		if (strcmp(l->id, id) == 0)
			return l;
	return NULL;
}

/* since and until: a string, or a number (the live viewer sends 0). */
static int
time_arg(json_t *v, char *buf, size_t sz)
{
	const char	*s;
	size_t		 i;

	buf[0] = '\0';
	if (v == NULL || json_is_null(v))
		return 0;
	if (json_is_integer(v))
		snprintf(buf, sz, "%lld", (long long)json_integer_value(v));
	else if (json_is_real(v))
		snprintf(buf, sz, "%.9f", json_real_value(v));
	else if ((s = json_string_value(v)) != NULL && strlen(s) < sz) {
		for (i = 0; s[i] != '\0'; i++)
			if (!((s[i] >= '0' && s[i] <= '9') || s[i] == '.' ||
			    s[i] == '-' || s[i] == ':' || s[i] == 'T' ||
			    s[i] == 'Z' || s[i] == 'z' || s[i] == '+' ||
			    (s[i] >= 'a' && s[i] <= 'z') ||
			    (s[i] >= 'A' && s[i] <= 'Z')))
				return -1;
		pw_strlcpy(buf, s, sz);
	} else
		return -1;
	return 0;
}

static void
start(struct lreq *l, const char *method, const char *target,
    const char *failmsg)
{
	TAILQ_INSERT_TAIL(&lg.reqs, l, entry);
	if (l->kind == LK_STREAM)
		lg.nstreams++;
	else
		lg.noneshot++;
	if ((l->t = tunnel_start(method, target, NULL, "", &log_ops, l)) ==
	    NULL)
		log_fail(NULL, l, failmsg);
}

void
edge_log_request(json_t *d)
{
	const char	*id = json_string_value(json_object_get(d, "requestId"));
	const char	*cid = json_string_value(json_object_get(d,
			    "containerId"));
	json_t		*tail = json_object_get(d, "tail");
	int		 stream = json_is_true(json_object_get(d, "stream"));
	int		 follow = json_is_true(json_object_get(d, "follow"));
	int		 ts = json_is_true(json_object_get(d, "timestamps"));
	char		 since[64], until[64], target[512];
	struct lreq	*l;

	if (id == NULL || cid == NULL || *id == '\0' || *cid == '\0' ||
	    strlen(id) > 128) {
		send_log_error(id ? id : "", cid ? cid : "",
		    "requestId and containerId are required");
		return;
	}
	if (!edge_cid_ok(cid) || time_arg(json_object_get(d, "since"), since,
	    sizeof(since)) == -1 || time_arg(json_object_get(d, "until"),
	    until, sizeof(until)) == -1 || (tail != NULL &&
	    !json_is_integer(tail) && !json_is_null(tail))) {
		if (stream)
			send_log_error(id, cid, "invalid log request");
		else
			(void)edge_send(edge_envelope(
			    "dd:container_log_response", json_pack(
			    "{s:s, s:s, s:s}", "requestId", id, "containerId",
			    cid, "logs", "error: invalid log request")));
		return;
	}
	if (stream && lreq_find(id) != NULL) {
		send_log_error(id, cid, "duplicate requestId");
		return;
	}
	if (stream && lg.nstreams >= LOG_STREAMS_MAX) {
		send_log_error(id, cid, "too many active container log streams");
		return;
	}
	if (!stream && lg.noneshot >= ONESHOT_MAX) {
		(void)edge_send(edge_envelope("dd:container_log_response",
		    json_pack("{s:s, s:s, s:s}", "requestId", id, "containerId",
		    cid, "logs", "error: agent busy: too many log requests")));
		return;
	}
	if (!stream && follow) {
		/* One-shot with follow: a bounded 5 s window (5.10). */
		snprintf(until, sizeof(until), "%lld",
		    (long long)time(NULL) + 5);
		follow = 0;
	}
	snprintf(target, sizeof(target), "/containers/%s/logs?stdout=1&"
	    "stderr=1", cid);
	if (json_is_integer(tail) && json_integer_value(tail) >= 0)
		snprintf(target + strlen(target), sizeof(target) -
		    strlen(target), "&tail=%lld",
		    (long long)json_integer_value(tail));
	if (*since)
		snprintf(target + strlen(target), sizeof(target) -
		    strlen(target), "&since=%s", since);
	if (*until)
		snprintf(target + strlen(target), sizeof(target) -
		    strlen(target), "&until=%s", until);
	if (follow)
		pw_strlcat(target, "&follow=1", sizeof(target));
	if (ts)
		pw_strlcat(target, "&timestamps=1", sizeof(target));
	l = xcalloc(1, sizeof(*l));
	l->kind = stream ? LK_STREAM : LK_ONESHOT;
	l->mux = -1;
	pw_strlcpy(l->id, id, sizeof(l->id));
	pw_strlcpy(l->cid, cid, sizeof(l->cid));
	start(l, "GET", target, "the agent's Docker proxy is not available");
}

void
edge_log_cancel(json_t *d)
{
	const char	*id = json_string_value(json_object_get(d, "requestId"));
	const char	*cid = json_string_value(json_object_get(d,
			    "containerId"));
	struct lreq	*l;

	if (id == NULL || (l = lreq_find(id)) == NULL ||
	    l->kind != LK_STREAM || (cid != NULL && *cid != '\0' &&
	    strcmp(cid, l->cid) != 0))
		return;
	send_log_end(l, "canceled");
	if (l->t != NULL)
		treq_cancel(l->t);
	lreq_free(l);
}

void
edge_delete_request(json_t *d)
{
	const char	*id = json_string_value(json_object_get(d, "requestId"));
	const char	*cid = json_string_value(json_object_get(d,
			    "containerId"));
	char		 target[256];
	struct lreq	*l;

	if (cid == NULL || !edge_cid_ok(cid) || (id != NULL && strlen(id) > 128)) {
		(void)edge_send(edge_envelope("dd:container_delete_response",
		    json_pack("{s:s?, s:s?, s:b, s:s}", "requestId", id,
		    "containerId", cid, "success", 0, "error",
		    "invalid container id")));
		return;
	}
	if (lg.noneshot >= ONESHOT_MAX) {
		(void)edge_send(edge_envelope("dd:container_delete_response",
		    json_pack("{s:s?, s:s, s:b, s:s}", "requestId", id,
		    "containerId", cid, "success", 0, "error",
		    "agent busy: too many requests")));
		return;
	}
	snprintf(target, sizeof(target), "/containers/%s?force=1", cid);
	l = xcalloc(1, sizeof(*l));
	l->kind = LK_DELETE;
	pw_strlcpy(l->id, id != NULL ? id : "", sizeof(l->id));
	pw_strlcpy(l->cid, cid, sizeof(l->cid));
	start(l, "DELETE", target, "the agent's Docker proxy is not "
	    "available");
}
