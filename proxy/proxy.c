/*
 * proxy.c: the proxy role (process "portwingd: proxy").
 *
 * For each request frame on a worker's stream (IPC_W_STREAM hands the
 * proxy one stream per client connection): check the approval, take a Docker connection
 * from the idle pool (or ask the master for a new one), re-serialise the
 * request from its parsed form, relay the body, parse Docker's response
 * and pass it to the worker as frames (common/frame.h), or switch to a raw
 * relay after 101.  Memory per request is bounded by the high-water marks:
 * whichever side is slow stops the other from being read.
 */
#include "pwbuild.h"

#include <sys/queue.h>
#include <sys/socket.h>

#include <sys/mman.h>

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <jansson.h>

#include "agent/child.h"
#include "approval.h"
#include "frame.h"
#include "http.h"
#include "ipc.h"
#include "log.h"
#include "dagent.h"
#include "drydock.h"
#include "auditrec.h"
#include "proxy.h"
#include "pgate.h"
#include "owner.h"
#include "presp.h"
#include "redact.h"
#include "splice.h"
#include "stats.h"
#include "pwcrypto.h"
#include "util.h"

enum {
	MODE_RELAY = 0,		/* pass Docker's answer through */
	MODE_LOGS,		/* demultiplex logs into text */
	MODE_DELETE,		/* Drydock's DELETE /api/containers/{id} */
};

enum preq_state {
	PR_WAIT_CONN,		/* waiting for a Docker connection */
	PR_EXCHANGE,		/* request sent / response being relayed */
	PR_SPOOL,		/* body held (signed or inspected) before sending */
	PR_INSPECT,		/* body with policyd, waiting for its verdict */
	PR_LOCAL,		/* answered by the proxy itself (Drydock routes) */
	PR_UPGRADED,		/* raw relay after 101 */
	PR_FLUSH,		/* response done; flushing to the worker */
};

/* One worker<->proxy stream: lives as long as the client's connection. */
struct pstream {
	uint32_t		 slot;
	uint64_t		 sid;		/* the worker's id for it */
	struct pstream		*hnext;		/* in pstreams[] */
	struct bufferevent	*bev;
	struct preq		*cur;		/* NULL: waiting for a REQ frame */
	int			 closing;	/* close once output drained */
	int			 cancel;	/* FRAME_CANCEL waits for authd */
	uint32_t		 cancel_gen;	/* ... of that generation */
	uint32_t		 fwd_id;	/* the last request authd passed on */
};

/*
 * Streams by worker slot and stream id, for the requests authd passes on
 * (IPC_A_REQ).
 */
#define PSTREAM_BUCKETS	1024
static struct pstream	*pstreams[PSTREAM_BUCKETS];

static struct pstream **
pstream_bucket(uint32_t slot, uint64_t sid)
{
	uint64_t	h = (sid ^ ((uint64_t)slot << 56)) * 0x9e3779b97f4a7c15ULL;

	return &pstreams[(h >> 40) % PSTREAM_BUCKETS];
}

static struct pstream *
pstream_find(uint32_t slot, uint64_t sid)
{
	struct pstream	*ps;

	for (ps = *pstream_bucket(slot, sid); ps != NULL; ps = ps->hnext)
		if (ps->slot == slot && ps->sid == sid)
			return ps;
	return NULL;
}

struct preq {
	struct connreq		*wait;		/* PR_WAIT_CONN */
	uint32_t		 id;
	struct pstream		*ps;
	enum preq_state		 state;
	struct upstream		*up;
	struct evbuffer		*head;		/* serialised request head */
	int			 flags;
	int			 body_mode;
	uint64_t		 clen;		/* REQ_BODY_LENGTH: declared size */
	uint64_t		 body_left;	/* declared bytes not yet seen */
	/* PXF_RAWBODY: the declared bytes come unframed, then END. */
	int			 raw;
	uint64_t		 raw_left;	/* raw bytes not yet taken */
	struct evbuffer		*rin;		/* raw bytes framed for the frame
						   readers (held, dropped) */
	struct splicer		*sp;		/* stream -> Docker, by splice */
	int			 req_done;	/* END received from worker */
	int			 fwd;		/* passed on by authd: no body,
						   the worker's END implied */
	int			 is_head;
	int			 streaming;
	int			 hijack;
	int			 counted_hijack;
	/* Response parsing. */
	struct http_scan	 scan;
	int			 resp_headed;
	int			 resp_mode;	/* 0 none, 1 length, 2 chunked, 3 eof */
	uint64_t		 resp_left;
	struct http_chunked	 chunk;
	int			 up_close;	/* Docker said Connection: close */
	int			 up_eof;
	int			 wr_eof;	/* worker half-closed (upgraded) */
	struct event		*timer;
	char			 method[HTTP_METHOD_BUF];
	char			 path[256];	/* for logs */
	/* The audit record of this request (api_request), made at its end. */
	char			*target;	/* as sent, for the audit path */
	char			 actor[APPROVAL_ACTOR_MAX];
	char			 principal[APPROVAL_PRINCIPAL_MAX];
	uint64_t		 t0_us;
	int			 audit;		/* an api_request is owed */
	int			 sent_status;	/* status in the HEAD frame */
	int			 obs_wait;	/* waiting in observe.c */
	/* Drydock routes: what to make of Docker's answer. */
	int			 mode;		/* MODE_* */
	int			 resp_status;
	struct evbuffer		*errbody;	/* Docker's error text */
	struct evbuffer		*dm;		/* demultiplexer input */
	int			 dm_kind;	/* 0 unknown, 1 framed, 2 raw */
	uint32_t		 dm_left;
	struct sub		*sub;		/* SSE subscription */
	int			 inv_wait;
	int			 generic;	/* an /api/v1 route */
	/* POST /_portwing/mcp: the tool call the worker parsed (pmcp.c). */
	char			 mcp_tool[32];
	char			 mcp_id[136];
	char			 mcp_tail[16];
	struct pmcp		*mcp;
	/* dockeragent's API: the worker's checked values, the operation. */
	json_t			*own;
	struct pda		*pda;
	int			 files;		/* POST /api/v1/files: spooled for
						   filed, not Docker */
	struct pfw		*pfw;		/* filed is writing it */
	int			 compose;	/* POST /_portwing/compose: spooled
						   for the composer */
	struct pcr		*pcr;		/* the composer is running it */
	/* Signed requests: the body must hash to the approved digest. */
	int			 spool_fd;
	EVP_MD_CTX		*md;
	uint64_t		 spool_len;
	uint8_t			 want[32];
	int			 signed_body;	/* want[] is the approved digest */
	/* The policy: what the gate decided (pgate.h). */
	struct pgate_req	 g;
	int			 judged;	/* the gate ran: audit says how */
	struct dreq		*xfetch;	/* GET /exec/{id}/json in flight */
	int			 xstored;	/* the stored exec was judged */
	struct presp		*held;		/* answer held for policyd */
	/* Readiness probes waiting for the one /_ping in flight. */
	TAILQ_ENTRY(preq)	 ping_entry;
	int			 ping_wait;
};

/*
 * Readiness probes (PXF_PING) come unauthenticated, so they must not cost
 * Docker a call each: one /_ping answer serves all probes for
 * PING_CACHE_MS, and probes that arrive while it is on its way wait for it.
 */
#define PING_CACHE_MS	1000
static struct {
	int			 status;	/* 0: none yet */
	uint64_t		 at_ms;
	struct preq		*leader;	/* the probe Docker is answering */
	TAILQ_HEAD(, preq)	 waiting;
	struct event		*wake;
} ping;

static struct {
	struct event_base	*base;
	struct pw_config	 cfg;
	struct ipc_chan		*master;
	struct ipc_chan		*workers[PROXY_MAX_WORKERS];
	struct ipc_chan		*authd;		/* audit records from authd, and
						   the requests it passes on */
	uint32_t		 authd_gen;	/* that authd's spawn generation */
	struct approval_replay	 replay;
	uint32_t		 next_id;
	int			 hijacked;
	int			 draining;	/* the agent is stopping */
} px;

static const struct ipc_perm perms_master[] = {
	{ IPC_M_WORKER_CHAN, 0, 0, 1 },
	{ IPC_M_FILE, 4, 4 + 256, 1 },
	{ IPC_M_AUDIT_CHAN, 0, 0, 1 },
	{ IPC_M_DOCKER_ANS, 4, 4, IPC_FD_OPTIONAL },
	{ IPC_M_SHUTDOWN, 0, 0, 0 },
	{ IPC_M_RELOAD, 4, IPC_MAX_CONFIG, 0 },
	{ IPC_M_APPROVAL_KEY, 32, 32, 0 },
	{ IPC_M_PING, 0, 0, 0 },
	{ IPC_M_POLICY, 16, 16 + 256, 1 },
	{ IPC_M_POLICY_CHAN, 0, 0, 1 },
	{ IPC_M_EDGE_CHAN, 0, 0, 1 },
	{ IPC_M_FILED_CHAN, 0, 0, 1 },
	{ IPC_M_COMPOSE_CHAN, 0, 0, 1 },
};

static const struct ipc_perm perms_worker[] = {
	{ IPC_W_STREAM, 8, 8, 1 },
	{ IPC_W_AUDIT, 8, IPC_MAX_AUDIT, 0 },
};

static const struct ipc_perm perms_authd[] = {
	{ IPC_A_AUDIT, 8, IPC_MAX_AUDIT, 0 },
	{ IPC_A_REQ, 16, IPC_MAX_HEAD + 1024, 0 },
};

static void	preq_free(struct preq *);
static void	preq_start(struct preq *, struct upstream *);
static void	stream_readcb(struct bufferevent *, void *);
static void	stream_writecb(struct bufferevent *, void *);
static void	stream_eventcb(struct bufferevent *, short, void *);
static void	up_readcb(struct bufferevent *, void *);
static void	up_writecb(struct bufferevent *, void *);
static void	up_eventcb(struct bufferevent *, short, void *);
static void	preq_dispatch(struct preq *, uint64_t);
static void	preq_connected(void *, struct upstream *, int);
static void	dd_request(struct preq *, const char *, const char *);
static void	mcp_field(struct preq *, const char *, const char *, size_t);
static int	dd_policy(struct preq *, const struct approval *, const char *,
		    const char *);
static void	dd_response_head(struct preq *, struct http_head *);
static void	dd_response_end(struct preq *);
static void	emit_body(struct preq *, struct evbuffer *, size_t);
static void	preq_finish(struct preq *);
static void	preq_abort(struct preq *);
static void	preq_error(struct preq *, int, const char *);
static void	send_head(struct preq *, int, uint32_t, uint64_t,
		    struct evbuffer *);
static void	send_frame(struct preq *, uint32_t, const void *, size_t);
static int	body_matches(struct preq *, const uint8_t *, int);
static int	preq_spool_start(struct preq *);
static void	preq_verdict(void *, int, const char *);
static void	preq_ask_policyd(struct preq *, const uint8_t[32]);
static const char *frame_misfit(struct preq *, const struct frame_hdr *);
static void	body_violation(struct preq *, const char *);
static void	proxy_worker_closed(struct ipc_chan *, void *);
static void	preq_splice_stop(struct preq *);
static int	authd_done(uint32_t);
static void	pstream_noreq(struct pstream *);
static void	respond_local(struct preq *, int, const char *, const char *,
		    size_t);
static int	files_route(const char *, const char *, int);
static void	files_spooled(struct preq *, const uint8_t[32]);
static void	compose_spooled(struct preq *);
static int	preq_spool_start(struct preq *);

/* ---- frames to the worker ---- */

static struct evbuffer *
ps_out(struct preq *r)
{
	return bufferevent_get_output(r->ps->bev);
}

static void
send_frame(struct preq *r, uint32_t type, const void *p, size_t n)
{
	struct frame_hdr fh = { type, (uint32_t)n };

	evbuffer_add(ps_out(r), &fh, sizeof(fh));
	if (n)
		evbuffer_add(ps_out(r), p, n);
}

/* Move n bytes of src to the worker as one DATA frame. */
static void
send_data(struct preq *r, struct evbuffer *src, size_t n)
{
	struct frame_hdr fh = { FRAME_DATA, (uint32_t)n };

	evbuffer_add(ps_out(r), &fh, sizeof(fh));
	evbuffer_remove_buffer(src, ps_out(r), n);
}

static void
send_head(struct preq *r, int status, uint32_t flags, uint64_t len,
    struct evbuffer *lines)
{
	struct frame_head	 h;
	struct frame_hdr	 fh;
	size_t			 n = lines ? evbuffer_get_length(lines) : 0;

	memset(&h, 0, sizeof(h));
	r->sent_status = status;
	if (r == ping.leader) {
		ping.status = status;
		ping.at_ms = pw_now_ms();
	}
	h.status = (uint32_t)status;
	h.flags = flags;
	h.content_length = len;
	fh.type = FRAME_HEAD;
	fh.len = (uint32_t)(sizeof(h) + n);
	evbuffer_add(ps_out(r), &fh, sizeof(fh));
	evbuffer_add(ps_out(r), &h, sizeof(h));
	if (lines != NULL)
		evbuffer_add_buffer(ps_out(r), lines);
}

static void
pstream_free(struct pstream *ps)
{
	struct pstream	**pp;

	for (pp = pstream_bucket(ps->slot, ps->sid); *pp != NULL;
	    pp = &(*pp)->hnext)
		if (*pp == ps) {
			*pp = ps->hnext;
			break;
		}
	if (ps->cur != NULL)
		preq_free(ps->cur);
	bufferevent_free(ps->bev);
	free(ps);
}

/* Close a stream that will not be reused, once its output has drained. */
static void
pstream_retire(struct pstream *ps)
{
	ps->closing = 1;
	bufferevent_disable(ps->bev, EV_READ);
	if (ps->cur == NULL &&
	    evbuffer_get_length(bufferevent_get_output(ps->bev)) == 0)
		pstream_free(ps);
}

/* Both directions of one exchange are complete: the stream is idle again. */
static void
preq_done(struct preq *r)
{
	struct pstream	*ps = r->ps;

	preq_free(r);
	if (ps->closing)
		pstream_retire(ps);
	else
		/*
		 * Ready for the next REQ.  Reading may still be off: a body
		 * judged by policyd and then refused ends here without
		 * passing through PR_EXCHANGE, which turns it back on.
		 */
		pw_bev_resume(ps->bev);
}

/*
 * The response is fully queued: PR_FLUSH.  The exchange ends when the
 * worker's side has ended too (its END), so the stream stays in step for
 * the next request; meanwhile any rest of the request body is read and
 * dropped.
 */
static void
preq_finish(struct preq *r)
{
	if (r->timer != NULL)
		evtimer_del(r->timer);
	r->state = PR_FLUSH;
	preq_splice_stop(r);
	if (r->up != NULL) {
		upstream_free(r->up);
		r->up = NULL;
	}
	if (r->req_done) {
		preq_done(r);
		return;
	}
	pw_bev_resume(r->ps->bev);
}

/* The response cannot be completed: tell the worker, drop the stream. */
static void
preq_abort(struct preq *r)
{
	struct pstream	*ps = r->ps;

	send_frame(r, FRAME_ABORT, NULL, 0);
	preq_free(r);
	pstream_retire(ps);
}

