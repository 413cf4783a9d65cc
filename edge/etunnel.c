/*
 * etunnel.c: the controller's Docker API calls over the edge session
 * (edge-protocol.md 5.8 and 8).
 *
 * Each `request` message becomes an ordinary proxied request.  authd
 * approves it for the edge slot (principal "controller"); it goes to the
 * proxy on a stream of its own as REQ, DATA and END, exactly as a worker
 * sends a client's; the answer comes back as HEAD, DATA and END and
 * becomes one `response` message, or a `response` with isStream, `stream`
 * messages and `stream_end` for the paths both sides call streaming.
 * There is no second way to Docker: the proxy checks the approval, frames
 * the body, applies the policy and writes the audit record as for any
 * client.
 *
 * Bounds: 100 requests at once (the 101st is answered "agent busy"); a
 * non-stream answer of at most 12 MiB, 48 MiB for all of them together
 * (a message must stay under 16 MiB once escaped); streams pause while
 * the session's send queue is over EDGE_QUEUE_HIGH and go on below
 * EDGE_QUEUE_LOW, so a slow controller slows them down instead of
 * filling memory.  When the session ends every request is cancelled:
 * closing its stream makes the proxy drop its Docker connection.
 */
#include "pwbuild.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <jansson.h>
#include <libwebsockets.h>

#include "approval.h"
#include "config.h"
#include "edge.h"
#include "edge_int.h"
#include "frame.h"
#include "http.h"
#include "ipc.h"
#include "log.h"
#include "pwcrypto.h"
#include "stats.h"
#include "util.h"

#define TUNNEL_MAX		100
#define TUNNEL_BODY_MAX		(12 * 1024 * 1024)
#define TUNNEL_HELD_MAX		(48 * 1024 * 1024)
#define TUNNEL_CHUNK		(32 * 1024)
#define TUNNEL_HDR_MAX		(64 * 1024)
#define TUNNEL_ID_MAX		128
#define TUNNEL_NHDRS		4

enum tstate {
	T_AUTH,			/* asked authd */
	T_PROXY,		/* on its stream */
};

struct treq {
	TAILQ_ENTRY(treq)	 entry;
	const struct tops	*ops;		/* who gets the answer */
	void			*ctx;
	int			 counted;	/* a `request`: one of the 100 */
	char			 id[TUNNEL_ID_MAX + 1];
	uint32_t		 reqid;		/* authd's */
	enum tstate		 state;
	int			 streaming;
	int			 paused;
	char			 method[16];
	char			 upgrade[16];	/* "" or the protocol asked */
	char			*target;
	char			*body;
	size_t			 bodylen;
	int			 has_body;
	char			*hname[TUNNEL_NHDRS + 1];
	char			*hval[TUNNEL_NHDRS + 1];
	int			 nh;
	int			 fd;		/* our end of the stream */
	struct lws		*wsi;
	unsigned char		*out;		/* REQ, DATA, END to write */
	size_t			 outlen, outoff;
	unsigned char		*in;		/* frames read, not yet used */
	size_t			 inlen, incap;
	int			 head;		/* Docker's HEAD seen */
	int			 raw;		/* after a 101: raw bytes */
	int			 status;
	json_t			*rhdrs;
	char			 ctype[256];
	unsigned char		*rbody;		/* a non-stream answer */
	size_t			 rlen, rcap;
	lws_sorted_usec_list_t	 sul_w;		/* asks for writability */
};

static struct {
	TAILQ_HEAD(, treq)	 reqs;
	size_t			 n;		/* `request`s in flight */
	uint32_t		 next_reqid;
	uint64_t		 next_sid;
	size_t			 held;		/* bytes in rbody, all requests */
} tn;

static const char *const fwd_headers[TUNNEL_NHDRS] = {
	"Accept", "Content-Type", "X-Registry-Auth", "X-Registry-Config",
};

void
tunnel_init(uint32_t gen)
{
	TAILQ_INIT(&tn.reqs);
	/* As a worker's: the spawn generation above, never repeating. */
	tn.next_sid = (uint64_t)gen << 32;
}

