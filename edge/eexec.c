/*
 * eexec.c: exec sessions over the edge session (edge-protocol.md 10),
 * on the same path to Docker as the controller's other calls
 * (etunnel.c): the exec is created, started with an upgrade (the
 * proxy's hijack relay, under MAX_HIJACKED), resized, and then its
 * bytes flow both ways.
 *
 *   exec_start   -> create, start (101), resize when cols and rows are
 *                   given, exec_ready; then exec_output (at most 4096 raw
 *                   bytes each, base64; not demultiplexed without a TTY)
 *   exec_input   -> the bytes, to the process's stdin
 *   exec_resize  -> POST /exec/{id}/resize
 *   exec_end     -> the session is closed (and exec_end goes back)
 *   Docker's end -> exec_end "exited"
 *
 * Input and resizes that come before the exec is live wait in a FIFO of
 * 256 items (more are dropped, with a warning, as in Portwing).  At most
 * 100 sessions.  The session with the controller ending ends them all.
 */
#include "pwbuild.h"

#include <sys/queue.h>

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "edge.h"
#include "edge_int.h"
#include "log.h"
#include "pwcrypto.h"
#include "util.h"

#define EXEC_MAX		100
#define EXEC_FIFO_MAX		256
#define EXEC_OUT_CHUNK		4096
#define EXEC_INPUT_MAX		(1024 * 1024)

enum xstate { X_CREATE, X_START, X_LIVE };

struct xitem {
	TAILQ_ENTRY(xitem)	 entry;
	unsigned char		*data;		/* input, or NULL: a resize */
	size_t			 len;
	int			 cols, rows;
};

struct xsess {
	TAILQ_ENTRY(xsess)	 entry;
	char			 id[129];	/* the controller's execId */
	char			 cid[129];
	char			 dockid[80];	/* Docker's exec id */
	enum xstate		 state;
	int			 tty;
	int			 cols, rows;
	json_t			*cmd;
	char			 user[128];
	struct treq		*t;		/* create, then the hijacked start */
	TAILQ_HEAD(, xitem)	 fifo;
	int			 nfifo;
};

static struct {
	TAILQ_HEAD(, xsess)	 sess;
	int			 n;
} xs = { TAILQ_HEAD_INITIALIZER(xs.sess), 0 };

static void	xstart(struct xsess *);
static void	xresize(struct xsess *, int, int);

static struct xsess *
xfind(const char *id)
{
	struct xsess	*x;

	TAILQ_FOREACH(x, &xs.sess, entry)
		if (strcmp(x->id, id) == 0)
			return x;
	return NULL;
}

static void
send_end(const char *id, const char *reason)
{
	(void)edge_send(edge_envelope("exec_end", json_pack("{s:s, s:s}",
	    "execId", id, "reason", reason)));
}

/* The session is over: exec_end with reason (NULL: none sent). */
static void
xfree(struct xsess *x, const char *reason)
{
	struct xitem	*it;

	if (reason != NULL)
		send_end(x->id, reason);
	TAILQ_REMOVE(&xs.sess, x, entry);
	xs.n--;
	if (x->t != NULL)
		treq_cancel(x->t);
	while ((it = TAILQ_FIRST(&x->fifo)) != NULL) {
		TAILQ_REMOVE(&x->fifo, it, entry);
		free(it->data);
		free(it);
	}
	json_decref(x->cmd);
	free(x);
}

static void
nohead(struct treq *t, void *ctx)
{
}

static int
hold(struct treq *t, void *ctx, const unsigned char *p, size_t n)
{
	return treq_hold(t, p, n);
}

/* ---- create ---- */

static void
create_end(struct treq *t, void *ctx)
{
	struct xsess	*x = ctx;
	const unsigned char *b;
	size_t		 n;
	json_t		*j;
	const char	*id;
	char		 why[300];

	x->t = NULL;
	b = treq_held(t, &n);
	j = b != NULL ? json_loadb((const char *)b, n, 0, NULL) : NULL;
	id = json_string_value(json_object_get(j, "Id"));
	if (treq_status(t) != 201 || id == NULL || strlen(id) >= 
	    sizeof(x->dockid) || strspn(id, "0123456789abcdef") != strlen(id)) {
		treq_reason(t, "create exec failed", why, sizeof(why));
		json_decref(j);
		xfree(x, why);
		return;
	}
	pw_strlcpy(x->dockid, id, sizeof(x->dockid));
	json_decref(j);
	xstart(x);
}

static void
create_fail(struct treq *t, void *ctx, const char *msg)
{
	struct xsess	*x = ctx;
	char		 why[300];

	x->t = NULL;
	snprintf(why, sizeof(why), "create exec failed: %s", msg);
	xfree(x, why);
}