/* A complete error response of our own, as JSON {"message": ...}. */
static void
preq_error(struct preq *r, int status, const char *msg)
{
	struct evbuffer	*lines = evbuffer_new();
	json_t		*o = json_pack("{s:s}", "message", msg);
	char		*s = json_dumps(o, JSON_COMPACT);
	size_t		 n = strlen(s);

	json_decref(o);
	s = xreallocarray(s, n + 2, 1);
	s[n++] = '\n';
	s[n] = '\0';
	evbuffer_add_printf(lines, "Content-Type: application/json\r\n");
	send_head(r, status, FH_LENGTH, n, lines);
	send_frame(r, FRAME_DATA, s, n);
	send_frame(r, FRAME_END, NULL, 0);
	evbuffer_free(lines);
	free(s);
	r->resp_headed = 1;
	preq_finish(r);
}

/* The api_request record, once per request (reference 11.1). */
static void
preq_audit(struct preq *r)
{
	struct audit_rec	rec;

	if (!r->audit)
		return;
	r->audit = 0;
	audit_rec_init(&rec, "api_request", r->actor, r->method, r->target,
	    "allowed");
	audit_rec_principal(&rec, r->principal);
	if (r->judged)
		audit_rec_policy(&rec, r->g.profile, r->g.rule);
	rec.status = r->sent_status ? r->sent_status : 200;
	rec.has_duration = 1;
	rec.duration_ms = (double)(pw_now_us() - r->t0_us) / 1000.0;
	audit_add(&rec);
}

/*
 * A hijacked exec start (101 from Docker): exec_start, with the request
 * path as the container (as the reference has it) and the exec ID.
 */
static void
exec_started(struct preq *r)
{
	struct audit_rec	 rec;
	char			*seg[64], buf[AUDIT_PATH_MAX];
	int			 n = 0;
	char			*p, *save = NULL;

	if (r->target == NULL || strcmp(r->method, "POST") != 0)
		return;
	audit_rec_init(&rec, "exec_start", r->actor, NULL, r->target,
	    "allowed");
	audit_rec_principal(&rec, r->principal);
	pw_strlcpy(buf, rec.path, sizeof(buf));
	for (p = strtok_r(buf, "/", &save); p != NULL && n < 64;
	    p = strtok_r(NULL, "/", &save))
		seg[n++] = p;
	if (n < 3 || strcmp(seg[n - 1], "start") != 0 ||
	    strcmp(seg[n - 3], "exec") != 0)
		return;
	pw_strlcpy(rec.container, rec.path, sizeof(rec.container));
	pw_strlcpy(rec.exec_id, seg[n - 2], sizeof(rec.exec_id));
	rec.method[0] = rec.path[0] = '\0';
	audit_add(&rec);
}

/* A request the proxy refused, with why (portwing's own event type). */
static void
proxy_denied(struct preq *r, const char *actor, const char *target,
    const char *why)
{
	struct audit_rec	rec;

	audit_rec_init(&rec, "proxy_denied", actor, r->method, target,
	    "denied");
	/* Before the approval checked out, nobody is known. */
	audit_rec_principal(&rec, *r->principal ? r->principal : "none");
	if (r->judged)
		audit_rec_policy(&rec, r->g.profile, r->g.rule);
	pw_strlcpy(rec.reason, why, sizeof(rec.reason));
	audit_add(&rec);
}

/*
 * Does this frame from the worker fit the body framing its REQ declared?
 * NULL when it does, else why not.  Docker gets only what the proxy
 * counted: a Content-Length body must be exactly as long as declared, no
 * DATA frame may be empty (it would end a chunked body early), and a
 * request declared without a body has none.
 */
static const char *
frame_misfit(struct preq *r, const struct frame_hdr *fh)
{
	static char	why[96];

	if ((fh->type != FRAME_DATA && fh->type != FRAME_END) ||
	    fh->len > FRAME_MAX_DATA || (fh->type == FRAME_END && fh->len))
		return "malformed stream frame";
	if (fh->type == FRAME_DATA && r->body_mode == REQ_BODY_NONE)
		return "body where none was declared";
	if (fh->type == FRAME_DATA && fh->len == 0)
		return "empty body frame";
	if (r->body_mode != REQ_BODY_LENGTH)
		return NULL;
	if (fh->type == FRAME_DATA && fh->len > r->body_left) {
		snprintf(why, sizeof(why), "body longer than the declared "
		    "%llu bytes", (unsigned long long)r->clen);
		return why;
	}
	if (fh->type == FRAME_END && r->body_left > 0) {
		snprintf(why, sizeof(why), "body shorter than the declared "
		    "%llu bytes", (unsigned long long)r->clen);
		return why;
	}
	return NULL;
}

/* The worker framed a body other than it declared: log, count, audit. */
static void
body_refused(struct preq *r, const char *why)
{
	log_error("worker %u: request body refused (%s) for %s %s",
	    r->ps->slot, why, r->method, r->path);
	ST_ADD(pw_stats->proxy.decision[STD_DENIED_BODY], 1);
	r->audit = 0;
	proxy_denied(r, r->actor, r->target ? r->target : r->path, why);
}

/*
 * ... while relaying to Docker: the exchange is aborted and that Docker
 * connection, which may hold part of the body, is closed, never pooled.
 */
static void
body_violation(struct preq *r, const char *why)
{
	body_refused(r, why);
	preq_splice_stop(r);
	upstream_free(r->up);
	r->up = NULL;
	preq_abort(r);
}

/* A probe answered from the last /_ping, if it is recent; 1 if so. */
static int
ping_cached(struct preq *r)
{
	if (ping.status == 0 || pw_now_ms() - ping.at_ms >= PING_CACHE_MS)
		return 0;
	if (ping.status == 200)
		respond_local(r, 200, "Content-Type: text/plain; "
		    "charset=utf-8\r\n", "OK", 2);
	else
		respond_local(r, ping.status, NULL, "", 0);
	return 1;
}

/*
 * The probe in flight is over: answer the waiting ones from its result,
 * or, when it ended without one, let the first of them ask Docker.
 */
static void
ping_wake_cb(evutil_socket_t fd, short ev, void *arg)
{
	struct preq	*r;

	while (ping.leader == NULL && (r = TAILQ_FIRST(&ping.waiting)) != NULL) {
		TAILQ_REMOVE(&ping.waiting, r, ping_entry);
		r->ping_wait = 0;
		if (ping_cached(r))
			continue;
		ping.leader = r;
		preq_dispatch(r, 0);
	}
}

static void
preq_free(struct preq *r)
{
	preq_splice_stop(r);
	if (r->rin != NULL) {
		/* What followed the request's END is the stream's again. */
		if (r->ps != NULL && evbuffer_get_length(r->rin) > 0)
			evbuffer_prepend_buffer(bufferevent_get_input(
			    r->ps->bev), r->rin);
		evbuffer_free(r->rin);
	}
	preq_audit(r);
	if (r->ping_wait)
		TAILQ_REMOVE(&ping.waiting, r, ping_entry);
	if (ping.leader == r) {
		struct timeval	now = { 0, 0 };

		ping.leader = NULL;
		if (!TAILQ_EMPTY(&ping.waiting))
			evtimer_add(ping.wake, &now);
	}
	free(r->target);
	if (r->obs_wait)
		observe_forget(r);
	if (r->sub != NULL)
		inventory_unsubscribe(r->sub);
	if (r->mcp != NULL)
		pmcp_cancel(r->mcp);
	if (r->pda != NULL)
		pda_cancel(r->pda);
	if (r->pfw != NULL)
		pfiles_cancel(r->pfw);
	if (r->pcr != NULL)
		pcompose_cancel(r->pcr);
	json_decref(r->own);
	if (r->inv_wait)
		inventory_forget_waiter(r);
	if (r->errbody != NULL)
		evbuffer_free(r->errbody);
	if (r->dm != NULL)
		evbuffer_free(r->dm);
	if (r->spool_fd != -1)
		close(r->spool_fd);
	EVP_MD_CTX_free(r->md);
	if (r->xfetch != NULL)
		dclient_cancel(r->xfetch);
	presp_free(r->held);
	pgate_free(&r->g);
	if (r->wait != NULL)
		upstream_cancel(r->wait);
	if (r->counted_hijack) {
		px.hijacked--;
		ST_SET(pw_stats->proxy.hijacked, px.hijacked);
	}
	if (r->timer != NULL)
		event_free(r->timer);
	upstream_free(r->up);
	if (r->head != NULL)
		evbuffer_free(r->head);
	if (r->ps != NULL && r->ps->cur == r)
		r->ps->cur = NULL;
	free(r);
}

static void
preq_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct preq	*r = arg;
	char		 msg[128];

	log_warnx("%s %s: no complete answer from Docker within %d s",
	    r->method, r->path, px.cfg.request_timeout);
	ST_ADD(pw_stats->proxy.decision[STD_UPSTREAM_ERROR], 1);
	if (r->held != NULL) {
		/* Nothing of the answer went out: a clean 504. */
		presp_free(r->held);
		r->held = NULL;
		r->resp_headed = 0;
	}
	if (r->resp_headed) {
		preq_abort(r);
		return;
	}
	snprintf(msg, sizeof(msg), "Docker Engine did not answer within %d s "
	    "(REQUEST_TIMEOUT)", px.cfg.request_timeout);
	preq_error(r, 504, msg);
}

/*
 * A body held for judging (signed or inspected) that stops arriving for
 * SPOOL_STALL_S: refused, and the worker closes the connection (the rest
 * of the body is unread).  Nothing of it was sent to Docker.
 */
#define SPOOL_STALL_S	30

static void
spool_stalled(evutil_socket_t fd, short ev, void *arg)
{
	struct preq	*r = arg;

	log_warnx("worker %u: %s %s: the request body stalled for %d s; "
	    "refused", r->ps->slot, r->method, r->path, SPOOL_STALL_S);
	r->audit = 0;
	proxy_denied(r, r->actor, r->target ? r->target : r->path,
	    "request body stalled");
	preq_error(r, 408, "request body not received in time");
}

static void
spool_arm(struct preq *r)
{
	struct timeval	tv = { SPOOL_STALL_S, 0 };

	if (r->timer == NULL)
		r->timer = evtimer_new(px.base, spool_stalled, r);
	evtimer_add(r->timer, &tv);
}

/* ---- request intake ---- */

/*
 * Long-lived Docker calls never get REQUEST_TIMEOUT: streams, uploads,
 * downloads and hijacks (matched on the path without an API version).
 */
static int
path_is_streaming(const char *path)
{
	static const char *const suffixes[] = {
		"/logs", "/attach", "/attach/ws", "/events", "/build",
		"/images/create", "/push", "/stats", "/wait", "/archive",
		"/get", "/images/load", "/export", "/session", "/grpc",
		"/images/prune",
	};
	size_t	i, n = strlen(path), sl;

	if (strstr(path, "/exec/") != NULL && n >= 6 &&
	    strcmp(path + n - 6, "/start") == 0)
		return 1;
	for (i = 0; i < nitems(suffixes); i++) {
		sl = strlen(suffixes[i]);
		if (n >= sl && strcmp(path + n - sl, suffixes[i]) == 0)
			return 1;
	}
	return 0;
}

static int
field_ok(const char *name, size_t nl, const char *val, size_t vl)
{
	size_t	i;

	if (nl == 0)
		return 0;
	for (i = 0; i < nl; i++)
		if (!http_is_tchar((unsigned char)name[i]))
			return 0;
	for (i = 0; i < vl; i++) {
		unsigned char c = (unsigned char)val[i];
		if ((c < 0x20 && c != '\t') || c == 0x7f)
			return 0;
	}
	return 1;
}

static const char *
approval_refusal(struct preq *r, const struct approval *ap,
    const char *method, const char *target)
{
	if (ap->worker != r->ps->slot)
		return "issued to another worker";
	if (approval_check_mac(ap, px.cfg.approval_key, method, target) == -1)
		return "MAC does not match this request under the current "
		    "key";
	if (ap->expires_ms < pw_now_ms())
		return "expired";
	if (approval_replay_check(&px.replay, ap->gen, ap->seq) == -1)
		return "already used";
	return NULL;
}

/*
 * Parse one REQ frame (the worker's request head, see proxy.h) into a new
 * exchange on ps.  Returns -1 when the worker sent something malformed.
 */