static void	want_write(struct treq *);
static void	plain_head(struct treq *, void *);
static int	plain_data(struct treq *, void *, const unsigned char *, size_t);
static void	plain_end(struct treq *, void *);
static void	plain_fail(struct treq *, void *, const char *);

/* The `request` messages' own consumer: response, stream, stream_end. */
static const struct tops plain_ops = {
	plain_head, plain_data, plain_end, plain_fail,
};

/* An `error` message for request id (8.6): Docker could not be asked. */
static void
send_error(const char *id, const char *msg)
{
	json_t	*d = json_pack("{s:s}", "message", msg);

	if (id != NULL && *id != '\0')
		json_object_set_new(d, "requestId", json_string(id));
	(void)edge_send(edge_envelope("error", d));
}

static void
treq_free(struct treq *t)
{
	int	i;

	TAILQ_REMOVE(&tn.reqs, t, entry);
	if (t->counted)
		tn.n--;
	lws_sul_cancel(&t->sul_w);
	if (t->wsi != NULL) {
		/* Closing the stream cancels the request at the proxy. */
		lws_set_opaque_user_data(t->wsi, NULL);
		lws_set_timeout(t->wsi, PENDING_TIMEOUT_USER_OK,
		    LWS_TO_KILL_ASYNC);
	} else if (t->fd != -1)
		close(t->fd);
	tn.held -= t->rcap;
	free(t->target);
	free(t->body);
	for (i = 0; i < t->nh; i++) {
		free(t->hname[i]);
		free(t->hval[i]);
	}
	free(t->out);
	free(t->in);
	free(t->rbody);
	json_decref(t->rhdrs);
	free(t);
}

/* The request failed: its consumer says so, and it is gone. */
static void
treq_fail(struct treq *t, const char *msg)
{
	t->ops->fail(t, t->ctx, msg);
	treq_free(t);
}

/* Gone without a word (its consumer gave up on it). */
void
treq_cancel(struct treq *t)
{
	treq_free(t);
}

int
treq_status(const struct treq *t)
{
	return t->status;
}

/* Raw bytes to Docker on an upgraded request (exec's stdin). */
void
treq_write(struct treq *t, const void *p, size_t n)
{
	t->out = xreallocarray(t->out, t->outlen + n, 1);
	memcpy(t->out + t->outlen, p, n);
	t->outlen += n;
	want_write(t);
}

static void
plain_count(int status)
{
	int	c = status / 100;

	ST_ADD(pw_stats->edge.requests[c >= 1 && c <= 5 ? c : 0], 1);
}

static void
plain_fail(struct treq *t, void *ctx, const char *msg)
{
	/* A stream that broke had its status; an error message has none. */
	plain_count(t->streaming && t->head ? t->status : 0);
	if (t->streaming && t->head)
		(void)edge_send(edge_envelope("stream_end", json_pack(
		    "{s:s, s:s}", "requestId", t->id, "reason", "aborted")));
	else
		send_error(t->id, msg);
}

/* Printable ASCII, no space: what may go into a request line. */
static int
target_ok(const char *p)
{
	if (p[0] != '/' || p[1] == '/')
		return 0;
	for (; *p != '\0'; p++)
		if ((unsigned char)*p <= 0x20 || (unsigned char)*p >= 0x7f ||
		    *p == '\\')
			return 0;
	return 1;
}

static int
id_ok(const char *p)
{
	size_t	n = strlen(p);

	if (n == 0 || n > TUNNEL_ID_MAX)
		return 0;
	for (; *p != '\0'; p++)
		if ((unsigned char)*p < 0x21 || (unsigned char)*p > 0x7e ||
		    *p == '"' || *p == '\\')
			return 0;
	return 1;
}