static const struct tops create_ops = { nohead, hold, create_end,
	create_fail };

/* ---- start: the hijacked session ---- */

static void
flush_fifo(struct xsess *x)
{
	struct xitem	*it;

	while ((it = TAILQ_FIRST(&x->fifo)) != NULL) {
		TAILQ_REMOVE(&x->fifo, it, entry);
		x->nfifo--;
		if (it->data != NULL)
			treq_write(x->t, it->data, it->len);
		else
			xresize(x, it->cols, it->rows);
		free(it->data);
		free(it);
	}
}

static void
start_head(struct treq *t, void *ctx)
{
	struct xsess	*x = ctx;
	char		 why[300];

	if (treq_status(t) != 101) {
		/* Its body (Docker's message) follows; judged at the end. */
		return;
	}
	/* Live: the first size, then ready (the order of Portwing's code). */
	x->state = X_LIVE;
	if (x->cols > 0 && x->rows > 0)
		xresize(x, x->cols, x->rows);
	(void)edge_send(edge_envelope("exec_ready", json_pack("{s:s}",
	    "execId", x->id)));
	flush_fifo(x);
	(void)why;
}

static int
start_data(struct treq *t, void *ctx, const unsigned char *p, size_t n)
{
	struct xsess	*x = ctx;
	char		 b64[4 * ((EXEC_OUT_CHUNK + 2) / 3) + 1];
	size_t		 k;

	if (x->state != X_LIVE)
		return treq_hold(t, p, n);
	while (n > 0) {
		k = n > EXEC_OUT_CHUNK ? EXEC_OUT_CHUNK : n;
		if (pwc_b64_encode(p, k, b64, sizeof(b64)) == -1)
			return -1;
		(void)edge_send(edge_envelope("exec_output", json_pack(
		    "{s:s, s:s}", "execId", x->id, "data", b64)));
		p += k;
		n -= k;
	}
	return 0;
}

static void
start_end(struct treq *t, void *ctx)
{
	struct xsess	*x = ctx;
	char		 why[300];

	x->t = NULL;
	if (x->state != X_LIVE) {
		treq_reason(t, "start exec failed", why, sizeof(why));
		xfree(x, why);
		return;
	}
	xfree(x, "exited");
}

static void
start_fail(struct treq *t, void *ctx, const char *msg)
{
	struct xsess	*x = ctx;
	char		 why[300];

	x->t = NULL;
	if (x->state == X_LIVE)
		xfree(x, msg);
	else {
		snprintf(why, sizeof(why), "start exec failed: %s", msg);
		xfree(x, why);
	}
}

static const struct tops start_ops = { start_head, start_data, start_end,
	start_fail };

static void
xstart(struct xsess *x)
{
	char	target[128], body[64];

	x->state = X_START;
	snprintf(target, sizeof(target), "/exec/%s/start", x->dockid);
	snprintf(body, sizeof(body), "{\"Detach\":false,\"Tty\":%s}",
	    x->tty ? "true" : "false");
	if ((x->t = tunnel_start("POST", target, body, "tcp", &start_ops,
	    x)) == NULL)
		xfree(x, "start exec failed: the agent's Docker proxy is not "
		    "available");
}

/* ---- resize: a request of its own, its answer only logged ---- */

static void
resize_end(struct treq *t, void *ctx)
{
	if (treq_status(t) / 100 != 2)
		log_debug("edge: exec resize answered %d", treq_status(t));
}

static void
resize_fail(struct treq *t, void *ctx, const char *msg)
{
	log_debug("edge: exec resize failed: %s", msg);
}

static const struct tops resize_ops = { nohead, hold, resize_end,
	resize_fail };

static void
xresize(struct xsess *x, int cols, int rows)
{
	char	target[160];

	snprintf(target, sizeof(target), "/exec/%s/resize?h=%d&w=%d",
	    x->dockid, rows, cols);
	(void)tunnel_start("POST", target, NULL, "", &resize_ops, NULL);
}

/* ---- the controller's messages ---- */