static int
preq_new(struct pstream *ps, const uint8_t *p, size_t len, int viaauthd)
{
	struct ipc_msg	 m;
	struct ipc_rd	 rd;
	struct approval	 ap;
	struct preq	*r;
	const char	*why, *name, *val;
	char		 method[HTTP_METHOD_BUF], client[64], upg[64], nbuf[257];
	char		*target = NULL, *q, *regauth = NULL, *fwd = NULL;
	char		 ctype[128] = "";
	uint64_t	 clen;
	size_t		 nl, vl;
	uint32_t	 more = 0;
	int		 nfields = 0, bad = 0;

	memset(&m, 0, sizeof(m));
	m.hdr.len = (uint32_t)len;
	m.data = p;
	r = xcalloc(1, sizeof(*r));
	r->ps = ps;
	r->spool_fd = -1;
	r->id = ++px.next_id;
	r->state = PR_EXCHANGE;
	r->head = evbuffer_new();
	r->fwd = r->req_done = viaauthd;	/* no body: END implied */
	ps->cur = r;

	ipc_rd_init(&rd, &m);
	r->flags = (int)ipc_rd_u32(&rd);
	approval_get(&rd, &ap);
	ipc_rd_str(&rd, method, sizeof(method));
	target = ipc_rd_strdup(&rd, HTTP_MAX_REQLINE);
	r->body_mode = (int)ipc_rd_u32(&rd);
	clen = ipc_rd_u64(&rd);
	if (r->body_mode == REQ_BODY_LENGTH)
		r->clen = r->body_left = clen;
	if (r->flags & PXF_RAWBODY) {
		r->raw = 1;
		r->raw_left = r->body_left;
	}
	ipc_rd_str(&rd, client, sizeof(client));
	ipc_rd_str(&rd, upg, sizeof(upg));
	if (target == NULL || !http_valid_method(method) ||
	    !http_valid_target(target, strlen(target)) ||
	    r->body_mode < REQ_BODY_NONE || r->body_mode > REQ_BODY_CHUNKED ||
	    (r->flags & ~(PXF_PING | PXF_UPGRADE | PXF_DD | PXF_RAWBODY)) ||
	    ((r->flags & PXF_DD) && r->body_mode != REQ_BODY_NONE &&
	    !files_route(method, target, r->body_mode)) ||
	    ((r->flags & PXF_RAWBODY) && (r->body_mode != REQ_BODY_LENGTH ||
	    (r->flags & (PXF_PING | PXF_UPGRADE | PXF_DD)))) ||
	    (viaauthd && (r->flags != 0 || r->body_mode != REQ_BODY_NONE)))
		bad = 1;
	if (!bad && (r->flags & PXF_PING)) {
		/* Fixed readiness probe: nothing of the client's is sent. */
		pw_strlcpy(method, "GET", sizeof(method));
		free(target);
		target = xstrdup("/_ping");
		r->flags &= ~PXF_UPGRADE;
		if (r->body_mode != REQ_BODY_NONE)
			bad = 1;
	}
	/* The request line is written once the policy has judged it. */
	while (!bad && (more = ipc_rd_u32(&rd)) == 1) {
		name = ipc_rd_strp(&rd, &nl, 256);
		val = ipc_rd_strp(&rd, &vl, HTTP_MAX_HEAD);
		if (name == NULL || val == NULL || ++nfields > PROXY_MAX_FIELDS ||
		    !field_ok(name, nl, val, vl)) {
			bad = 1;
			break;
		}
		memcpy(nbuf, name, nl);
		nbuf[nl] = '\0';
		if (r->flags & PXF_DD)
			mcp_field(r, nbuf, val, vl);
		if ((r->flags & (PXF_PING | PXF_DD)) ||
		    !http_header_forwardable(nbuf))
			continue;
		if (strcasecmp(nbuf, "X-Registry-Auth") == 0 && regauth == NULL &&
		    vl <= 8 * 1024)
			regauth = xstrndup(val, vl);
		if (strcasecmp(nbuf, "Content-Type") == 0 && vl < sizeof(ctype)) {
			memcpy(ctype, val, vl);
			ctype[vl] = '\0';
		}
		evbuffer_add(r->head, name, nl);
		evbuffer_add(r->head, ": ", 2);
		evbuffer_add(r->head, val, vl);
		evbuffer_add(r->head, "\r\n", 2);
	}
	if (bad || more != 0 || ipc_rd_end(&rd) == -1) {
		log_warnx("worker %u sent a malformed request; dropping the "
		    "stream", ps->slot);
		free(target);
		if (regauth != NULL)
			freezero_str(regauth);
		return -1;
	}
	pw_strlcpy(r->method, method, sizeof(r->method));
	pw_strlcpy(r->path, target, sizeof(r->path));
	pw_strlcpy(r->actor, client, sizeof(r->actor));
	if ((q = strchr(r->path, '?')) != NULL)
		*q = '\0';
	if (!(r->flags & PXF_PING) &&
	    (why = approval_refusal(r, &ap, method, target)) != NULL) {
		log_error("worker %u: approval refused (%s) for %s %s",
		    ps->slot, why, method, r->path);
		ST_ADD(pw_stats->proxy.decision[STD_DENIED_APPROVAL], 1);
		proxy_denied(r, client, target, why);
		free(target);
		if (regauth != NULL)
			freezero_str(regauth);
		preq_error(r, 403, "request not approved by authd");
		return 0;
	}
	/*
	 * A filter client (no token: a unix peer or a client certificate)
	 * has Docker's API, under the policy, and none of portwing's own
	 * routes, whatever its worker asks.
	 */
	if ((r->flags & PXF_DD) && (strncmp(ap.principal, "unix:", 5) == 0 ||
	    strncmp(ap.principal, "cert:", 5) == 0)) {
		log_error("worker %u: a portwing route for filter client %s "
		    "refused: %s", ps->slot, ap.principal, r->path);
		ST_ADD(pw_stats->proxy.decision[STD_DENIED_APPROVAL], 1);
		proxy_denied(r, client, target, "portwing routes are not "
		    "served to filter clients");
		free(target);
		if (regauth != NULL)
			freezero_str(regauth);
		preq_error(r, 403, "request not approved by authd");
		return 0;
	}
	if (!(r->flags & (PXF_PING | PXF_DD)) && pgate_active()) {
		/* The policy: rules here, bodies in policyd (pgate.c). */
		char	 pwhy[300], *pbody;
		int	 pst;

		r->judged = 1;
		switch (pgate_judge(&r->g, method, target, &ap, regauth, &fwd,
		    &pst, &pbody, pwhy, sizeof(pwhy))) {
		case PG_DENY:
			log_info("policy: denied %s %s for %s%s%s (rule %d): %s",
			    method, r->path, ap.principal, r->g.profile[0] ?
			    ", profile " : "", r->g.profile, r->g.rule, pwhy);
			pw_strlcpy(r->principal, ap.principal,
			    sizeof(r->principal));
			ST_ADD(pw_stats->proxy.decision[STD_DENIED_POLICY], 1);
			proxy_denied(r, ap.actor, target, pwhy);
			free(target);
			if (regauth != NULL)
				freezero_str(regauth);
			if (pst == 429 && r->g.retry_after > 0) {
				char hl[160];
				snprintf(hl, sizeof(hl), PGATE_CTYPE
				    "Retry-After: %d\r\n", r->g.retry_after);
				respond_local(r, pst, hl, pbody,
				    strlen(pbody));
			} else
				respond_local(r, pst, PGATE_CTYPE, pbody,
				    strlen(pbody));
			free(pbody);
			return 0;
		case PG_INSPECT:
			if (pol_query_body_refused((enum pol_insp)r->g.insp,
			    ctype)) {
				/*
				 * A form body Docker would read parameters
				 * from, ahead of the query that was judged.
				 */
				pw_strlcpy(r->principal, ap.principal,
				    sizeof(r->principal));
				ST_ADD(pw_stats->proxy.decision[
				    STD_DENIED_POLICY], 1);
				pgate_count(&r->g, 1);
				proxy_denied(r, ap.actor, target, "a form body "
				    "on an inspected query");
				pbody = pgate_deny_body(method, target,
				    "form body refused");
				free(target);
				free(fwd);
				if (regauth != NULL)
					freezero_str(regauth);
				respond_local(r, 403, PGATE_CTYPE, pbody,
				    strlen(pbody));
				free(pbody);
				return 0;
			}
			if (r->g.cap > 0 && r->body_mode == REQ_BODY_LENGTH &&
			    clen > (uint64_t)r->g.cap) {
				pw_strlcpy(r->principal, ap.principal,
				    sizeof(r->principal));
				ST_ADD(pw_stats->proxy.decision[
				    STD_DENIED_POLICY], 1);
				pgate_count(&r->g, 1);
				proxy_denied(r, ap.actor, target, "request body "
				    "too large for inspection");
				free(target);
				free(fwd);
				if (regauth != NULL)
					freezero_str(regauth);
				preq_error(r, 413, "request body too large");
				return 0;
			}
			break;
		case PG_FORWARD:
			break;
		}
	}
	if (regauth != NULL)
		freezero_str(regauth);
	if (!(r->flags & PXF_DD)) {
		/* Docker gets the judged form of the path (or the original). */
		struct evbuffer *line = evbuffer_new();
		evbuffer_add_printf(line, "%s %s HTTP/1.1\r\nHost: docker\r\n",
		    method, fwd != NULL ? fwd : target);
		evbuffer_prepend_buffer(r->head, line);
		evbuffer_free(line);
	}
	free(fwd);
	if (!(r->flags & PXF_PING)) {
		/* Approved: the actor is authd's, bound by the MAC. */
		ST_ADD(pw_stats->proxy.decision[STD_ALLOWED], 1);
		pw_strlcpy(r->actor, ap.actor, sizeof(r->actor));
		pw_strlcpy(r->principal, ap.principal, sizeof(r->principal));
		r->target = xstrdup(target);
		r->t0_us = pw_now_us();
		r->audit = 1;
	}
	if (!(r->flags & PXF_PING))
		log_debug("worker %u: %s %s for %s%s%s%s", ps->slot, method,
		    r->path, ap.principal, ap.policy[0] ? ", policy " : "",
		    ap.policy, r->fwd ? " (passed on by authd)" : "");
	if (r->flags & PXF_DD) {
		if (pgate_active() && dd_policy(r, &ap, method, target)) {
			free(target);
			return 0;
		}
		dd_request(r, method, target);
		free(target);
		return 0;
	}
	if (r->flags & PXF_PING) {
		free(target);
		if (ping_cached(r))
			return 0;
		if (ping.leader != NULL) {
			r->state = PR_LOCAL;
			r->ping_wait = 1;
			TAILQ_INSERT_TAIL(&ping.waiting, r, ping_entry);
			return 0;
		}
		ping.leader = r;
		preq_dispatch(r, 0);
		return 0;
	}
	free(target);
	r->is_head = strcmp(method, "HEAD") == 0;
	r->streaming = path_is_streaming(r->path);
	if (r->flags & PXF_UPGRADE) {
		if (!http_valid_method(upg)) {
			preq_error(r, 400, "invalid Upgrade header");
			return 0;
		}
		if (px.hijacked >= px.cfg.max_hijacked) {
			char msg[128];
			snprintf(msg, sizeof(msg), "too many concurrent exec/"
			    "attach sessions (limit %d); try again later",
			    px.cfg.max_hijacked);
			log_warnx("%s", msg);
			ST_ADD(pw_stats->proxy.decision[STD_HIJACK_LIMIT], 1);
			preq_error(r, 429, msg);
			return 0;
		}
		px.hijacked++;
		ST_SET(pw_stats->proxy.hijacked, px.hijacked);
		r->counted_hijack = 1;
		r->hijack = 1;
		r->streaming = 1;
		evbuffer_add_printf(r->head, "Connection: Upgrade\r\n"
		    "Upgrade: %s\r\n", upg);
	}
	if ((ap.flags & APPROVAL_F_BODY) && !(r->flags & PXF_PING)) {
		/* Signed: the body is judged before a byte goes to Docker. */
		memcpy(r->want, ap.body_digest, sizeof(r->want));
		r->signed_body = 1;
		if (r->body_mode != REQ_BODY_NONE)
			return preq_spool_start(r);
		if (!body_matches(r, NULL, 0))
			return 0;
	}
	if (r->g.insp == PI_NONE && r->g.okind != 0 && r->g.npath != NULL) {
		/* Nothing for policyd to read yet: the owner check next. */
		r->state = PR_INSPECT;
		bufferevent_disable(r->ps->bev, EV_READ);
		preq_verdict(r, 0, "");
		return 0;
	}
	if ((r->g.insp != 0 || r->g.ofilter) && r->g.npath != NULL) {
		/*
		 * Inspected: held whole, then judged by policyd.  An
		 * inspector that reads only the query and headers (image
		 * pull: the body is an import's tarball) is asked first and
		 * the body is then relayed as usual.
		 */
		if (r->body_mode != REQ_BODY_NONE && r->g.cap > 0)
			return preq_spool_start(r);
		r->spool_fd = memfd_create("pw-proxy-body", MFD_CLOEXEC |
		    MFD_ALLOW_SEALING);
		if (r->spool_fd == -1) {
			log_warn("memfd for an inspected body");
			preq_error(r, 500, "cannot hold the request body");
			return 0;
		}
		{
			uint8_t	empty[32];
			pwc_sha256("", 0, empty);
			preq_ask_policyd(r, empty);
		}
		return 0;
	}
	preq_dispatch(r, clen);
	return 0;
}

/*
 * Framing, the timeout, and a Docker connection: from the pool, or asked
 * of the master.
 */
static void
preq_dispatch(struct preq *r, uint64_t clen)
{
	if (r->body_mode == REQ_BODY_LENGTH)
		evbuffer_add_printf(r->head, "Content-Length: %llu\r\n",
		    (unsigned long long)clen);
	else if (r->body_mode == REQ_BODY_CHUNKED)
		evbuffer_add_printf(r->head, "Transfer-Encoding: chunked\r\n");
	evbuffer_add(r->head, "\r\n", 2);
	if (!r->streaming && r->timer == NULL) {
		struct timeval tv = { px.cfg.request_timeout, 0 };
		r->timer = evtimer_new(px.base, preq_timeout, r);
		evtimer_add(r->timer, &tv);
	}
	{
		struct connreq *w;

		r->state = PR_WAIT_CONN;
		/*
		 * Non-NULL only when the answer is still to come (r alive):
		 * the stream then waits too.  A pooled connection is handed
		 * over at once, and reading was never stopped.
		 */
		if ((w = upstream_get(preq_connected, r)) != NULL) {
			r->wait = w;
			bufferevent_disable(r->ps->bev, EV_READ);
		}
	}
}

/* Does what was received hash to the approved digest?  Else 403. */
static int
body_matches(struct preq *r, const uint8_t *got, int have)
{
	uint8_t	empty[32];

	if (!have) {
		pwc_sha256("", 0, empty);
		got = empty;
	}
	if (pw_ct_equal(got, r->want, sizeof(r->want)))
		return 1;
	log_error("worker %u: request body does not match the signed digest "
	    "(%s %s)", r->ps->slot, r->method, r->path);
	ST_ADD(pw_stats->proxy.decision[STD_DENIED_BODY], 1);
	r->audit = 0;
	proxy_denied(r, r->actor, r->target, "body does not match its "
	    "signature");
	preq_error(r, 403, "request body does not match its signature");
	return 0;
}

/*
 * A Docker answer fetched for policyd (an owner lookup, a stored exec):
 * held in a sealed memfd with its digest and sent to be judged.
 */
static void
inspect_fetched(struct preq *r, struct evbuffer *body, const char *name,
    const char *what)
{
	char	 msg[64];
	uint8_t	 dg[32];
	size_t	 n;
	int	 fd;

	n = evbuffer_get_length(body);
	fd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
	if (fd == -1 || write(fd, evbuffer_pullup(body, (ssize_t)n), n) !=
	    (ssize_t)n) {
		log_warn("memfd for %s", what);
		if (fd != -1)
			close(fd);
		snprintf(msg, sizeof(msg), "cannot hold %s", what);
		preq_error(r, 500, msg);
		return;
	}
	pwc_sha256(evbuffer_pullup(body, (ssize_t)n), n, dg);
	if (pgate_inspect(&r->g, r->method, fd, n, dg, preq_verdict,
	    r) == -1) {
		close(fd);
		preq_error(r, 503, "the policy process is unavailable; try "
		    "again");
		return;
	}
	close(fd);
}

/*
 * Ownership (§6.3): Docker's own answer on the resource a request
 * addresses, fresh each time (names and tags move), judged by policyd.
 * Not found goes on to Docker, which answers 404.
 */
static void
owner_lookup_done(void *arg, int status, struct evbuffer *body,
    const char *err)
{
	struct preq	*r = arg;

	r->xfetch = NULL;
	if (!r->g.ochecked) {
		/* The addressed resource. */
		r->g.ochecked = 1;
		r->g.ckind = r->g.okind;
		r->g.cclaim = r->g.oclaim;
		if (status == 404) {
			preq_verdict(r, 0, "");
			return;
		}
	} else {
		/* A reference in a create body (refi already moved on). */
		const struct owner_ref *ref = &r->g.refs[r->g.refi - 1];
		char why[128];

		r->g.ckind = ref->kind;
		r->g.cclaim = 0;
		if (status == 404) {
			snprintf(why, sizeof(why), "owner policy could not "
			    "resolve the %s", pol_owner_kind_name(ref->kind));
			/* An unknown namespace target: Docker fails it. */
			preq_verdict(r, (ref->flags & OWNER_REF_NS) ? 0 : 403,
			    why);
			return;
		}
	}
	if (status != 200 || body == NULL) {
		log_warnx("policy: %s %s: the owner of the %s could not be "
		    "read (%s)", r->method, r->path,
		    pol_owner_kind_name(r->g.ckind), err ? err : "bad answer");
		preq_error(r, 502, "owner_policy_lookup_failed");
		return;
	}
	r->g.ophase = 1;
	inspect_fetched(r, body, "pw-proxy-owner", "the owner lookup");
}

static int
owner_lookup(struct preq *r)
{
	char	 lp[POL_PATH_MAX + 16], *target;

	if (!r->g.ochecked)
		pol_owner_lookup_path(r->g.okind, r->g.oid, lp, sizeof(lp));
	else {
		pol_owner_lookup_path(r->g.refs[r->g.refi].kind,
		    r->g.refs[r->g.refi].id, lp, sizeof(lp));
		r->g.refi++;
	}
	if (lp[0] == '\0')
		return -1;
	target = policy_forward_target("", lp, NULL);
	r->xfetch = dclient_request("GET", target, px.cfg.request_timeout,
	    8 * 1024 * 1024, NULL, owner_lookup_done, r);
	free(target);
	return 0;
}

/*
 * The stored exec, for policyd (PI_EXEC_STORED): Docker's answer is put
 * in a sealed memfd of its own; the start body stays in the spool.
 */