/* Ask authd, as a worker asks for a client (authd/authd.h). */
static int
ask_authd(struct treq *t)
{
	struct ipc_chan	*ch = edge_authd();
	struct ipc_wr	 wr;
	uint8_t		 zero[32];
	const char	*q = strchr(t->target, '?');
	char		 path[HTTP_MAX_REQLINE];
	int		 i, rv;

	if (ch == NULL)
		return -1;
	pw_strlcpy(path, t->target, sizeof(path));
	if (q != NULL && (size_t)(q - t->target) < sizeof(path))
		path[q - t->target] = '\0';
	memset(zero, 0, sizeof(zero));
	t->reqid = ++tn.next_reqid;
	ipc_wr_init(&wr);
	ipc_wr_u32(&wr, 0);
	ipc_wr_str(&wr, edge_peer());
	ipc_wr_str(&wr, t->method);
	ipc_wr_str(&wr, t->target);
	ipc_wr_str(&wr, path);
	ipc_wr_str(&wr, q != NULL ? q + 1 : "");
	ipc_wr_u32(&wr, q != NULL && q[1] == '\0');
	ipc_wr_str(&wr, "");		/* no token: the channel says who */
	ipc_wr_str(&wr, "");		/* X-Forwarded-For */
	ipc_wr_str(&wr, "");		/* X-Real-IP */
	for (i = 0; i < 5; i++)
		ipc_wr_str(&wr, "");	/* signature headers */
	ipc_wr_bytes(&wr, zero, sizeof(zero));
	rv = ipc_send(ch, IPC_W_AUTH_REQ, IPC_EDGE_SLOT, t->reqid, wr.buf,
	    wr.len, -1);
	ipc_wr_free(&wr);
	return rv;
}

/* A request refused before it was asked: counted as an error. */
static void
refuse(const char *id, const char *msg)
{
	ST_ADD(pw_stats->edge.requests[0], 1);
	send_error(id, msg);
}

/* A `request` message from the controller. */
void
tunnel_request(json_t *d)
{
	const char	*id = json_string_value(json_object_get(d, "requestId"));
	const char	*method = json_string_value(json_object_get(d,
			    "method"));
	const char	*path = json_string_value(json_object_get(d, "path"));
	json_t		*hdrs = json_object_get(d, "headers");
	json_t		*body = json_object_get(d, "body");
	const char	*k;
	json_t		*v;
	struct treq	*t;
	size_t		 i;
	int		 ctype = 0;

	if (id == NULL || !id_ok(id)) {
		log_warnx("edge: a request without a usable requestId; "
		    "ignored");
		return;
	}
	if (method == NULL || strlen(method) >= sizeof(t->method) ||
	    !http_valid_method(method)) {
		refuse(id, "invalid request: bad method");
		return;
	}
	if (path == NULL || strlen(path) >= HTTP_MAX_REQLINE - 64 ||
	    !target_ok(path)) {
		refuse(id, "invalid request: the path must start with one "
		    "/ and hold no spaces, control characters or backslashes");
		return;
	}
	if (tn.n >= TUNNEL_MAX) {
		refuse(id, "agent busy: too many concurrent requests");
		return;
	}
	if (edge_authd() == NULL || edge_wproxy() == NULL) {
		refuse(id, "the agent's Docker proxy is not available");
		return;
	}
	t = xcalloc(1, sizeof(*t));
	t->fd = -1;
	t->ops = &plain_ops;
	t->counted = 1;
	pw_strlcpy(t->id, id, sizeof(t->id));
	pw_strlcpy(t->method, method, sizeof(t->method));
	/*
	 * Unversioned, as the controller sends it: Docker serves such a
	 * path at its own current API version, the one Portwing would
	 * prefix from GET /version.
	 */
	t->target = xstrdup(path);
	t->streaming = edge_streaming_target(path);
	json_object_foreach(hdrs, k, v) {
		const char	*s = json_string_value(v);

		for (i = 0; i < TUNNEL_NHDRS; i++)
			if (strcasecmp(k, fwd_headers[i]) == 0)
				break;
		if (i == TUNNEL_NHDRS || s == NULL ||
		    strlen(s) > TUNNEL_HDR_MAX || strpbrk(s, "\r\n") != NULL ||
		    t->nh >= TUNNEL_NHDRS)
			continue;
		if (i == 1)
			ctype = 1;
		t->hname[t->nh] = xstrdup(fwd_headers[i]);
		t->hval[t->nh++] = xstrdup(s);
	}
	if (body != NULL) {
		/* The body's JSON text (5.8), as the controller wrote it. */
		t->body = json_dumps(body, JSON_COMPACT | JSON_ENCODE_ANY |
		    JSON_PRESERVE_ORDER);
		if (t->body == NULL) {
			free(t->target);
			free(t);
			refuse(id, "invalid request: the body cannot be "
			    "written as JSON");
			return;
		}
		t->bodylen = strlen(t->body);
		t->has_body = 1;
		if (!ctype && t->nh < TUNNEL_NHDRS) {
			t->hname[t->nh] = xstrdup("Content-Type");
			t->hval[t->nh++] = xstrdup("application/json");
		}
	}
	TAILQ_INSERT_TAIL(&tn.reqs, t, entry);
	tn.n++;
	t->state = T_AUTH;
	if (ask_authd(t) == -1)
		treq_fail(t, "the agent's authentication service is not "
		    "available");
}