void
edge_exec_start(json_t *d)
{
	const char	*id = json_string_value(json_object_get(d, "execId"));
	const char	*cid = json_string_value(json_object_get(d,
			    "containerId"));
	const char	*user = json_string_value(json_object_get(d, "user"));
	json_t		*cmd = json_object_get(d, "cmd"), *v, *body;
	json_t		*tty = json_object_get(d, "tty");
	struct xsess	*x;
	char		 target[200], *s;
	size_t		 i;

	if (id == NULL || *id == '\0' || strlen(id) > 128)
		return;
	if (xs.n >= EXEC_MAX) {
		send_end(id, "session limit reached");
		return;
	}
	if (xfind(id) != NULL) {
		send_end(id, "duplicate execId");
		return;
	}
	if (cid == NULL || !edge_cid_ok(cid)) {
		send_end(id, "create exec failed: invalid container id");
		return;
	}
	if (!json_is_array(cmd) || json_array_size(cmd) == 0) {
		send_end(id, "create exec failed: cmd must be a non-empty list "
		    "of strings");
		return;
	}
	json_array_foreach(cmd, i, v)
		if (!json_is_string(v)) {
			send_end(id, "create exec failed: cmd must be a "
			    "non-empty list of strings");
			return;
		}
	x = xcalloc(1, sizeof(*x));
	TAILQ_INIT(&x->fifo);
	pw_strlcpy(x->id, id, sizeof(x->id));
	pw_strlcpy(x->cid, cid, sizeof(x->cid));
	x->tty = !json_is_false(tty);
	x->cols = (int)json_integer_value(json_object_get(d, "cols"));
	x->rows = (int)json_integer_value(json_object_get(d, "rows"));
	if (x->cols < 0 || x->cols > 10000 || x->rows < 0 || x->rows > 10000)
		x->cols = x->rows = 0;
	TAILQ_INSERT_TAIL(&xs.sess, x, entry);
	xs.n++;
	x->state = X_CREATE;
	body = json_pack("{s:b, s:b, s:b, s:b, s:O}", "AttachStdin", 1,
	    "AttachStdout", 1, "AttachStderr", 1, "Tty", x->tty, "Cmd", cmd);
	if (user != NULL && *user != '\0')
		json_object_set_new(body, "User", json_string(user));
	s = json_dumps(body, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(body);
	snprintf(target, sizeof(target), "/containers/%s/exec", cid);
	x->t = tunnel_start("POST", target, s, "", &create_ops, x);
	free(s);
	if (x->t == NULL)
		xfree(x, "create exec failed: the agent's Docker proxy is not "
		    "available");
}

static int
enqueue(struct xsess *x, unsigned char *data, size_t len, int cols, int rows)
{
	struct xitem	*it;

	if (x->nfifo >= EXEC_FIFO_MAX) {
		log_warnx("edge: exec %s: input queue full; dropped", x->id);
		free(data);
		return -1;
	}
	it = xcalloc(1, sizeof(*it));
	it->data = data;
	it->len = len;
	it->cols = cols;
	it->rows = rows;
	TAILQ_INSERT_TAIL(&x->fifo, it, entry);
	x->nfifo++;
	return 0;
}

void
edge_exec_input(json_t *d)
{
	const char	*id = json_string_value(json_object_get(d, "execId"));
	const char	*b64 = json_string_value(json_object_get(d, "data"));
	struct xsess	*x;
	unsigned char	*buf;
	size_t		 n, len;

	if (id == NULL || b64 == NULL || (x = xfind(id)) == NULL)
		return;
	n = strlen(b64);
	if (n > EXEC_INPUT_MAX * 4 / 3 + 4)
		return;
	buf = xmalloc(n / 4 * 3 + 3);
	if (pwc_b64_decode_any(b64, n, buf, n / 4 * 3 + 3, &len) == -1) {
		log_debug("edge: exec %s: input that is not base64; dropped",
		    id);
		free(buf);
		return;
	}
	if (x->state == X_LIVE && TAILQ_EMPTY(&x->fifo)) {
		treq_write(x->t, buf, len);
		free(buf);
	} else
		(void)enqueue(x, buf, len, 0, 0);
}

void
edge_exec_resize(json_t *d)
{
	const char	*id = json_string_value(json_object_get(d, "execId"));
	struct xsess	*x;
	int		 cols, rows;

	if (id == NULL || (x = xfind(id)) == NULL)
		return;
	cols = (int)json_integer_value(json_object_get(d, "cols"));
	rows = (int)json_integer_value(json_object_get(d, "rows"));
	if (cols <= 0 || rows <= 0 || cols > 10000 || rows > 10000)
		return;
	if (x->state == X_LIVE && TAILQ_EMPTY(&x->fifo))
		xresize(x, cols, rows);
	else
		(void)enqueue(x, NULL, 0, cols, rows);
}

void
edge_exec_end(json_t *d)
{
	const char	*id = json_string_value(json_object_get(d, "execId"));
	struct xsess	*x;

	if (id != NULL && (x = xfind(id)) != NULL)
		xfree(x, "closed by the controller");
}

/* The session with the controller is gone: so are the execs. */
void
edge_exec_reset(void)
{
	struct xsess	*x;

	while ((x = TAILQ_FIRST(&xs.sess)) != NULL)
		xfree(x, NULL);
}