static void
exec_stored_done(void *arg, int status, struct evbuffer *body,
    const char *err)
{
	struct preq	*r = arg;

	r->xfetch = NULL;
	if (status == 404) {
		/* No such exec: Docker answers the start with its 404. */
		preq_verdict(r, 0, "");
		return;
	}
	if (status != 200 || body == NULL) {
		log_warnx("policy: %s %s: the stored exec could not be read "
		    "(%s)", r->method, r->path, err ? err : "bad answer");
		preq_error(r, 502, "exec lookup for the policy failed");
		return;
	}
	r->g.insp = PI_EXEC_STORED;
	inspect_fetched(r, body, "pw-proxy-exec", "the stored exec");
}

/* Fetch the exec a start names (after its body passed policyd). */
static int
exec_stored_fetch(struct preq *r)
{
	const char	*p = r->g.npath;
	char		 id[128], target[160];
	size_t		 n;

	/* npath is /exec/{id}/start (or /libpod/exec/{id}/start). */
	if (strncmp(p, "/libpod", 7) == 0)
		p += 7;
	if (strncmp(p, "/exec/", 6) != 0)
		return -1;
	p += 6;
	n = strcspn(p, "/");
	if (n == 0 || n >= sizeof(id) || strcmp(p + n, "/start") != 0 ||
	    strspn(p, "0123456789abcdefABCDEF") < n)
		return -1;
	memcpy(id, p, n);
	id[n] = '\0';
	snprintf(target, sizeof(target), "/exec/%s/json", id);
	r->xstored = 1;
	r->xfetch = dclient_request("GET", target, px.cfg.request_timeout,
	    8 * 1024 * 1024, NULL, exec_stored_done, r);
	return 0;
}

/* policyd's answer on an inspected body (pgate_inspect). */
static void
preq_verdict(void *arg, int status, const char *reason)
{
	struct preq	*r = arg;

	r->g.asked = 0;
	if (status == 0 && r->g.insp == PI_EXEC_START && !r->xstored) {
		/* The body passed; now the exec it would start (§5.8). */
		if (exec_stored_fetch(r) == -1) {
			/* Not an exec id: Docker refuses it (404). */
			r->xstored = 1;
		} else
			return;
	}
	if (status == 0 && r->g.okind != 0 && !r->g.ochecked) {
		/* Allowed so far; now whose the addressed resource is. */
		if (owner_lookup(r) == 0)
			return;
		r->g.ochecked = 1;
	}
	if (status == 0 && r->g.refi < r->g.nrefs) {
		/* Then each resource a create body refers to (§6.4). */
		r->g.ochecked = 1;
		if (owner_lookup(r) == 0)
			return;
		preq_error(r, 500, "cannot look up a reference");
		return;
	}
	if (status == 0 && r->g.has_out) {
		/* Stamped by policyd: that body replaces the client's. */
		if (!r->req_done) {
			preq_error(r, 500, "cannot hold the request body");
			return;
		}
		if (r->spool_fd != -1)
			close(r->spool_fd);
		r->spool_fd = r->g.out_fd;
		r->spool_len = r->g.out_len;
		r->g.has_out = 0;
	}
	if (status == 0 && r->g.fwd_new != NULL &&
	    powner_set_target(r->head, r->method, r->g.fwd_new) == -1) {
		preq_error(r, 500, "cannot form the request");
		return;
	}
	if (status == 0) {
		pgate_count(&r->g, 0);
		if (r->req_done)	/* spooled: sent with its length */
			r->body_mode = REQ_BODY_LENGTH;
		else if (r->spool_fd != -1) {
			/* Nothing was held: the body follows as usual. */
			close(r->spool_fd);
			r->spool_fd = -1;
		}
		r->state = PR_EXCHANGE;
		bufferevent_enable(r->ps->bev, EV_READ);
		preq_dispatch(r, r->req_done ? r->spool_len : r->clen);
		return;
	}
	log_info("policy: denied %s %s for %s%s%s: %s", r->method, r->path,
	    r->principal, r->g.profile[0] ? ", profile " : "", r->g.profile,
	    reason);
	pgate_count(&r->g, 1);
	ST_ADD(pw_stats->proxy.decision[STD_DENIED_POLICY], 1);
	r->audit = 0;
	proxy_denied(r, r->actor, r->target ? r->target : r->path, reason);
	if (status == 403) {
		/* The deny body of the policy's verbosity (§3.5). */
		char *b = pgate_deny_body(r->method, r->target ? r->target :
		    r->path, reason);
		respond_local(r, status, PGATE_CTYPE, b, strlen(b));
		free(b);
		return;
	}
	preq_error(r, status, reason);
}

static void
preq_ask_policyd(struct preq *r, const uint8_t digest[32])
{
	r->state = PR_INSPECT;
	bufferevent_disable(r->ps->bev, EV_READ);
	if (pgate_inspect(&r->g, r->method, r->spool_fd, r->spool_len, digest,
	    preq_verdict, r) == -1) {
		log_warnx("policy: cannot ask policyd about %s %s; refused",
		    r->method, r->path);
		bufferevent_enable(r->ps->bev, EV_READ);
		r->state = PR_EXCHANGE;
		preq_error(r, 503, "the policy process is unavailable; try "
		    "again");
	}
}

static int
preq_spool_start(struct preq *r)
{
	if ((r->spool_fd = memfd_create("pw-proxy-body", MFD_CLOEXEC |
	    MFD_ALLOW_SEALING)) == -1 ||
	    (r->md = EVP_MD_CTX_new()) == NULL ||
	    !EVP_DigestInit_ex(r->md, EVP_sha256(), NULL)) {
		log_warn("memfd for a signed body");
		preq_error(r, 500, "cannot hold the request body");
		return 0;
	}
	r->state = PR_SPOOL;
	spool_arm(r);
	return 0;
}

/* PR_SPOOL: DATA frames into the memfd, hashed; at END, judge and go. */
static int
spool_body(struct preq *r, struct evbuffer *in)
{
	struct frame_hdr	fh;
	uint8_t			got[32];
	unsigned int		glen = 32;
	unsigned char		*p;

	const char		*why;

	while (evbuffer_get_length(in) >= sizeof(fh)) {
		evbuffer_copyout(in, &fh, sizeof(fh));
		if ((why = frame_misfit(r, &fh)) != NULL) {
			body_refused(r, why);
			return -1;
		}
		if (evbuffer_get_length(in) < sizeof(fh) + fh.len)
			return 0;
		evbuffer_drain(in, sizeof(fh));
		if (r->body_mode == REQ_BODY_LENGTH)
			r->body_left -= fh.len;
		if (fh.type == FRAME_END) {
			r->req_done = 1;
			if (r->timer != NULL) {
				/* preq_dispatch arms the request's own timer. */
				event_free(r->timer);
				r->timer = NULL;
			}
			EVP_DigestFinal_ex(r->md, got, &glen);
			if (r->files) {
				files_spooled(r, got);
				return 0;
			}
			if (r->compose) {
				compose_spooled(r);
				return 0;
			}
			if (r->signed_body && !body_matches(r, got, 1))
				return 0;
			if (r->g.npath != NULL) {
				preq_ask_policyd(r, got);
				return 0;
			}
			r->body_mode = REQ_BODY_LENGTH;
			r->state = PR_EXCHANGE;
			preq_dispatch(r, r->spool_len);
			return 0;
		}
		if (r->g.npath != NULL &&
		    r->spool_len + fh.len > (uint64_t)r->g.cap) {
			/* Chunked, or longer than declared: 413 at once. */
			pgate_count(&r->g, 1);
			ST_ADD(pw_stats->proxy.decision[STD_DENIED_POLICY], 1);
			r->audit = 0;
			proxy_denied(r, r->actor, r->target ? r->target :
			    r->path, "request body too large for inspection");
			evbuffer_drain(in, fh.len);
			preq_error(r, 413, "request body too large");
			return 0;
		}
		if (r->spool_len + fh.len > (uint64_t)px.cfg.signed_body_limit)
			return -1;
		p = evbuffer_pullup(in, fh.len);
		spool_arm(r);
		EVP_DigestUpdate(r->md, p, fh.len);
		if (write(r->spool_fd, p, fh.len) != (ssize_t)fh.len) {
			log_warn("spooling a signed body");
			return -1;
		}
		r->spool_len += fh.len;
		evbuffer_drain(in, fh.len);
	}
	return 0;
}

/* A new stream from a worker (IPC_W_STREAM). */
/*
 * An audit record from another process.  Each sender may send only the
 * event types it is the author of; anything else ends its channel.
 */
static int
audit_from(const char *who, struct ipc_msg *m, const char *const *ok)
{
	struct ipc_rd		rd;
	struct audit_rec	rec;
	int			i;

	ipc_rd_init(&rd, m);
	if (audit_rec_get(&rd, &rec) == 0)
		for (i = 0; ok[i] != NULL; i++)
			if (strcmp(rec.event, ok[i]) == 0) {
				audit_add(&rec);
				return 0;
			}
	log_warnx("%s sent a malformed or foreign audit record; dropping "
	    "its channel", who);
	return -1;
}

/*
 * FRAME_CANCEL on an idle stream: the worker's authd went away after it
 * asked authd to pass a request on, which has not come.  It never will
 * once everything that authd sent has been read: its channel here ended,
 * or a later authd's came (the master sends them in order).  Until then
 * the question waits.
 */
static int
authd_done(uint32_t gen)
{
	return px.authd_gen > gen || (px.authd_gen == gen && px.authd == NULL);
}

static void
pstream_noreq(struct pstream *ps)
{
	struct frame_hdr	fh = { FRAME_NOREQ, 0 };

	ps->cancel = 0;
	bufferevent_write(ps->bev, &fh, sizeof(fh));
}

/* authd's channel ended or was replaced: answer the questions it settles. */
static void
authd_changed(void)
{
	struct pstream	*ps, *next;
	int		 i;

	for (i = 0; i < PSTREAM_BUCKETS; i++)
		for (ps = pstreams[i]; ps != NULL; ps = next) {
			next = ps->hnext;
			if (ps->cancel && ps->cur == NULL &&
			    authd_done(ps->cancel_gen))
				pstream_noreq(ps);
		}
}

/*
 * IPC_A_REQ: a request authd approved and passes on for a worker; served
 * on that worker's stream as if the worker had sent it with its END.
 */
static int
proxy_forwarded(struct ipc_msg *m)
{
	struct ipc_rd	 rd;
	struct ipc_wr	 wr;
	struct approval	 ap;
	struct pstream	*ps;
	const uint8_t	*rest;
	size_t		 restlen;
	uint64_t	 sid;
	uint32_t	 slot, rflags;
	int		 rc;

	ipc_rd_init(&rd, m);
	slot = ipc_rd_u32(&rd);
	sid = ipc_rd_u64(&rd);
	rflags = ipc_rd_u32(&rd);
	approval_get(&rd, &ap);
	rest = ipc_rd_rest(&rd, &restlen);
	if (rest == NULL || ipc_rd_end(&rd) == -1) {
		log_warnx("malformed request from authd; dropping its channel");
		return -1;
	}
	if ((ps = pstream_find(slot, sid)) == NULL) {
		/* The client left and its worker closed the stream. */
		log_debug("worker %u: no stream for a request from authd", slot);
		return 0;
	}
	if (ps->cur != NULL || ps->closing) {
		log_warnx("worker %u: a request from authd for a busy stream; "
		    "dropped", slot);
		return 0;
	}
	ps->cancel = 0;
	ps->fwd_id = m->hdr.id;
	/* The REQ payload as the worker would have sent it. */
	ipc_wr_init(&wr);
	ipc_wr_u32(&wr, rflags);
	approval_put(&wr, &ap);
	ipc_wr_bytes(&wr, rest, restlen);
	rc = preq_new(ps, wr.buf, wr.len, 1);
	OPENSSL_cleanse(wr.buf, wr.len);
	ipc_wr_free(&wr);
	if (rc == -1)
		pstream_free(ps);
	return 0;
}

static void
proxy_authd_msg(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	static const char *const ok[] = { "auth_failure", "rate_limited",
	    "enrollment", NULL };
	int	rc;

	if (m->hdr.type == IPC_A_REQ)
		rc = proxy_forwarded(m);
	else
		rc = audit_from("authd", m, ok);
	if (rc == -1) {
		px.authd = NULL;
		ipc_chan_free(ch);
		authd_changed();
	}
}

static void
proxy_authd_closed(struct ipc_chan *ch, void *arg)
{
	if (px.authd == ch)
		px.authd = NULL;
	ipc_chan_free(ch);
	authd_changed();
}

static void
proxy_answer_stream(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	static const char *const ok[] = { "api_request", NULL };
	struct pstream	*ps;

	if (m->hdr.type == IPC_W_AUDIT) {
		if (audit_from("a worker", m, ok) == -1) {
			uint32_t slot = ipc_peer(ch);
			if (slot < PROXY_MAX_WORKERS && px.workers[slot] == ch)
				px.workers[slot] = NULL;
			ipc_chan_free(ch);
		}
		return;
	}

	ps = xcalloc(1, sizeof(*ps));
	ps->slot = ipc_peer(ch);
	{
		struct ipc_rd	rd;
		struct pstream	**b;

		ipc_rd_init(&rd, m);
		ps->sid = ipc_rd_u64(&rd);
		(void)ipc_rd_end(&rd);	/* the size was checked */
		b = pstream_bucket(ps->slot, ps->sid);
		ps->hnext = *b;
		*b = ps;
	}
	pw_set_nonblock(m->fd);
	ps->bev = bufferevent_socket_new(px.base, m->fd, BEV_OPT_CLOSE_ON_FREE);
	if (ps->bev == NULL)
		fatalx("bufferevent_socket_new");
	bufferevent_setcb(ps->bev, stream_readcb, stream_writecb,
	    stream_eventcb, ps);
	bufferevent_setwatermark(ps->bev, EV_READ, 0, PROXY_HIGH_WATER);
	pw_bev_tune(ps->bev);
	bufferevent_setwatermark(ps->bev, EV_WRITE, PROXY_HIGH_WATER / 2, 0);
	pw_bev_fastwrite(ps->bev);
	bufferevent_enable(ps->bev, EV_READ);
}

/* A Docker connection is ready: send the head and start relaying. */
static void
preq_start(struct preq *r, struct upstream *u)
{
	r->up = u;
	r->state = PR_EXCHANGE;
	bufferevent_setcb(u->bev, up_readcb, up_writecb, up_eventcb, r);
	bufferevent_enable(u->bev, EV_READ);	/* writes: pw_bev_fastwrite */
	evbuffer_add_buffer(bufferevent_get_output(u->bev), r->head);
	if (r->spool_fd != -1) {
		/* The verified body, straight from the memfd (sendfile). */
		if (r->spool_len > 0)
			evbuffer_add_file(bufferevent_get_output(u->bev),
			    r->spool_fd, 0, (ev_off_t)r->spool_len);
		else
			close(r->spool_fd);
		r->spool_fd = -1;
	}
	http_scan_init(&r->scan);
	bufferevent_enable(r->ps->bev, EV_READ);
	stream_readcb(r->ps->bev, r->ps);
}