/*
 * A request of the edge process's own (logs, delete, exec: elogs.c,
 * eexec.c), by the same path; ops gets the answer.  NULL when authd or
 * the proxy is away.  body may be NULL; upgrade "" or a protocol.
 */
struct treq *
tunnel_start(const char *method, const char *target, const char *body,
    const char *upgrade, const struct tops *ops, void *ctx)
{
	struct treq	*t;

	if (edge_authd() == NULL || edge_wproxy() == NULL)
		return NULL;
	t = xcalloc(1, sizeof(*t));
	t->fd = -1;
	t->ops = ops;
	t->ctx = ctx;
	pw_strlcpy(t->method, method, sizeof(t->method));
	pw_strlcpy(t->upgrade, upgrade, sizeof(t->upgrade));
	t->target = xstrdup(target);
	if (body != NULL) {
		t->body = xstrdup(body);
		t->bodylen = strlen(body);
		t->has_body = 1;
		t->hname[t->nh] = xstrdup("Content-Type");
		t->hval[t->nh++] = xstrdup("application/json");
	}
	TAILQ_INSERT_TAIL(&tn.reqs, t, entry);
	t->state = T_AUTH;
	if (ask_authd(t) == -1) {
		treq_free(t);
		return NULL;
	}
	return t;
}

static struct treq *
treq_by_reqid(uint32_t id)
{
	struct treq	*t;

	TAILQ_FOREACH(t, &tn.reqs, entry)
		if (t->state == T_AUTH && t->reqid == id)
			return t;
	return NULL;
}

static void
out_add(struct treq *t, const void *p, size_t n)
{
	t->out = xreallocarray(t->out, t->outlen + n, 1);
	memcpy(t->out + t->outlen, p, n);
	t->outlen += n;
}

static void
out_frame(struct treq *t, uint32_t type, const void *p, size_t n)
{
	struct frame_hdr	fh;

	fh.type = type;
	fh.len = (uint32_t)n;
	out_add(t, &fh, sizeof(fh));
	if (n > 0)
		out_add(t, p, n);
}

/* REQ, the body as DATA frames, END: all of it, written as it goes. */
static void
build_req(struct treq *t, const struct approval *ap)
{
	struct ipc_wr	wr;
	size_t		off, n;
	int		i;

	ipc_wr_init(&wr);
	ipc_wr_u32(&wr, *t->upgrade ? PXF_UPGRADE : 0);
	approval_put(&wr, ap);
	frame_req_rest(&wr, t->method, t->target, t->bodylen ?
	    REQ_BODY_LENGTH : REQ_BODY_NONE, (uint64_t)t->bodylen,
	    edge_peer(), t->upgrade);
	for (i = 0; i < t->nh; i++)
		frame_req_header(&wr, t->hname[i], strlen(t->hname[i]),
		    t->hval[i], strlen(t->hval[i]));
	if (*t->upgrade) {
		frame_req_header(&wr, "Connection", 10, "Upgrade", 7);
		frame_req_header(&wr, "Upgrade", 7, t->upgrade,
		    strlen(t->upgrade));
	}
	frame_req_end(&wr);
	out_frame(t, FRAME_REQ, wr.buf, wr.len);
	ipc_wr_free(&wr);
	for (off = 0; off < t->bodylen; off += n) {
		n = t->bodylen - off > FRAME_MAX_DATA ? FRAME_MAX_DATA :
		    t->bodylen - off;
		out_frame(t, FRAME_DATA, t->body + off, n);
	}
	out_frame(t, FRAME_END, NULL, 0);
	free(t->body);
	t->body = NULL;
}

/* A stream of its own to the proxy, announced as a worker's would be. */
static int
open_stream(struct treq *t)
{
	struct ipc_chan		*ch = edge_wproxy();
	lws_sock_file_fd_type	 f;
	struct ipc_wr		 wr;
	uint64_t		 sid;
	int			 sv[2], rv;

	if (ch == NULL)
		return -1;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0,
	    sv) == -1) {
		log_warn("edge: socketpair");
		return -1;
	}
	sid = tn.next_sid++;
	ipc_wr_init(&wr);
	ipc_wr_u64(&wr, sid);
	rv = ipc_send(ch, IPC_W_STREAM, IPC_EDGE_SLOT, 0, wr.buf, wr.len,
	    sv[1]);
	ipc_wr_free(&wr);
	if (rv == -1) {
		close(sv[0]);
		return -1;
	}
	t->fd = sv[0];
	f.filefd = sv[0];
	if ((t->wsi = lws_adopt_descriptor_vhost(edge_vhost(),
	    LWS_ADOPT_RAW_FILE_DESC, f, "pw-stream", NULL)) == NULL) {
		/* lws closed the descriptor. */
		t->fd = -1;
		return -1;
	}
	lws_set_opaque_user_data(t->wsi, t);
	return 0;
}

/* authd's answer (IPC_A_AUTH_ANS) for one of ours. */
void
tunnel_auth_answer(struct ipc_msg *m)
{
	struct ipc_rd	 rd;
	struct approval	 ap;
	struct treq	*t;
	uint32_t	 verdict;
	char		 reason[64], principal[APPROVAL_PRINCIPAL_MAX];
	char		 msg[128];

	ipc_rd_init(&rd, m);
	verdict = ipc_rd_u32(&rd);
	ipc_rd_str(&rd, reason, sizeof(reason));
	ipc_rd_str(&rd, principal, sizeof(principal));
	approval_get(&rd, &ap);
	if (ipc_rd_end(&rd) == -1) {
		log_warnx("edge: a malformed answer from authd");
		return;
	}
	if ((t = treq_by_reqid(m->hdr.id)) == NULL)
		return;		/* cancelled meanwhile */
	if (verdict != AUTH_OK) {
		snprintf(msg, sizeof(msg), "not approved by the agent (%s)",
		    *reason ? reason : "refused");
		treq_fail(t, msg);
		return;
	}
	t->state = T_PROXY;
	if (open_stream(t) == -1) {
		treq_fail(t, "the agent's Docker proxy is not available");
		return;
	}
	build_req(t, &ap);
	OPENSSL_cleanse(&ap, sizeof(ap));
	want_write(t);
}

/* authd went away: those waiting on it get an error, as a worker's 503. */
void
tunnel_authd_lost(void)
{
	struct treq	*t, *next;

	for (t = TAILQ_FIRST(&tn.reqs); t != NULL; t = next) {
		next = TAILQ_NEXT(t, entry);
		if (t->state == T_AUTH)
			treq_fail(t, "the agent's authentication service "
			    "went away");
	}
}

/* The session ended: everything in flight is cancelled. */
void
tunnel_reset(const char *why)
{
	struct treq	*t;

	if (!TAILQ_EMPTY(&tn.reqs))
		log_info("edge: Docker request(s) cancelled: %s", why);
	/* Their consumers let go (nothing can be sent any more). */
	while ((t = TAILQ_FIRST(&tn.reqs)) != NULL)
		treq_fail(t, why);
}