/* upstream_get's answer: a Docker connection, or why there is none. */
static void
preq_connected(void *arg, struct upstream *u, int err)
{
	struct preq	*r = arg;
	char		 msg[300];

	r->wait = NULL;
	r->state = PR_EXCHANGE;
	if (u == NULL) {
		snprintf(msg, sizeof(msg), "Cannot connect to the Docker daemon "
		    "at %s: %s", px.cfg.val[CK__DOCKER], strerror(err));
		log_warnx("%s", msg);
		bufferevent_enable(r->ps->bev, EV_READ);
		ST_ADD(pw_stats->proxy.decision[STD_UPSTREAM_ERROR], 1);
		preq_error(r, 502, msg);
		return;
	}
	preq_start(r, u);
}

/* ---- worker -> Docker ---- */

/*
 * The request's input as frames.  A PXF_RAWBODY body that does not go
 * straight to Docker (held for a signature or policyd, or dropped after
 * an early answer) is framed here, into r->rin, for the readers of
 * frames; once framing began, what follows the raw bytes goes there too,
 * in order.  Only the readers count body_left.
 */
static struct evbuffer *
preq_input(struct preq *r, struct evbuffer *in)
{
	struct frame_hdr	fh;
	size_t			k;

	if (!r->raw || (r->rin == NULL && r->raw_left == 0))
		return in;
	if (r->rin == NULL)
		r->rin = evbuffer_new();
	while (r->raw_left > 0 && (k = evbuffer_get_length(in)) > 0) {
		if (k > r->raw_left)
			k = (size_t)r->raw_left;
		if (k > FRAME_MAX_DATA)
			k = FRAME_MAX_DATA;
		fh.type = FRAME_DATA;
		fh.len = (uint32_t)k;
		evbuffer_add(r->rin, &fh, sizeof(fh));
		evbuffer_remove_buffer(in, r->rin, k);
		r->raw_left -= k;
	}
	if (r->raw_left == 0)
		evbuffer_add_buffer(r->rin, in);
	return r->rin;
}

/* The splicer stops; what it took from the stream is counted as sent. */
static void
preq_splice_stop(struct preq *r)
{
	uint64_t	taken;

	if (r->sp == NULL)
		return;
	taken = splicer_taken(r->sp);
	r->raw_left -= taken;
	r->body_left -= taken;
	splicer_free(r->sp);
	r->sp = NULL;
}

static void
preq_spliced(struct splicer *sp, enum splice_end how, int err, void *arg)
{
	struct preq	*r = arg;
	struct pstream	*ps = r->ps;
	uint64_t	 n = splicer_taken(sp);

	preq_splice_stop(r);
	switch (how) {
	case SPLICE_DONE:
		log_debug("worker %u: %s %s: %llu body bytes spliced to Docker",
		    ps->slot, r->method, r->path, (unsigned long long)n);
		pw_bev_resume(ps->bev);		/* END follows */
		break;
	case SPLICE_EOF:
	case SPLICE_RDERR:
		/* The worker (or its client) went away mid-body. */
		log_debug("worker %u: stream ended during a body (%s)",
		    ps->slot, how == SPLICE_EOF ? "EOF" : strerror(err));
		pstream_free(ps);
		break;
	case SPLICE_WRERR:
		errno = err;
		up_eventcb(r->up->bev, BEV_EVENT_WRITING | BEV_EVENT_ERROR, r);
		break;
	}
}

/*
 * A PXF_RAWBODY body on its way to Docker: bytes already read go as they
 * are; then, with nothing queued for Docker and enough left to be worth a
 * pipe, the stream stops reading ahead and the rest moves from the
 * stream to Docker's socket by splice.  Either way Docker gets exactly
 * the declared length, counted here, and END must follow on the stream.
 */
static void
raw_relay(struct preq *r, struct evbuffer *in)
{
	struct evbuffer	*out = bufferevent_get_output(r->up->bev);
	size_t		 n;

	if (r->sp != NULL)
		return;
	n = pw_evbuffer_take(in, out, r->raw_left);
	r->raw_left -= n;
	r->body_left -= n;
	if (r->raw_left == 0)
		return;
	if (r->raw_left < PROXY_SPLICE_MIN) {
		if (evbuffer_get_length(out) >= PROXY_HIGH_WATER)
			bufferevent_disable(r->ps->bev, EV_READ);
		return;			/* up_writecb resumes */
	}
	bufferevent_disable(r->ps->bev, EV_READ);
	if (evbuffer_get_length(out) > 0)
		return;			/* up_writecb comes back */
	r->sp = splicer_new(px.base, bufferevent_getfd(r->ps->bev),
	    bufferevent_getfd(r->up->bev), r->raw_left, preq_spliced, r);
	if (r->sp == NULL) {
		/* No pipe: the rest is framed and copied as usual. */
		log_warn("no pipe to splice a request body; copying it");
		r->rin = evbuffer_new();
		pw_bev_resume(r->ps->bev);
	}
}

/* Is a raw body waiting for Docker's queue to empty before it splices? */
static int
raw_splice_next(struct preq *r)
{
	return r->raw && r->rin == NULL && r->sp == NULL && r->up != NULL &&
	    r->state == PR_EXCHANGE && r->raw_left >= PROXY_SPLICE_MIN;
}

/* Request body frames from the worker to Docker, until END. */
static void
relay_request_body(struct preq *r, struct evbuffer *in)
{
	struct evbuffer		*out = bufferevent_get_output(r->up->bev);
	struct frame_hdr	 fh;
	const char		*why;

	while (!r->req_done) {
		if (evbuffer_get_length(out) >= PROXY_HIGH_WATER) {
			bufferevent_disable(r->ps->bev, EV_READ);
			return;		/* up_writecb resumes */
		}
		if (evbuffer_get_length(in) < sizeof(fh))
			return;
		evbuffer_copyout(in, &fh, sizeof(fh));
		/* Judged on the header: no byte of a misfit goes to Docker. */
		if ((why = frame_misfit(r, &fh)) != NULL) {
			body_violation(r, why);
			return;
		}
		if (evbuffer_get_length(in) < sizeof(fh) + fh.len)
			return;
		evbuffer_drain(in, sizeof(fh));
		if (r->body_mode == REQ_BODY_LENGTH)
			r->body_left -= fh.len;
		if (fh.type == FRAME_END) {
			if (r->body_mode == REQ_BODY_CHUNKED)
				evbuffer_add(out, "0\r\n\r\n", 5);
			r->req_done = 1;
			return;
		}
		if (r->body_mode == REQ_BODY_CHUNKED)
			evbuffer_add_printf(out, "%x\r\n", fh.len);
		evbuffer_remove_buffer(in, out, fh.len);
		if (r->body_mode == REQ_BODY_CHUNKED)
			evbuffer_add(out, "\r\n", 2);
	}
}

/* PR_FLUSH: read and drop the rest of the request body, up to END. */
static int
drain_request_body(struct preq *r, struct evbuffer *in)
{
	struct frame_hdr	fh;
	const char		*why;

	while (!r->req_done && evbuffer_get_length(in) >= sizeof(fh)) {
		evbuffer_copyout(in, &fh, sizeof(fh));
		if ((why = frame_misfit(r, &fh)) != NULL) {
			body_refused(r, why);
			return -1;
		}
		if (fh.type == FRAME_END) {
			evbuffer_drain(in, sizeof(fh));
			r->req_done = 1;
			break;
		}
		if (evbuffer_get_length(in) < sizeof(fh) + fh.len)
			break;
		evbuffer_drain(in, sizeof(fh) + fh.len);
		if (r->body_mode == REQ_BODY_LENGTH)
			r->body_left -= fh.len;
	}
	return 0;
}

static void
stream_readcb(struct bufferevent *bev, void *arg)
{
	struct pstream		*ps = arg;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct evbuffer		*src;
	struct frame_hdr	 fh;
	struct preq		*r;
	uint8_t			*p;
	int			 rc;

	(void)pw_bev_fill(bev, PROXY_HIGH_WATER);
	for (;;) {
		if ((r = ps->cur) == NULL) {
			if (ps->closing) {
				evbuffer_drain(in, evbuffer_get_length(in));
				return;
			}
			if (evbuffer_get_length(in) < sizeof(fh))
				return;
			evbuffer_copyout(in, &fh, sizeof(fh));
			if (fh.type == FRAME_CANCEL && fh.len == 8) {
				uint32_t q[2];	/* authd generation, request */

				if (evbuffer_get_length(in) < sizeof(fh) + 8)
					return;
				evbuffer_drain(in, sizeof(fh));
				evbuffer_remove(in, q, sizeof(q));
				/* Served already: its answer was the reply. */
				if (q[1] == ps->fwd_id)
					continue;
				ps->cancel = 1;
				ps->cancel_gen = q[0];
				if (authd_done(q[0]))
					pstream_noreq(ps);
				continue;
			}
			if (fh.type != FRAME_REQ || fh.len > IPC_MAX_HEAD) {
				log_warnx("worker %u: expected a request frame",
				    ps->slot);
				pstream_free(ps);
				return;
			}
			if (evbuffer_get_length(in) < sizeof(fh) + fh.len)
				return;
			/* Take the head out first: preq_new may read on. */
			evbuffer_drain(in, sizeof(fh));
			p = xmalloc(fh.len ? fh.len : 1);
			evbuffer_remove(in, p, fh.len);
			rc = preq_new(ps, p, fh.len, 0);
			free(p);
			if (rc == -1) {
				pstream_free(ps);
				return;
			}
			continue;
		}
		if (r->fwd && evbuffer_get_length(in) >= sizeof(fh)) {
			evbuffer_copyout(in, &fh, sizeof(fh));
			if (fh.type == FRAME_CANCEL && fh.len == 8) {
				/* The request came: its answer is the reply. */
				if (evbuffer_get_length(in) < sizeof(fh) + 8)
					return;
				evbuffer_drain(in, sizeof(fh) + 8);
				continue;
			}
		}
		switch (r->state) {
		case PR_WAIT_CONN:
		case PR_INSPECT:
			return;
		case PR_LOCAL:
			/* Nothing to relay: read the worker's END and wait. */
			src = preq_input(r, in);
			if (drain_request_body(r, src) == -1) {
				pstream_free(ps);
				return;
			}
			if (r->req_done)
				evbuffer_drain(src, evbuffer_get_length(src));
			return;
		case PR_SPOOL:
			if (spool_body(r, preq_input(r, in)) == -1) {
				log_warnx("worker %u: bad signed body stream",
				    ps->slot);
				pstream_free(ps);
				return;
			}
			if (ps->cur == r && r->state == PR_SPOOL)
				return;
			continue;
		case PR_UPGRADED:
			if (r->up == NULL)
				return;
			if (!r->req_done) {
				/* 101 came early: the body is still framed. */
				relay_request_body(r, in);
				if (ps->cur != r || !r->req_done)
					return;
			}
			evbuffer_add_buffer(bufferevent_get_output(r->up->bev),
			    in);
			if (evbuffer_get_length(bufferevent_get_output(
			    r->up->bev)) >= PROXY_HIGH_WATER)
				bufferevent_disable(bev, EV_READ);
			return;
		case PR_EXCHANGE:
			if (r->raw && r->rin == NULL && r->raw_left > 0) {
				/* Unframed body bytes, straight on. */
				if (r->up != NULL)
					raw_relay(r, in);
				if (ps->cur != r || r->raw_left > 0)
					return;
			}
			src = preq_input(r, in);
			if (r->up != NULL)
				relay_request_body(r, src);
			/*
			 * After its END the worker is silent until the answer
			 * has ended (or a 101 makes the stream raw): bytes
			 * sent ahead are never passed on to Docker.
			 */
			if (ps->cur == r && r->state == PR_EXCHANGE &&
			    r->req_done && evbuffer_get_length(src) > 0)
				body_violation(r, "bytes after the end of the "
				    "request");
			return;
		case PR_FLUSH:
			if (drain_request_body(r, preq_input(r, in)) == -1) {
				pstream_free(ps);
				return;
			}
			if (!r->req_done)
				return;
			preq_done(r);
			if (ps->closing)
				return;
			break;		/* the next REQ may follow */
		}
	}
}

static void
stream_writecb(struct bufferevent *bev, void *arg)
{
	struct pstream	*ps = arg;
	struct preq	*r = ps->cur;
	size_t		 left = evbuffer_get_length(bufferevent_get_output(bev));

	if (r == NULL) {
		if (ps->closing && left == 0)
			pstream_free(ps);
		return;
	}
	if (r->up != NULL && left < PROXY_HIGH_WATER)
		pw_bev_resume(r->up->bev);
	if (r->state == PR_UPGRADED && r->up_eof && left == 0) {
		shutdown(bufferevent_getfd(bev), SHUT_WR);
		if (r->wr_eof)
			pstream_free(ps);
	}
}

static void
stream_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct pstream	*ps = arg;
	struct preq	*r = ps->cur;

	if (r != NULL && r->state == PR_UPGRADED && (what & BEV_EVENT_EOF) &&
	    !(what & BEV_EVENT_ERROR) && !r->up_eof) {
		/* Client half-closed: pass it on once Docker has our bytes. */
		r->wr_eof = 1;
		bufferevent_disable(bev, EV_READ);
		if (r->up != NULL && evbuffer_get_length(
		    bufferevent_get_output(r->up->bev)) == 0)
			shutdown(bufferevent_getfd(r->up->bev), SHUT_WR);
		return;
	}
	/* The worker or its client went away: drop the Docker side now. */
	pstream_free(ps);
}

/* ---- Docker -> worker ---- */

/*
 * Response filtering (proxy/presp.c): the held answer is refused with
 * sockguard's 502, nothing of it having reached the worker.
 */
static void
held_refuse(struct preq *r, const char *why)
{
	log_warnx("policy: %s %s: answer rejected: %s", r->method, r->path,
	    why);
	presp_free(r->held);
	r->held = NULL;
	preq_splice_stop(r);
	if (r->up != NULL) {
		upstream_free(r->up);
		r->up = NULL;
	}
	preq_error(r, 502, "upstream Docker response rejected by sockguard "
	    "policy");
}

/* policyd's word on a held answer: forward it, or answer 404/502/503. */
static void
held_done(void *arg, int status, struct evbuffer *lines, const char *body,
    size_t len, const char *why)
{
	struct preq	*r = arg;
	size_t		 off, k;
	static const char hidden[] = "{\"message\":\"resource not found\"}\n";

	if (status == 404) {
		log_info("policy: %s %s for %s: %s", r->method, r->path,
		    r->principal, why);
		presp_free(r->held);
		r->held = NULL;
		respond_local(r, 404, PGATE_CTYPE, hidden, sizeof(hidden) - 1);
		return;
	}
	if (status == 503) {
		presp_free(r->held);
		r->held = NULL;
		preq_error(r, 503, "the policy process is unavailable; try "
		    "again");
		return;
	}
	if (status == 502) {
		held_refuse(r, why != NULL ? why : "rejected");
		return;
	}
	send_head(r, status, FH_LENGTH, len, lines);
	for (off = 0; off < len; off += k) {
		k = len - off > FRAME_MAX_DATA ? FRAME_MAX_DATA : len - off;
		send_frame(r, FRAME_DATA, body + off, k);
	}
	send_frame(r, FRAME_END, NULL, 0);
	preq_finish(r);
}

static void
held_ask(struct preq *r)
{
	int	rc = presp_ask(r->held, &r->g, r->method, held_done, r);

	if (rc == -2) {
		held_refuse(r, "the answer is larger than 8 MiB");
		return;
	}
	if (rc == -1) {
		presp_free(r->held);
		r->held = NULL;
		preq_error(r, 503, "the policy process is unavailable; try "
		    "again");
	}
}