/* The send queue went down: paused streams read again. */
void
tunnel_resume(void)
{
	struct treq	*t;

	TAILQ_FOREACH(t, &tn.reqs, entry)
		if (t->paused && t->wsi != NULL) {
			t->paused = 0;
			lws_rx_flow_control(t->wsi, 1);
		}
}

/* Go's canonical form of a header name: Content-Type, Api-Version. */
static void
canonical(char *s)
{
	int	up = 1;

	for (; *s != '\0'; s++) {
		*s = up ? (char)toupper((unsigned char)*s) :
		    (char)tolower((unsigned char)*s);
		up = *s == '-';
	}
}

/* Docker's HEAD: status, and each header's first value. */
static int
head(struct treq *t, const unsigned char *p, size_t n)
{
	struct frame_head	fh;
	const char		*l, *end, *nl, *colon;
	char			 name[128], *val;

	if (n < sizeof(fh))
		return -1;
	memcpy(&fh, p, sizeof(fh));
	t->status = (int)fh.status;
	t->head = 1;
	t->raw = (fh.flags & FH_UPGRADE) != 0;
	t->rhdrs = json_object();
	l = (const char *)p + sizeof(fh);
	end = (const char *)p + n;
	for (; l < end; l = nl + 1) {
		if ((nl = memchr(l, '\n', (size_t)(end - l))) == NULL)
			break;
		if ((colon = memchr(l, ':', (size_t)(nl - l))) == NULL ||
		    (size_t)(colon - l) >= sizeof(name))
			continue;
		memcpy(name, l, (size_t)(colon - l));
		name[colon - l] = '\0';
		canonical(name);
		colon++;
		while (colon < nl && (*colon == ' ' || *colon == '\t'))
			colon++;
		val = xstrndup(colon, (size_t)(nl - colon));
		val[strcspn(val, "\r")] = '\0';
		if (strcasecmp(name, "Content-Type") == 0)
			pw_strlcpy(t->ctype, val, sizeof(t->ctype));
		/* The first value only, as Portwing sends them. */
		if (json_object_get(t->rhdrs, name) == NULL)
			json_object_set_new(t->rhdrs, name, json_string(val));
		free(val);
	}
	t->ops->head(t, t->ctx);
	return 0;
}

static void
plain_head(struct treq *t, void *ctx)
{
	json_t	*d;

	if (!t->streaming)
		return;
	d = json_pack("{s:s, s:i, s:O, s:b}", "requestId", t->id,
	    "statusCode", t->status, "headers", t->rhdrs, "isStream", 1);
	if (*t->ctype)
		json_object_set_new(d, "contentType", json_string(t->ctype));
	(void)edge_send(edge_envelope("response", d));
}

/* Stream data, in messages of at most 32 KiB of raw bytes. */
static void
stream_data(struct treq *t, const unsigned char *p, size_t n)
{
	char	*b64;
	size_t	 k, cap;

	while (n > 0) {
		k = n > TUNNEL_CHUNK ? TUNNEL_CHUNK : n;
		cap = 4 * ((k + 2) / 3) + 1;
		b64 = xmalloc(cap);
		if (pwc_b64_encode(p, k, b64, cap) == -1) {
			free(b64);
			return;
		}
		(void)edge_send(edge_envelope("stream", json_pack("{s:s, s:s}",
		    "requestId", t->id, "data", b64)));
		free(b64);
		p += k;
		n -= k;
	}
}

/*
 * Keep a whole answer (a non-stream one): at most TUNNEL_BODY_MAX, and
 * TUNNEL_HELD_MAX for all requests.  -1 too large, -2 too much held.
 */
int
treq_hold(struct treq *t, const unsigned char *p, size_t n)
{
	size_t	cap;

	if (t->rlen + n > TUNNEL_BODY_MAX)
		return -1;
	if (t->rlen + n > t->rcap) {
		cap = (t->rlen + n) * 2;
		if (cap > TUNNEL_BODY_MAX)
			cap = TUNNEL_BODY_MAX;
		if (tn.held - t->rcap + cap > TUNNEL_HELD_MAX)
			return -2;
		tn.held = tn.held - t->rcap + cap;
		t->rbody = xreallocarray(t->rbody, cap, 1);
		t->rcap = cap;
	}
	memcpy(t->rbody + t->rlen, p, n);
	t->rlen += n;
	return 0;
}

/*
 * "what: Docker's message (status N)" for a refused answer that
 * treq_hold kept (logs, deletion, exec report failures this way).
 */
void
treq_reason(struct treq *t, const char *what, char *buf, size_t sz)
{
	json_t		*j = NULL;
	const char	*m;

	if (t->rlen > 0)
		j = json_loadb((const char *)t->rbody, t->rlen, 0, NULL);
	m = json_string_value(json_object_get(j, "message"));
	snprintf(buf, sz, "%s: %s (status %d)", what, m != NULL ? m :
	    "Docker refused", t->status);
	json_decref(j);
}

/* What treq_hold kept. */
const unsigned char *
treq_held(const struct treq *t, size_t *n)
{
	*n = t->rlen;
	return t->rbody;
}

static int
plain_data(struct treq *t, void *ctx, const unsigned char *p, size_t n)
{
	if (t->streaming) {
		stream_data(t, p, n);
		return 0;
	}
	return treq_hold(t, p, n);
}

/*
 * The whole answer: one `response`.  Docker's body goes in as JSON when
 * it is JSON, else as a string when it is text (the controller turns a
 * string back into its bytes); other bytes cannot travel this way.
 */
static void
finish(struct treq *t)
{
	t->ops->end(t, t->ctx);
	treq_free(t);
}