static void
response_head(struct preq *r, struct http_head *h)
{
	struct evbuffer	*lines = evbuffer_new();
	uint32_t	 flags = 0;
	uint64_t	 len = 0;
	int		 i;

	r->up_close = !h->keepalive;
	if (r->mode != MODE_RELAY) {
		evbuffer_free(lines);
		dd_response_head(r, h);
		return;
	}
	if (h->status == 101) {
		if (!r->hijack) {
			evbuffer_free(lines);
			preq_abort(r);
			return;
		}
		flags |= FH_UPGRADE;
	} else if (r->is_head || h->status == 204 || h->status == 304) {
		flags |= FH_NOBODY;
		if (r->is_head && h->has_cl) {
			flags |= FH_LENGTH;
			len = h->content_length;
		}
		r->resp_mode = 0;
	} else if (h->chunked) {
		r->resp_mode = 2;
		http_chunked_init(&r->chunk);
	} else if (h->has_cl) {
		r->resp_mode = 1;
		r->resp_left = h->content_length;
		flags |= FH_LENGTH;
		len = h->content_length;
	} else {
		r->resp_mode = 3;
		r->up_close = 1;
	}
	for (i = 0; i < h->nhdrs; i++) {
		const char *n = h->hdrs[i].name;
		if (strcasecmp(n, "Content-Length") == 0 ||
		    strcasecmp(n, "Transfer-Encoding") == 0 ||
		    strcasecmp(n, "Keep-Alive") == 0 ||
		    strcasecmp(n, "Trailer") == 0 || strcasecmp(n, "TE") == 0 ||
		    strncasecmp(n, "Proxy-", 6) == 0)
			continue;
		if (!(flags & FH_UPGRADE) && (strcasecmp(n, "Connection") == 0 ||
		    strcasecmp(n, "Upgrade") == 0))
			continue;
		evbuffer_add_printf(lines, "%s: %s\r\n", n, h->hdrs[i].value);
	}
	if (!(flags & (FH_UPGRADE | FH_NOBODY)) && presp_want(&r->g,
	    h->status, r->is_head, h->has_cl, len)) {
		/* Filtered by policyd before the worker sees any of it. */
		r->resp_headed = 1;
		r->held = presp_new(px.base, h->status, lines);
		if (h->has_cl && h->content_length > POL_RESP_MAX)
			presp_overflow(r->held);	/* read, dropped, 502 */
		return;
	}
	send_head(r, h->status, flags, len, lines);
	evbuffer_free(lines);
	r->resp_headed = 1;
	if (flags & FH_UPGRADE)
		exec_started(r);
	if (flags & FH_UPGRADE) {
		r->state = PR_UPGRADED;
		if (r->timer != NULL)
			evtimer_del(r->timer);
		/*
		 * Raw bytes start after this head reaches the worker (an
		 * earlier one was refused above); a body still being framed
		 * is counted to its END first, in stream_readcb.
		 */
		pw_bev_resume(r->ps->bev);
	}
}

/* The response completed: the Docker connection may be reused. */
static void
response_done(struct preq *r)
{
	struct upstream	*u = r->up;

	if (r->mode != MODE_RELAY)
		dd_response_end(r);
	else if (r->held == NULL)
		send_frame(r, FRAME_END, NULL, 0);
	preq_splice_stop(r);
	r->up = NULL;
	if (!r->up_close && r->req_done && !r->up_eof)
		upstream_release(u);
	else
		upstream_free(u);
	if (r->held != NULL) {
		held_ask(r);
		return;
	}
	preq_finish(r);
}

/* Docker's body to the worker as DATA frames; 1 when the response ended. */
static void
up_body(struct preq *r)
{
	struct evbuffer	*in = bufferevent_get_input(r->up->bev);
	struct evbuffer	*tmp;
	const char	*why;
	size_t		 n;
	int		 rc;

	while (r->up != NULL) {
		if (evbuffer_get_length(ps_out(r)) >= PROXY_HIGH_WATER) {
			bufferevent_disable(r->up->bev, EV_READ);
			return;		/* stream_writecb resumes */
		}
		n = evbuffer_get_length(in);
		switch (r->resp_mode) {
		case 0:
			response_done(r);
			return;
		case 1:
			if (r->resp_left == 0) {
				response_done(r);
				return;
			}
			if (n == 0)
				return;
			if (n > r->resp_left)
				n = (size_t)r->resp_left;
			if (n > FRAME_MAX_DATA)
				n = FRAME_MAX_DATA;
			emit_body(r, in, n);
			r->resp_left -= n;
			break;
		case 2:
			tmp = evbuffer_new();
			rc = http_chunked_step(&r->chunk, in, tmp, FRAME_MAX_DATA,
			    &why);
			n = evbuffer_get_length(tmp);
			if (n > 0)
				emit_body(r, tmp, n);
			evbuffer_free(tmp);
			if (rc < 0) {
				log_warnx("bad chunked body from Docker: %s",
				    why);
				preq_abort(r);
				return;
			}
			if (rc == 1) {
				response_done(r);
				return;
			}
			if (n == 0)
				return;
			break;
		case 3:
			if (n == 0)
				return;
			emit_body(r, in, n > FRAME_MAX_DATA ? FRAME_MAX_DATA : n);
			break;
		}
	}
}

static void
up_readcb(struct bufferevent *bev, void *arg)
{
	struct preq		*r = arg;
	struct pstream		*ps = r->ps;
	struct evbuffer		*in = bufferevent_get_input(bev);
	struct http_limits	 lim;
	struct http_head	 h;
	const char		*why = NULL;
	unsigned char		*p;
	size_t			 n;
	int			 len;

	(void)pw_bev_fill(bev, PROXY_HIGH_WATER);
	if (r->state == PR_UPGRADED) {
		evbuffer_add_buffer(ps_out(r), in);
		if (evbuffer_get_length(ps_out(r)) >= PROXY_HIGH_WATER)
			bufferevent_disable(bev, EV_READ);
		return;
	}
	http_limits_default(&lim);
	while (!r->resp_headed) {
		n = evbuffer_get_length(in);
		if (n == 0)
			return;
		if (n > lim.max_head + 1)
			n = lim.max_head + 1;
		p = evbuffer_pullup(in, (ssize_t)n);
		len = http_scan(&r->scan, &lim, p, n, 0, &why);
		if (len == 0)
			return;
		if (len < 0 || http_parse_response(&h, (const char *)p,
		    (size_t)len) != 0) {
			log_warnx("unparsable response from Docker: %s",
			    len < 0 ? why : h.error);
			if (len >= 0)
				http_head_free(&h);
			preq_error(r, 502, "unparsable response from the "
			    "Docker Engine");
			return;
		}
		evbuffer_drain(in, (size_t)len);
		http_scan_init(&r->scan);
		if (h.status >= 100 && h.status < 200 && h.status != 101) {
			http_head_free(&h);	/* interim response: skip */
			continue;
		}
		response_head(r, &h);
		http_head_free(&h);
		if (ps->cur != r)
			return;		/* aborted (ps lives on to flush it) */
		if (r->state == PR_UPGRADED) {
			stream_readcb(ps->bev, ps);
			if (ps->cur != r)
				return;
			up_readcb(bev, r);
			return;
		}
	}
	up_body(r);
}

static void
up_writecb(struct bufferevent *bev, void *arg)
{
	struct preq	*r = arg;
	size_t		 left = evbuffer_get_length(bufferevent_get_output(bev));

	if (raw_splice_next(r)) {
		/* The stream reads nothing ahead: splice once this is out. */
		if (left == 0)
			raw_relay(r, bufferevent_get_input(r->ps->bev));
		return;
	}
	if (left < PROXY_HIGH_WATER && !r->wr_eof)
		pw_bev_resume(r->ps->bev);
	if (r->state == PR_UPGRADED && r->wr_eof && left == 0)
		shutdown(bufferevent_getfd(bev), SHUT_WR);
}

static void
up_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct preq	*r = arg;
	struct pstream	*ps = r->ps;

	r->up_eof = 1;
	bufferevent_disable(bev, EV_READ);
	if (r->state == PR_UPGRADED) {
		/* Docker is done: the worker gets EOF once it has our bytes. */
		if (evbuffer_get_length(ps_out(r)) == 0) {
			shutdown(bufferevent_getfd(ps->bev), SHUT_WR);
			if (r->wr_eof)
				pstream_free(ps);
		}
		return;
	}
	if (!r->resp_headed) {
		ST_ADD(pw_stats->proxy.decision[STD_UPSTREAM_ERROR], 1);
		preq_error(r, 502, "the Docker Engine closed the connection "
		    "without answering");
		return;
	}
	/* Read what is left, then end the stream. */
	up_body(r);
	if (ps->cur != r || r->up == NULL || r->state != PR_EXCHANGE)
		return;
	if (r->resp_mode == 1 && r->resp_left > 0) {
		preq_abort(r);		/* truncated */
		return;
	}
	/* Close-delimited or an interrupted stream: end it cleanly. */
	response_done(r);
}

/* ---- Drydock routes (reference 7.4, 7.5, 8.2, 8.5) ---- */

#define DD_ERRBODY_MAX	4096
#define TEXT_PLAIN	"Content-Type: text/plain; charset=utf-8\r\n"

/* A whole answer from the proxy itself. */
static void
respond_local(struct preq *r, int status, const char *ctype, const char *body,
    size_t len)
{
	struct evbuffer	*lines = evbuffer_new();
	size_t		 off, k;

	if (ctype != NULL)
		evbuffer_add_printf(lines, "%s", ctype);
	send_head(r, status, FH_LENGTH | (len ? 0 : FH_NOBODY), len, lines);
	evbuffer_free(lines);
	for (off = 0; off < len; off += k) {
		k = len - off > FRAME_MAX_DATA ? FRAME_MAX_DATA : len - off;
		send_frame(r, FRAME_DATA, body + off, k);
	}
	send_frame(r, FRAME_END, NULL, 0);
	r->resp_headed = 1;
	preq_finish(r);
}

static void
dd_text(struct preq *r, int status, const char *text)
{
	char	buf[DD_ERRBODY_MAX + 256];
	int	n = snprintf(buf, sizeof(buf), "%s\n", text);

	respond_local(r, status, TEXT_PLAIN "X-Content-Type-Options: nosniff\r\n",
	    buf, (size_t)n);
}

static void
dd_list_now(void *arg)
{
	struct preq	*r = arg;
	const char	*list;
	size_t		 len;

	r->inv_wait = 0;
	if (r->timer != NULL)
		evtimer_del(r->timer);
	list = r->generic ? inventory_generic_list(&len) : inventory_list(&len);
	respond_local(r, 200, "Content-Type: application/json\r\n", list, len);
}

static void
dd_list_timeout(evutil_socket_t fd, short ev, void *arg)
{
	struct preq	*r = arg;

	inventory_forget_waiter(r);
	r->inv_wait = 0;
	preq_error(r, 503, "container inventory not ready yet (is the Docker "
	    "Engine reachable?)");
}

/* GET /api/containers: from the inventory, never a Docker call. */
static void
dd_list(struct preq *r)
{
	struct timeval	tv = { px.cfg.request_timeout, 0 };

	r->state = PR_LOCAL;
	if (inventory_ready()) {
		dd_list_now(r);
		return;
	}
	r->inv_wait = 1;
	r->timer = evtimer_new(px.base, dd_list_timeout, r);
	evtimer_add(r->timer, &tv);
	inventory_when_ready(dd_list_now, r);
}

/* An SSE frame for this subscriber; -1 when it is over its bound. */
static int
dd_sse_send(void *arg, const char *p, size_t n)
{
	struct preq	*r = arg;
	size_t		 off, k;

	if (evbuffer_get_length(ps_out(r)) > (size_t)px.cfg.sse_queue)
		return -1;
	for (off = 0; off < n; off += k) {
		k = n - off > FRAME_MAX_DATA ? FRAME_MAX_DATA : n - off;
		send_frame(r, FRAME_DATA, p + off, k);
	}
	return 0;
}

static void
dd_sse_drop(void *arg)
{
	struct preq	*r = arg;

	r->sub = NULL;
	log_warnx("dropping an SSE client of worker %u: more than %d bytes "
	    "of events unread", r->ps->slot, px.cfg.sse_queue);
	preq_abort(r);
}

/* Draining: end the event stream cleanly so the controller reconnects. */
static void
dd_sse_end(void *arg)
{
	struct preq	*r = arg;

	r->sub = NULL;
	send_frame(r, FRAME_END, NULL, 0);
	preq_finish(r);
}

/* GET /api/events: the inventory's feed, for as long as the client stays. */
static void
dd_events(struct preq *r)
{
	struct evbuffer	*lines;

	if (px.draining) {
		preq_error(r, 503, "the agent is shutting down");
		return;
	}
	lines = evbuffer_new();
	r->state = PR_LOCAL;
	r->streaming = 1;
	evbuffer_add_printf(lines, "Content-Type: text/event-stream\r\n"
	    "Cache-Control: no-cache\r\n");
	send_head(r, 200, FH_KEEPALIVE, 0, lines);
	evbuffer_free(lines);
	r->resp_headed = 1;
	r->sub = r->generic ? inventory_subscribe_events(r, dd_sse_send,
	    dd_sse_drop, dd_sse_end) : inventory_subscribe(r, dd_sse_send,
	    dd_sse_drop, dd_sse_end);
}

/* The raw value of key in a query string, or NULL. */
static const char *
query_get(const char *q, const char *key, char *out, size_t outsz)
{
	size_t	kl = strlen(key), n;

	while (q != NULL && *q != '\0') {
		n = strcspn(q, "&");
		if (n > kl && strncmp(q, key, kl) == 0 && q[kl] == '=') {
			if (n - kl - 1 >= outsz)
				return NULL;
			memcpy(out, q + kl + 1, n - kl - 1);
			out[n - kl - 1] = '\0';
			return out;
		}
		if (n == kl && strncmp(q, key, kl) == 0) {
			out[0] = '\0';
			return out;
		}
		q += n;
		if (*q == '&')
			q++;
	}
	return NULL;
}

static int
is_true(const char *v)
{
	return v != NULL && (strcmp(v, "1") == 0 || strcmp(v, "true") == 0);
}

static void
dd_docker(struct preq *r, const char *method, const char *target, int mode)
{
	evbuffer_drain(r->head, evbuffer_get_length(r->head));
	evbuffer_add_printf(r->head, "%s %s HTTP/1.1\r\nHost: docker\r\n",
	    method, target);
	r->mode = mode;
	r->body_mode = REQ_BODY_NONE;
	preq_dispatch(r, 0);
}

/*
 * GET /api/containers/{id}/logs (and the generic adapter's
 * /api/v1/containers/{id}/logs, which takes no timestamps): Docker's
 * stream demultiplexed to text.
 */
static void
dd_logs(struct preq *r, const char *id, const char *query)
{
	char		 tail[32], since[128], until[128], f[16], ts[16];
	char		 target[HTTP_MAX_REQLINE + 400];
	long long	 n;
	int		 follow;

	if (query_get(query, "tail", tail, sizeof(tail)) != NULL &&
	    pw_strtonum(tail, 1, LLONG_MAX, &n) == -1) {
		dd_text(r, 400, "invalid tail: must be a positive integer");
		return;
	}
	if (!dd_valid_id(id)) {
		dd_text(r, 500, "getting logs: invalid container id");
		return;
	}
	follow = is_true(query_get(query, "follow", f, sizeof(f)));
	snprintf(target, sizeof(target), "/containers/%s/logs?stdout=1&stderr=1"
	    "%s%s%s%s%s%s%s%s", id,
	    query_get(query, "tail", tail, sizeof(tail)) ? "&tail=" : "",
	    query_get(query, "tail", tail, sizeof(tail)) ? tail : "",
	    query_get(query, "since", since, sizeof(since)) ? "&since=" : "",
	    query_get(query, "since", since, sizeof(since)) ? since : "",
	    query_get(query, "until", until, sizeof(until)) ? "&until=" : "",
	    query_get(query, "until", until, sizeof(until)) ? until : "",
	    follow ? "&follow=1" : "",
	    !r->generic && is_true(query_get(query, "timestamps", ts,
	    sizeof(ts))) ? "&timestamps=1" : "");
	r->streaming = follow;
	dd_docker(r, "GET", target, MODE_LOGS);
}