static void
plain_end(struct treq *t, void *ctx)
{
	json_t	*d, *b = NULL;
	char	*s;

	if (t->streaming)
		plain_count(t->status);
	if (t->streaming) {
		(void)edge_send(edge_envelope("stream_end", json_pack(
		    "{s:s, s:s}", "requestId", t->id, "reason", "complete")));
		return;
	}
	if (t->rlen > 0) {
		b = json_loadb((const char *)t->rbody, t->rlen,
		    JSON_DECODE_ANY, NULL);
		if (b == NULL)
			b = json_stringn((const char *)t->rbody, t->rlen);
		if (b == NULL) {
			plain_fail(t, ctx, "Docker's answer is binary and the "
			    "request is not a streaming one: it cannot be "
			    "sent in a response message");
			return;
		}
	}
	d = json_pack("{s:s, s:i, s:O}", "requestId", t->id, "statusCode",
	    t->status, "headers", t->rhdrs != NULL ? t->rhdrs : json_object());
	if (b != NULL)
		json_object_set_new(d, "body", b);
	if (*t->ctype)
		json_object_set_new(d, "contentType", json_string(t->ctype));
	d = edge_envelope("response", d);
	s = json_dumps(d, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(d);
	if (s == NULL || strlen(s) > EDGE_MAX_FRAME)
		plain_fail(t, ctx, "Docker's answer is over the 16 MiB a "
		    "message may hold");
	else {
		plain_count(t->status);
		(void)edge_send_text(s, strlen(s));
	}
	free(s);
}

/* Frames from the proxy; 1 when t is gone. */
static int
frames(struct treq *t)
{
	struct frame_hdr	 fh;
	size_t			 off = 0;
	int			 rc;

	if (t->raw) {
		rc = t->ops->data(t, t->ctx, t->in, t->inlen);
		t->inlen = 0;
		if (rc < 0) {
			treq_fail(t, "the answer could not be used");
			return 1;
		}
		return 0;
	}
	while (t->inlen - off >= sizeof(fh)) {
		memcpy(&fh, t->in + off, sizeof(fh));
		if (fh.len > FRAME_MAX_HEAD + FRAME_MAX_DATA) {
			treq_fail(t, "a malformed answer from the agent's proxy");
			return 1;
		}
		if (t->inlen - off - sizeof(fh) < fh.len)
			break;
		off += sizeof(fh);
		switch (fh.type) {
		case FRAME_HEAD:
			if (t->head || head(t, t->in + off, fh.len) == -1) {
				treq_fail(t, "a malformed answer from the "
				    "agent's proxy");
				return 1;
			}
			break;
		case FRAME_DATA:
			if (!t->head) {
				treq_fail(t, "a malformed answer from the "
				    "agent's proxy");
				return 1;
			}
			if ((rc = t->ops->data(t, t->ctx, t->in + off,
			    fh.len)) < 0) {
				treq_fail(t, rc == -1 ? "Docker's answer is "
				    "over 12 MiB; ask for less, or use a "
				    "streaming path" : "agent busy: too many "
				    "large answers at once");
				return 1;
			}
			break;
		case FRAME_END:
			if (!t->head) {
				treq_fail(t, "a malformed answer from the "
				    "agent's proxy");
				return 1;
			}
			finish(t);
			return 1;
		case FRAME_ABORT:
			treq_fail(t, "Docker's answer could not be completed");
			return 1;
		default:
			treq_fail(t, "a malformed answer from the agent's proxy");
			return 1;
		}
		off += fh.len;
		if (t->raw) {
			memmove(t->in, t->in + off, t->inlen - off);
			t->inlen -= off;
			return frames(t);
		}
	}
	memmove(t->in, t->in + off, t->inlen - off);
	t->inlen -= off;
	return 0;
}

static void
stream_read(struct treq *t)
{
	ssize_t	n;
	size_t	want = FRAME_MAX_DATA + FRAME_MAX_HEAD + sizeof(struct frame_hdr);

	if (edge_queued() >= EDGE_QUEUE_HIGH) {
		/* The controller is behind: wait for the queue to drain. */
		t->paused = 1;
		lws_rx_flow_control(t->wsi, 0);
		return;
	}
	if (t->incap < want) {
		t->in = xreallocarray(t->in, want, 1);
		t->incap = want;
	}
	n = read(t->fd, t->in + t->inlen, t->incap - t->inlen);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		if (t->raw && t->head) {
			finish(t);	/* after an upgrade, the end is the end */
			return;
		}
		treq_fail(t, "the agent's proxy closed the request's stream");
		return;
	}
	t->inlen += (size_t)n;
	(void)frames(t);
}

/* As for the channels (edge.c, want_write): not from its own callback. */
static void
rearm(lws_sorted_usec_list_t *sul)
{
	struct treq	*t = lws_container_of(sul, struct treq, sul_w);

	if (t->wsi != NULL)
		lws_callback_on_writable(t->wsi);
}

static void
want_write(struct treq *t)
{
	if (t->wsi != NULL)
		lws_sul_schedule(lws_get_context(t->wsi), 0, &t->sul_w, rearm,
		    1);
}

static void
stream_write(struct treq *t)
{
	ssize_t	n;

	while (t->outoff < t->outlen) {
		n = write(t->fd, t->out + t->outoff, t->outlen - t->outoff);
		if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
			want_write(t);
			return;
		}
		if (n <= 0) {
			treq_fail(t, "the agent's proxy closed the request's "
			    "stream");
			return;
		}
		t->outoff += (size_t)n;
	}
	free(t->out);
	t->out = NULL;
	t->outlen = t->outoff = 0;
}

/* libwebsockets' callbacks for the streams ("pw-stream"). */
int
tunnel_wsi_cb(struct lws *wsi, int reason, void *in, size_t len)
{
	struct treq	*t = lws_get_opaque_user_data(wsi);

	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		if (t == NULL)
			return -1;
		stream_read(t);
		return 0;
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		if (t != NULL)
			stream_write(t);
		return 0;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (t != NULL) {
			t->wsi = NULL;
			t->fd = -1;
			treq_fail(t, "the agent's proxy closed the request's "
			    "stream");
		}
		return 0;
	default:
		return 0;
	}
}