/* DELETE /api/containers/{id}: force-remove. */
static void
dd_delete(struct preq *r, const char *id)
{
	char	target[HTTP_MAX_REQLINE + 64];

	if (!dd_valid_id(id)) {
		dd_text(r, 500, "removing container: invalid container id");
		return;
	}
	snprintf(target, sizeof(target), "/containers/%s?force=1", id);
	dd_docker(r, "DELETE", target, MODE_DELETE);
}

/*
 * An approved Drydock route.  The approval covered exactly this method
 * and target; the proxy alone turns it into Docker calls.
 */
/* /metrics and /_portwing/info answers, when observe.c has them. */
static void
observe_answer(struct preq *r, struct evbuffer *b, const char *ctype)
{
	r->obs_wait = 0;
	respond_local(r, 200, ctype, (const char *)evbuffer_pullup(b, -1),
	    evbuffer_get_length(b));
	evbuffer_free(b);
}

static void
metrics_done(void *arg, struct evbuffer *b)
{
	observe_answer(arg, b, "Content-Type: text/plain; version=0.0.4; "
	    "charset=utf-8\r\n");
}

static void
info_done(void *arg, struct evbuffer *b)
{
	observe_answer(arg, b, "Content-Type: application/json\r\n");
}

/* GET /_portwing/audit and /_portwing/audit/export (reference 11.3, 11.4). */
static void
audit_request(struct preq *r, int export, const char *query)
{
	struct evbuffer	*hdrs = evbuffer_new(), *body = evbuffer_new();
	int		 status = 200;

	r->state = PR_LOCAL;
	evbuffer_add_printf(hdrs, "Cache-Control: no-store\r\n");
	if (export)
		status = audit_export(query, hdrs, body);
	else {
		evbuffer_add_printf(hdrs, "Content-Type: application/json\r\n");
		audit_list(query, body);
	}
	if (status != 200)
		evbuffer_add_printf(hdrs, TEXT_PLAIN);
	audit_export_outcome(status == 200);
	evbuffer_add(hdrs, "", 1);
	respond_local(r, status, (const char *)evbuffer_pullup(hdrs, -1),
	    (const char *)evbuffer_pullup(body, -1), evbuffer_get_length(body));
	evbuffer_free(hdrs);
	evbuffer_free(body);
}

/*
 * Under a policy, one of portwing's own routes that calls Docker is
 * judged as the Docker call it makes (own_route_equiv): a profile that
 * may not read a container's logs through the Docker API may not read
 * them through /api/containers/ID/logs or MCP either.  Under ownership
 * (the profile sees only its own containers) such a route is refused: it
 * is served from the inventory or rebuilt here, where that filter does
 * not run.  Response redaction does not apply to these answers (DESIGN,
 * "The generic adapter and MCP").  1: answered (denied).
 */
static int
dd_policy(struct preq *r, const struct approval *ap, const char *method,
    const char *target)
{
	struct pgate_req	 g;
	char			 raw[HTTP_MAX_REQLINE], path[HTTP_MAX_REQLINE];
	char			 eq[HTTP_MAX_REQLINE + 64], why[300], *sp;
	char			*fwd = NULL, *body = NULL;
	int			 st = 0, deny;

	pw_strlcpy(raw, target, sizeof(raw));
	raw[strcspn(raw, "?")] = '\0';
	http_percent_decode(raw, strlen(raw), path, sizeof(path));
	http_path_alias(path, sizeof(path));
	if (!own_route_equiv(strcmp(method, "HEAD") == 0 ? "GET" : method,
	    path, r->mcp_tool, r->mcp_id, eq, sizeof(eq)))
		return 0;
	sp = strchr(eq, ' ');
	*sp++ = '\0';
	memset(&g, 0, sizeof(g));
	switch (pgate_judge(&g, eq, sp, ap, NULL, &fwd, &st, &body, why,
	    sizeof(why))) {
	case PG_DENY:
		deny = 1;
		break;
	case PG_INSPECT:
		/*
		 * A body the policy would read (dockeragent's create): this
		 * route builds it here, where policyd does not see it.
		 * (Ownership's list filter comes this way too: below.)
		 */
		deny = 1;
		st = 403;
		free(body);
		body = NULL;
		snprintf(why, sizeof(why), "the policy inspects the body of "
		    "%.100s %.100s, which this route cannot submit to it; use "
		    "Docker's API", eq, sp);
		if (g.okind != 0 || g.ofilter)
			deny = 0;
		break;
	default:
		deny = 0;
		break;
	}
	if (!deny && (g.okind != 0 || g.ofilter)) {
		deny = 1;
		st = 403;
		snprintf(why, sizeof(why), "the profile filters what %.100s %.100s "
		    "shows, which this route cannot apply", eq, sp);
	}
	free(fwd);
	pw_strlcpy(r->g.profile, g.profile, sizeof(r->g.profile));
	r->g.rule = g.rule;
	r->g.gen = g.gen;
	r->judged = 1;
	pgate_free(&g);
	if (!deny) {
		free(body);
		return 0;
	}
	log_info("policy: denied %s %s (as %s %s) for %s%s%s: %s", method,
	    r->path, eq, sp, ap->principal, r->g.profile[0] ? ", profile " : "",
	    r->g.profile, why);
	pw_strlcpy(r->principal, ap->principal, sizeof(r->principal));
	ST_ADD(pw_stats->proxy.decision[STD_DENIED_POLICY], 1);
	proxy_denied(r, ap->actor, target, why);
	if (strcmp(method, "POST") == 0 && r->mcp_tool[0] != '\0') {
		/* MCP: a tool error the assistant can read. */
		char msg[400];
		int n = snprintf(msg, sizeof(msg), "denied by the agent's "
		    "policy: %s", why);
		free(body);
		respond_local(r, 422, "Content-Type: text/plain\r\n", msg,
		    (size_t)n);
		return 1;
	}
	if (px.cfg.dagent && strncmp(path, "/api/v1/", 8) == 0) {
		/* dockeragent's clients read its envelope. */
		size_t	 n;
		char	*t = dagent_envelope_text(st ? st : 403, why, &n);
		free(body);
		respond_local(r, st ? st : 403, "Content-Type: "
		    "application/json\r\n", t, n);
		free(t);
		return 1;
	}
	if (body == NULL)
		body = pgate_deny_body(method, target, why);
	respond_local(r, st ? st : 403, PGATE_CTYPE, body, strlen(body));
	free(body);
	return 1;
}

/*
 * POST /_portwing/mcp: the worker parsed the JSON-RPC message (agent/
 * mcp.c) and sends only the tool call, as three fields of its own making
 * (it forwards no client field on a PXF_DD request).  The proxy checks
 * them again and runs the tool (pmcp.c); the answer is the tool's text,
 * 200 for a result and 422 for a tool error, which the worker wraps.
 */
static void
mcp_field(struct preq *r, const char *name, const char *val, size_t vl)
{
	char	*dst;
	size_t	 sz;

	if (strcasecmp(name, "Pw-Mcp-Tool") == 0) {
		dst = r->mcp_tool;
		sz = sizeof(r->mcp_tool);
	} else if (strcasecmp(name, "Pw-Mcp-Id") == 0) {
		dst = r->mcp_id;
		sz = sizeof(r->mcp_id);
	} else if (strcasecmp(name, "Pw-Mcp-Tail") == 0) {
		dst = r->mcp_tail;
		sz = sizeof(r->mcp_tail);
	} else if (strncasecmp(name, "Pw-Da-", 6) == 0) {
		/* dockeragent's values; one that is not UTF-8 is dropped. */
		json_t *v = json_stringn(val, vl);
		if (r->own == NULL)
			r->own = json_object();
		if (v != NULL && json_object_size(r->own) < 16)
			json_object_set_new(r->own, name, v);
		else
			json_decref(v);
		return;
	} else
		return;
	if (vl >= sz)
		vl = sz - 1;
	memcpy(dst, val, vl);
	dst[vl] = '\0';
}

static void
mcp_done(void *arg, int status, const char *text, size_t len)
{
	struct preq	*r = arg;

	r->mcp = NULL;
	respond_local(r, status, "Content-Type: application/json\r\n", text,
	    len);
}

static void
mcp_request(struct preq *r)
{
	long long	tail = 0;

	if (r->mcp_tail[0] != '\0' &&
	    pw_strtonum(r->mcp_tail, 1, 500, &tail) == -1) {
		preq_error(r, 400, "invalid MCP tail");
		return;
	}
	r->state = PR_LOCAL;
	r->mcp = pmcp_call(r->mcp_tool, r->mcp_id, (int)tail, mcp_done, r);
	if (r->mcp == NULL)
		preq_error(r, 400, "invalid MCP tool call");
}

/* ---- dockeragent's API (ADAPTER=dockeragent, proxy/pdagent.c) ---- */

static void
pda_respond(void *arg, int status, const char *body, size_t len)
{
	struct preq	*r = arg;

	r->pda = NULL;
	respond_local(r, status, "Content-Type: application/json\r\n", body,
	    len);
}

static void
pda_head(void *arg, int status, const char *hdrs)
{
	struct preq	*r = arg;
	struct evbuffer	*lines = evbuffer_new();

	evbuffer_add(lines, hdrs, strlen(hdrs));
	r->streaming = 1;
	send_head(r, status, FH_KEEPALIVE, 0, lines);
	evbuffer_free(lines);
	r->resp_headed = 1;
}

static void
pda_end(void *arg)
{
	struct preq	*r = arg;

	r->pda = NULL;
	send_frame(r, FRAME_END, NULL, 0);
	preq_finish(r);
}

static void
pda_drop(void *arg)
{
	struct preq	*r = arg;

	r->pda = NULL;
	log_warnx("dropping a log follower of worker %u: more than %d bytes "
	    "unread", r->ps->slot, px.cfg.sse_queue);
	preq_abort(r);
}

static const struct pda_ops pda_ops = {
	pda_respond, pda_head, dd_sse_send, pda_end, pda_drop,
};

/*
 * The own routes that come with a body: POST /api/v1/files with
 * HOST_FILES_ROOT (the file's content, of the worker's making) and POST
 * /_portwing/compose with STACKS_DIR (the client's body, for the
 * composer).
 */
static int
files_route(const char *method, const char *target, int body_mode)
{
	char	raw[HTTP_MAX_REQLINE], path[HTTP_MAX_REQLINE];

	if (body_mode != REQ_BODY_LENGTH || strcmp(method, "POST") != 0)
		return 0;
	pw_strlcpy(raw, target, sizeof(raw));
	raw[strcspn(raw, "?")] = '\0';
	http_percent_decode(raw, strlen(raw), path, sizeof(path));
	http_path_alias(path, sizeof(path));
	return (px.cfg.files && strcmp(path, "/api/v1/files") == 0) ||
	    (px.cfg.compose && strcmp(path, "/_portwing/compose") == 0);
}

/* The composer's answer: the compose_op record, then the body. */
static void
compose_done(void *arg, const struct pcr_answer *a)
{
	struct preq		*r = arg;
	struct audit_rec	 rec;

	r->pcr = NULL;
	if (a->status == 200) {	/* a parsed request */
		audit_rec_init(&rec, "compose_op", r->actor, NULL, NULL,
		    a->success ? "allowed" : "error");
		pw_strlcpy(rec.operation, a->operation, sizeof(rec.operation));
		pw_strlcpy(rec.stack, a->stack, sizeof(rec.stack));
		audit_rec_principal(&rec, r->principal);
		audit_add(&rec);
	}
	respond_local(r, a->status, "Content-Type: application/json\r\n",
	    a->body, a->len);
}

/* The body is spooled (END): the composer runs it. */
static void
compose_spooled(struct preq *r)
{
	int	fd = r->spool_fd;

	r->state = PR_LOCAL;
	r->spool_fd = -1;	/* the channel owns it now */
	if ((r->pcr = pcompose_run(fd, r->spool_len, compose_done, r)) ==
	    NULL) {
		static const char b[] = "{\"error\":\"the compose runner is "
		    "unavailable; try again\"}";
		respond_local(r, 503, "Content-Type: application/json\r\n", b,
		    sizeof(b) - 1);
	}
}

static void
files_answer(struct preq *r, int status, const char *msg)
{
	char	*t;
	size_t	 n;

	t = dagent_envelope_text(status, msg, &n);
	respond_local(r, status, "Content-Type: application/json\r\n", t, n);
	free(t);
}

/* filed's answer: the audit record, then dockeragent's body. */
static void
files_written(void *arg, int status, const char *reason, uint64_t size,
    const uint8_t *digest)
{
	struct preq		*r = arg;
	struct audit_rec	 rec;
	json_t			*o, *pv = json_object_get(r->own, "Pw-Da-Path");
	const char		*path = json_string_value(pv);
	char			*s, *t;
	size_t			 n;

	r->pfw = NULL;
	audit_rec_init(&rec, "file_write", r->actor, "POST", NULL,
	    status == 0 ? "allowed" : "error");
	pw_strlcpy(rec.path, path, sizeof(rec.path));
	audit_rec_principal(&rec, r->principal);
	rec.status = status == 0 ? 201 : status;
	if (status == 0) {
		rec.has_size = 1;
		rec.size = size;
		pw_hex_encode(digest, 32, rec.sha256, sizeof(rec.sha256));
	} else
		pw_strlcpy(rec.reason, reason, sizeof(rec.reason));
	audit_add(&rec);
	if (status != 0) {
		files_answer(r, status, reason);
		return;
	}
	o = json_pack("{s:s, s:I, s:s}", "path", path, "size",
	    (json_int_t)size, "message", "file written successfully");
	s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER) :
	    NULL;
	json_decref(o);
	if (s == NULL) {
		files_answer(r, 500, "internal error building the answer");
		return;
	}
	n = (size_t)xasprintf(&t, "%s\n", s);
	free(s);
	respond_local(r, 201, "Content-Type: application/json\r\n", t, n);
	free(t);
}

/* The content is spooled (END): filed writes it. */
static void
files_spooled(struct preq *r, const uint8_t got[32])
{
	json_t		*pv = json_object_get(r->own, "Pw-Da-Path");
	json_t		*mv = json_object_get(r->own, "Pw-Da-Mode");
	const char	*mode = json_string_value(mv);
	char		*end;
	unsigned long	 bits;
	int		 fd = r->spool_fd;

	r->state = PR_LOCAL;
	bits = mode != NULL ? strtoul(mode, &end, 8) : 0;
	if (!json_is_string(pv) || mode == NULL || *end != '\0' ||
	    bits > 0777) {
		files_answer(r, 400, "malformed file write request");
		return;
	}
	r->spool_fd = -1;	/* the channel owns it now */
	if ((r->pfw = pfiles_write(json_string_value(pv), (unsigned)bits, fd,
	    r->spool_len, got, files_written, r)) == NULL)
		files_answer(r, 503, "the host file writer is unavailable; "
		    "try again");
}

static void
da_request(struct preq *r, const char *method, const char *path)
{
	json_t	*f = r->own;

	if (strcmp(method, "POST") == 0 && strcmp(path, "/api/v1/files") == 0) {
		if (!px.cfg.files) {
			files_answer(r, 403, "host file writes are disabled: "
			    "the agent's HOST_FILES_ROOT is not set");
			return;
		}
		r->files = 1;
		(void)preq_spool_start(r);
		return;
	}

	r->own = NULL;
	r->state = PR_LOCAL;
	if (pda_start(method, path, f, px.cfg.docker_api, &pda_ops, r,
	    &r->pda) == -1) {
		char	*t;
		size_t	 n;
		t = dagent_envelope_text(404, "no such dockeragent route", &n);
		respond_local(r, 404, "Content-Type: application/json\r\n", t,
		    n);
		free(t);
	}
}

static void
dd_request(struct preq *r, const char *method, const char *target)
{
	char		 path[HTTP_MAX_REQLINE], raw[HTTP_MAX_REQLINE], *slash;
	const char	*query = strchr(target, '?');

	/* HEAD is GET without the body; the worker drops the data. */
	if (strcmp(method, "HEAD") == 0) {
		method = "GET";
		r->is_head = 1;
	}
	pw_strlcpy(raw, target, sizeof(raw));
	raw[strcspn(raw, "?")] = '\0';
	http_percent_decode(raw, strlen(raw), path, sizeof(path));
	http_path_alias(path, sizeof(path));	/* /_lookout/ (v0.2) */
	query = query ? query + 1 : "";
	if (strcmp(method, "GET") == 0 && (strcmp(path, "/metrics") == 0 ||
	    strcmp(path, "/_portwing/metrics") == 0)) {
		r->state = PR_LOCAL;
		r->obs_wait = 1;
		observe_metrics(metrics_done, r);
	} else if (strcmp(method, "GET") == 0 &&
	    strcmp(path, "/_portwing/info") == 0) {
		r->state = PR_LOCAL;
		r->obs_wait = 1;
		observe_info(info_done, r);
	} else if (strcmp(method, "GET") == 0 &&
	    strcmp(path, "/_portwing/audit") == 0)
		audit_request(r, 0, query);
	else if (strcmp(method, "GET") == 0 &&
	    strcmp(path, "/_portwing/audit/export") == 0)
		audit_request(r, 1, query);
	else if (strcmp(method, "POST") == 0 && strcmp(path, "/_portwing/mcp") == 0)
		mcp_request(r);
	else if (strcmp(method, "POST") == 0 &&
	    strcmp(path, "/_portwing/compose") == 0 && px.cfg.compose) {
		/* An empty body (no END data): spooled all the same. */
		r->compose = 1;
		(void)preq_spool_start(r);
	}
	else if (px.cfg.dagent)
		da_request(r, method, path);
	else if (px.cfg.generic) {
		/* The generic adapter (reference 7.8): /api/v1 only. */
		r->generic = 1;
		slash = strncmp(path, "/api/v1/containers/", 19) == 0 ?
		    strchr(path + 19, '/') : NULL;
		if (strcmp(method, "GET") != 0)
			preq_error(r, 404, "no such generic adapter route");
		else if (strcmp(path, "/api/v1/containers") == 0)
			dd_list(r);
		else if (strcmp(path, "/api/v1/events") == 0 && r->is_head)
			respond_local(r, 200, "Content-Type: text/event-stream\r\n"
			    "Cache-Control: no-cache\r\n", "", 0);
		else if (strcmp(path, "/api/v1/events") == 0)
			dd_events(r);
		else if (slash != NULL && strcmp(slash, "/logs") == 0) {
			*slash = '\0';
			dd_logs(r, path + 19, query);
		} else
			preq_error(r, 404, "no such generic adapter route");
	} else if (strcmp(method, "GET") == 0 && strcmp(path, "/api/containers") == 0)
		dd_list(r);
	else if (strcmp(method, "GET") == 0 && strcmp(path, "/api/events") == 0) {
		if (r->is_head)
			respond_local(r, 200, "Content-Type: text/event-stream\r\n"
			    "Cache-Control: no-cache\r\n", "", 0);
		else
			dd_events(r);
	}
	else if (strncmp(path, "/api/containers/", 16) == 0) {
		slash = strchr(path + 16, '/');
		if (slash != NULL && strcmp(slash, "/logs") == 0 &&
		    strcmp(method, "GET") == 0) {
			*slash = '\0';
			dd_logs(r, path + 16, query);
		} else if (slash == NULL && strcmp(method, "DELETE") == 0)
			dd_delete(r, path + 16);
		else
			preq_error(r, 404, "no such Drydock route");
	} else
		preq_error(r, 404, "no such Drydock route");
}

static void
dd_response_head(struct preq *r, struct http_head *h)
{
	struct evbuffer	*lines;

	if (h->chunked) {
		r->resp_mode = 2;
		http_chunked_init(&r->chunk);
	} else if (h->has_cl) {
		r->resp_mode = 1;
		r->resp_left = h->content_length;
	} else if (h->status == 204 || h->status == 304) {
		r->resp_mode = 0;
	} else {
		r->resp_mode = 3;
		r->up_close = 1;
	}
	r->resp_headed = 1;
	if ((r->mode == MODE_LOGS && h->status != 200) ||
	    (r->mode == MODE_DELETE && h->status != 204 && h->status != 200)) {
		/* An error: keep Docker's text for our own answer. */
		r->errbody = evbuffer_new();
		r->resp_status = h->status;
		return;
	}
	if (r->mode == MODE_DELETE) {
		r->resp_status = 204;
		return;
	}
	lines = evbuffer_new();
	evbuffer_add_printf(lines, TEXT_PLAIN);
	send_head(r, 200, 0, 0, lines);
	evbuffer_free(lines);
	r->dm = evbuffer_new();
}

/* Docker's multiplexed frames -> payloads; a TTY stream passes as is. */
static void
demux(struct preq *r, int final)
{
	uint8_t		hdr[8];
	size_t		n, k;

	for (;;) {
		n = evbuffer_get_length(r->dm);
		if (n == 0)
			return;
		if (r->dm_kind == 0) {
			if (n < 8 && !final)
				return;
			evbuffer_copyout(r->dm, hdr, n < 8 ? n : 8);
			r->dm_kind = (n >= 8 && hdr[0] <= 2 && hdr[1] == 0 &&
			    hdr[2] == 0 && hdr[3] == 0) ? 1 : 2;
		}
		if (r->dm_kind == 2 || (final && r->dm_left == 0 && n < 8)) {
			k = n > FRAME_MAX_DATA ? FRAME_MAX_DATA : n;
			if (r->dm_kind == 1)
				evbuffer_drain(r->dm, n);	/* torn header */
			else
				send_data(r, r->dm, k);
			continue;
		}
		if (r->dm_left == 0) {
			if (n < 8)
				return;
			evbuffer_remove(r->dm, hdr, 8);
			r->dm_left = (uint32_t)hdr[4] << 24 |
			    (uint32_t)hdr[5] << 16 | (uint32_t)hdr[6] << 8 | hdr[7];
			continue;
		}
		k = n < r->dm_left ? n : r->dm_left;
		if (k > FRAME_MAX_DATA)
			k = FRAME_MAX_DATA;
		send_data(r, r->dm, k);
		r->dm_left -= (uint32_t)k;
	}
}

/* Body bytes of Docker's answer, as the request's mode wants them. */
static void
emit_body(struct preq *r, struct evbuffer *src, size_t n)
{
	if (r->mode == MODE_RELAY && r->held != NULL) {
		(void)presp_add(r->held, src, n);	/* over 8 MiB: 502 */
		return;
	}
	if (r->mode == MODE_RELAY) {
		send_data(r, src, n);
		return;
	}
	if (r->errbody != NULL) {
		size_t room = DD_ERRBODY_MAX - evbuffer_get_length(r->errbody);
		evbuffer_remove_buffer(src, r->errbody, n < room ? n : room);
		if (n > room)
			evbuffer_drain(src, n - room);
		return;
	}
	if (r->mode == MODE_LOGS) {
		evbuffer_remove_buffer(src, r->dm, n);
		demux(r, 0);
		return;
	}
	evbuffer_drain(src, n);
}

static void
dd_response_end(struct preq *r)
{
	char	msg[DD_ERRBODY_MAX + 1], text[DD_ERRBODY_MAX + 200];
	int	status;

	if (r->errbody != NULL) {
		dclient_message(r->errbody, msg, sizeof(msg));
		if (r->mode == MODE_LOGS) {
			snprintf(text, sizeof(text), "getting logs: docker error "
			    "(status %d): %s", r->resp_status, msg);
			status = 500;
		} else {
			snprintf(text, sizeof(text), "removing container: remove "
			    "container: docker error (status %d): %s",
			    r->resp_status, msg);
			status = r->resp_status == 404 ? 404 :
			    r->resp_status == 409 ? 409 : 500;
		}
		/* Built as a whole answer; the head was not sent yet. */
		{
			struct evbuffer *lines = evbuffer_new();
			size_t n = strlen(text);
			text[n++] = '\n';
			evbuffer_add_printf(lines, TEXT_PLAIN
			    "X-Content-Type-Options: nosniff\r\n");
			send_head(r, status, FH_LENGTH, n, lines);
			evbuffer_free(lines);
			send_frame(r, FRAME_DATA, text, n);
		}
	} else if (r->mode == MODE_DELETE) {
		send_head(r, 204, FH_NOBODY, 0, NULL);
	} else
		demux(r, 1);
	send_frame(r, FRAME_END, NULL, 0);
}

/* ---- channels ---- */

/*
 * Docker's state as the proxy's own calls find it, for the master's
 * readiness notice and its status line (agent/sdnotify.c): the first
 * answer or failure after start, then each change.
 */
void
proxy_docker_seen(int up)
{
	static int	state = -1;
	uint32_t	v = up ? 1 : 0;

	if (state == (int)v || px.master == NULL)
		return;
	state = (int)v;
	ipc_send(px.master, IPC_P_DOCKER_STATE, 0, 0, &v, sizeof(v), -1);
}

static void
proxy_worker_closed(struct ipc_chan *ch, void *arg)
{
	uint32_t	slot = ipc_peer(ch);

	if (slot < PROXY_MAX_WORKERS && px.workers[slot] == ch)
		px.workers[slot] = NULL;
	ipc_chan_free(ch);
}

static void
proxy_master_msg(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	uint32_t	slot = m->hdr.peer;

	switch (m->hdr.type) {
	case IPC_M_WORKER_CHAN:
		if (slot >= PROXY_MAX_WORKERS)
			fatalx("worker slot %u out of range", slot);
		if (px.workers[slot] != NULL)
			ipc_chan_free(px.workers[slot]);
		px.workers[slot] = ipc_chan_new(px.base, m->fd, "worker",
		    perms_worker, nitems(perms_worker), proxy_answer_stream,
		    proxy_worker_closed, NULL);
		ipc_set_peer(px.workers[slot], slot);
		break;
	case IPC_M_DOCKER_ANS:
		pool_docker_answer(m);
		break;
	case IPC_M_FILE: {
		struct ipc_rd	rd;
		uint32_t	kind;
		char		name[256];

		ipc_rd_init(&rd, m);
		kind = ipc_rd_u32(&rd);
		ipc_rd_str(&rd, name, sizeof(name));
		if (ipc_rd_end(&rd) == -1)
			fatalx("malformed IPC_M_FILE from master");
		if (kind == OBS_AUDIT_FILE || kind == OBS_AUDIT_STREAM)
			audit_set_sink(m->fd, kind == OBS_AUDIT_FILE, name);
		else
			observe_file((int)kind, m->fd);
		m->fd = -1;
		break;
	}
	case IPC_M_POLICY:
		pgate_policy_msg(m);
		m->fd = -1;
		break;
	case IPC_M_POLICY_CHAN:
		pgate_chan(m->fd);
		m->fd = -1;
		break;
	case IPC_M_EDGE_CHAN:
		pedge_chan(px.base, &px.cfg, m->fd);
		m->fd = -1;
		break;
	case IPC_M_FILED_CHAN:
		pfiles_chan(px.base, m->fd);
		m->fd = -1;
		break;
	case IPC_M_COMPOSE_CHAN:
		pcompose_chan(px.base, m->fd);
		m->fd = -1;
		break;
	case IPC_M_AUDIT_CHAN:
		if (px.authd != NULL)
			ipc_chan_free(px.authd);
		px.authd = ipc_chan_new(px.base, m->fd, "authd", perms_authd,
		    nitems(perms_authd), proxy_authd_msg, proxy_authd_closed,
		    NULL);
		px.authd_gen = m->hdr.id;
		m->fd = -1;
		authd_changed();
		break;
	case IPC_M_RELOAD:
		break;
	case IPC_M_APPROVAL_KEY:
		approval_key_answer(m, px.cfg.approval_key);
		log_info("new approval key (authd restarted): approvals minted "
		    "before are refused");
		break;
	case IPC_M_SHUTDOWN:
		/*
		 * The agent has begun to drain: end the event streams now,
		 * which would otherwise hold it until the drain timeout; the
		 * master's SIGTERM ends the proxy once the workers are gone.
		 */
		px.draining = 1;
		inventory_end_subscribers();
		break;
	case IPC_M_PING:
		ipc_send(px.master, IPC_C_PONG, 0, m->hdr.id, NULL, 0, -1);
		break;
	default:
		fatalx("unexpected message 0x%04x from master", m->hdr.type);
	}
}

static void
proxy_master_closed(struct ipc_chan *ch, void *arg)
{
	log_warnx("master went away; exiting");
	exit(0);
}

static void
proxy_signal(evutil_socket_t sig, short ev, void *arg)
{
	event_base_loopexit(px.base, NULL);
}

int
proxy_run(struct child_boot *b)
{
	struct event	*ev_term;
	uint32_t	 v = IPC_PROTOCOL_VERSION;

	px.cfg = b->cfg;
	if (!px.cfg.have_approval_key)
		fatalx("no approval key from master");
	approval_replay_init(&px.replay);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	px.base = pw_event_base();
	TAILQ_INIT(&ping.waiting);
	ping.wake = evtimer_new(px.base, ping_wake_cb, NULL);
	ev_term = evsignal_new(px.base, SIGTERM, proxy_signal, NULL);
	evsignal_add(ev_term, NULL);
	pool_init(px.base, px.cfg.upstream_idle);
	dclient_init(px.base);
	pmcp_init(px.base);
	pda_init(px.base);
	inventory_preinit();
	observe_preinit();
	audit_init(px.base, &px.cfg);
	observe_init(px.base, &px.cfg);
	pgate_init(px.base, px.cfg.val[CK_POLICY] != NULL ||
	    px.cfg.val[CK_POLICY_FILE] != NULL);

	child_sandbox(PROC_PROXY, b);

	px.master = ipc_chan_new(px.base, PROC_IPC_FD, "master", perms_master,
	    nitems(perms_master), proxy_master_msg, proxy_master_closed, NULL);
	pool_set_master(px.master);
	/* READY first: the master serves Docker connections only after it. */
	ipc_send(px.master, IPC_C_READY, 0, 0, &v, sizeof(v), -1);
	inventory_init(px.base, &px.cfg);
	log_debug("ready");
	event_base_dispatch(px.base);
	audit_anchor();
	return 0;
}
