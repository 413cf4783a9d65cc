/*
 * edge.c: the edge process ("portwingd: edge").
 *
 * In edge mode (DRYDOCK_URL) the agent dials the controller and keeps one
 * WebSocket to it, speaking portwing/1.0 (edge-protocol.md): a signed
 * hello, the controller's welcome, then frames both ways.  This process
 * holds the WebSocket and nothing else: no key (the master signs each
 * hello, building the signed bytes itself), no Docker connection, no
 * client socket.  Its sandbox lets it create and connect TCP sockets, and
 * make socketpairs for the streams that carry the controller's Docker
 * calls to the proxy (etunnel.c); nothing else new.  It runs
 * libwebsockets' own event loop (Debian's libwebsockets has no libevent
 * integration); its channels to the master, authd and the proxy are
 * adopted into that loop as raw descriptors.
 *
 * A session: ask the master for a dial (address and signed hello fields),
 * connect (TCP, TLS, upgrade: EDGE_HANDSHAKE_S), send the hello, wait
 * WELCOME_TIMEOUT for the welcome, then serve until either side closes.
 * Every end is followed by a jittered backoff (RECONNECT_DELAY doubling up
 * to MAX_RECONNECT_DELAY, reset after a session of EDGE_STABLE_MS); a
 * rejection the controller would repeat (a terminal code) is logged once
 * and retried only at the longest delay.
 */
#include "pwbuild.h"

#include <sys/queue.h>

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <libwebsockets.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "child.h"
#include "edge.h"
#include "edge_int.h"
#include "ipc.h"
#include "log.h"
#include "sandbox.h"
#include "stats.h"
#include "util.h"

enum estate {
	ES_WAIT,		/* backing off */
	ES_DIAL,		/* asked the master for a dial */
	ES_CONNECT,		/* TCP, TLS, upgrade */
	ES_HELLO,		/* hello sent, waiting for the welcome */
	ES_UP,			/* welcomed */
	ES_CLOSING,		/* our close frame is on its way */
};

/* A channel to a sibling, adopted into libwebsockets' loop. */
struct echan {
	const char		*name;
	struct ipc_chan		*ch;		/* NULL while the peer is away */
	struct lws		*wsi;		/* watches a duplicate of its fd */
	void			(*lost)(void);	/* called when the peer goes */
	lws_sorted_usec_list_t	 sul_w;		/* asks for writability */
};

struct eframe {
	TAILQ_ENTRY(eframe)	 entry;
	size_t			 len;
	unsigned char		*buf;		/* LWS_PRE + len */
};

static struct {
	struct pw_config	*cfg;
	struct lws_context	*ctx;
	struct lws_vhost	*vh;
	struct lws		*wsi;		/* to the controller */
	struct echan		 mch;		/* the master's channel */
	struct ipc_chan		*master;
	struct echan		 inv;		/* proxy: inventory, metrics */
	struct echan		 authd;		/* approvals for the tunnel */
	struct echan		 wpx;		/* proxy: the tunnel's streams */
	int			 synced;	/* container_sync sent this session */
	int			 ping_after;	/* a heartbeat's metrics asked */
	char			 docker_version[64];
	enum estate		 state;
	uint32_t		 attempt;
	int			 delay;		/* next backoff, seconds */
	int			 terminal;	/* the last end was terminal */
	char			 last_terminal[64];	/* logged already */
	char			 why[256];	/* how the session ended */
	uint64_t		 up_ms;		/* welcome received */
	int			 stopping;
	struct edge_dial	 dial;
	char			 hostname[256];
	unsigned		 poll_interval;
	/* inbound message being assembled */
	unsigned char		*rx;
	size_t			 rxlen, rxcap;
	/* outbound */
	TAILQ_HEAD(, eframe)	 outq;
	size_t			 nout;
	uint64_t		 head_ms;	/* the head frame queued or
						   became the head */
	lws_sorted_usec_list_t	 sul_dial, sul_deadline, sul_heartbeat,
				 sul_tick;
} e;

static const struct ipc_perm perms_master[] = {
	{ IPC_M_SHUTDOWN, 0, 0, 0 },
	{ IPC_M_PING, 0, 0, 0 },
	{ IPC_M_DIAL, 8, 4096, 0 },
	{ IPC_M_EDGE_CHAN, 0, 0, 1 },
	{ IPC_M_AUTHD_CHAN, 0, 0, 1 },
	{ IPC_M_PROXY_CHAN, 0, 0, 1 },
};

static const struct ipc_perm perms_inv[] = {
	{ IPC_P_EDGE_FRAME, 8, 8 + 64 * 1024, IPC_FD_OPTIONAL },
	{ IPC_P_EDGE_INFO, 4, 4 + 64, 0 },
};

static const struct ipc_perm perms_authd[] = {
	{ IPC_A_AUTH_ANS, 8, 4096, 0 },
};

/* The proxy answers on the streams, never on this channel. */
static const struct ipc_perm perms_wpx[] = {
	{ 0, 0, 0, 0 },
};

static void	edge_dial_cb(lws_sorted_usec_list_t *);
static void	session_end(const char *, enum edge_class, enum st_edge_end);

/* ---- timers ---- */

static void
sul_in(lws_sorted_usec_list_t *sul, sul_cb_t cb, uint64_t ms)
{
	lws_sul_schedule(e.ctx, 0, sul, cb, (lws_usec_t)ms * LWS_US_PER_MS);
}

/* ---- the outbound queue: one writer, bounded ---- */

static void
outq_clear(void)
{
	struct eframe	*f;

	while ((f = TAILQ_FIRST(&e.outq)) != NULL) {
		TAILQ_REMOVE(&e.outq, f, entry);
		free(f->buf);
		free(f);
	}
	e.nout = 0;
}

/*
 * Queue one message (text frame).  A full queue or an oversized message
 * ends the session: a controller too slow to read is disconnected, never
 * buffered without bound, and no frame is dropped silently.
 */
int
edge_send_text(const char *s, size_t n)
{
	struct eframe	*f;

	if (e.wsi == NULL || (e.state != ES_UP && e.state != ES_HELLO))
		return -1;
	if (n > EDGE_MAX_FRAME) {
		log_warnx("edge: a %zu-byte message exceeds the 16 MiB limit; "
		    "not sent", n);
		return -1;
	}
	if (e.nout >= EDGE_QUEUE_MAX) {
		ST_ADD(pw_stats->edge.backpressure, 1);
		session_end("send queue full (the controller reads too "
		    "slowly)", EDGE_RETRY, STE_BACKPRESSURE);
		return -1;
	}
	f = xcalloc(1, sizeof(*f));
	f->buf = xmalloc(LWS_PRE + n);
	memcpy(f->buf + LWS_PRE, s, n);
	f->len = n;
	if (TAILQ_EMPTY(&e.outq))
		e.head_ms = pw_now_ms();
	TAILQ_INSERT_TAIL(&e.outq, f, entry);
	e.nout++;
	lws_callback_on_writable(e.wsi);
	return 0;
}

int
edge_send(json_t *msg)
{
	char	*s;
	int	 rc;

	s = json_dumps(msg, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(msg);
	if (s == NULL)
		return -1;
	rc = edge_send_text(s, strlen(s));
	free(s);
	return rc;
}

json_t *
edge_envelope(const char *type, json_t *data)
{
	return json_pack("{s:s, s:o}", "type", type, "data", data);
}

size_t
edge_queued(void)
{
	return e.nout;
}

struct lws_vhost *
edge_vhost(void)
{
	return e.vh;
}

struct ipc_chan *
edge_authd(void)
{
	return e.authd.ch;
}

struct ipc_chan *
edge_wproxy(void)
{
	return e.wpx.ch;
}

/* Who the audit trail names for the controller's requests. */
const char *
edge_peer(void)
{
	return e.dial.addr[0] ? e.dial.addr : "controller";
}

/* ---- the session ---- */

static void
schedule_dial(void)
{
	int		d = e.terminal ? e.cfg->max_reconnect_delay : e.delay;
	uint32_t	r;
	uint64_t	ms;

	/* d * U, U uniform in [0.750, 1.250] in steps of 0.001 */
	pw_random_bytes(&r, sizeof(r));
	ms = (uint64_t)d * (750 + r % 501);
	if (!e.terminal) {
		e.delay *= 2;
		if (e.delay > e.cfg->max_reconnect_delay)
			e.delay = e.cfg->max_reconnect_delay;
	}
	e.state = ES_WAIT;
	log_debug("edge: next dial in %llu ms", (unsigned long long)ms);
	sul_in(&e.sul_dial, edge_dial_cb, ms);
}

/*
 * The session is over (or never started): say why, once for a terminal
 * reason, and back off.  Safe from any callback; the connection itself
 * is closed by returning -1 from its next callback (or at once when it
 * is already gone).
 */
static void
session_end(const char *why, enum edge_class cls, enum st_edge_end end)
{
	uint64_t	lived;

	if (e.state == ES_WAIT || e.state == ES_DIAL)
		return;
	ST_ADD(pw_stats->edge.ends[end], 1);
	ST_SET(pw_stats->edge.connected, 0);
	lived = e.up_ms ? pw_now_ms() - e.up_ms : 0;
	if (cls == EDGE_TERMINAL) {
		if (strcmp(e.last_terminal, why) != 0)
			log_error("edge: the controller refused this agent: %s; "
			    "retrying every %d s (MAX_RECONNECT_DELAY) until "
			    "that is fixed", why, e.cfg->max_reconnect_delay);
		pw_strlcpy(e.last_terminal, why, sizeof(e.last_terminal));
		e.terminal = 1;
	} else {
		if (e.up_ms)
			log_warnx("edge: session ended after %llu s: %s",
			    (unsigned long long)(lived / 1000), why);
		else
			log_warnx("edge: cannot connect to the controller: %s",
			    why);
		e.terminal = 0;
		e.last_terminal[0] = '\0';
	}
	if (e.up_ms && lived >= EDGE_STABLE_MS)
		e.delay = e.cfg->reconnect_delay;
	if (e.state == ES_UP && e.inv.ch != NULL)
		ipc_send(e.inv.ch, IPC_E_UNSUB, 0, 0, NULL, 0, -1);
	/* From here nothing can be sent, and this cannot be entered again. */
	e.state = ES_WAIT;
	if (e.wsi != NULL) {
		/* Closed when its next callback returns -1. */
		lws_set_timeout(e.wsi, PENDING_TIMEOUT_USER_OK,
		    LWS_TO_KILL_ASYNC);
		lws_set_opaque_user_data(e.wsi, NULL);
		e.wsi = NULL;
	}
	e.synced = e.ping_after = 0;
	e.up_ms = 0;
	tunnel_reset(why);
	edge_exec_reset();
	outq_clear();
	e.rxlen = 0;
	lws_sul_cancel(&e.sul_deadline);
	lws_sul_cancel(&e.sul_heartbeat);
	if (e.stopping)
		return;
	schedule_dial();
}

static void
deadline_cb(lws_sorted_usec_list_t *sul)
{
	if (e.state == ES_HELLO)
		session_end("no welcome within WELCOME_TIMEOUT", EDGE_RETRY,
		    STE_WELCOME_TIMEOUT);
	else if (e.state == ES_UP)
		session_end("nothing from the controller within the read "
		    "deadline", EDGE_RETRY, STE_READ_TIMEOUT);
}

/* After the welcome: silence for max(2 x HEARTBEAT_INTERVAL, 60 s). */
static void
arm_read_deadline(void)
{
	int		s = 2 * e.cfg->heartbeat;
	uint64_t	ms = (uint64_t)(s < 60 ? 60 : s) * 1000;

#ifdef PW_TEST_HOOKS
	/* Test build: a shorter floor, to see the deadline work. */
	if (e.cfg->val[CK__TEST_EDGE_DEADLINE] != NULL)
		ms = strtoull(e.cfg->val[CK__TEST_EDGE_DEADLINE], NULL, 10);
#endif
	sul_in(&e.sul_deadline, deadline_cb, ms);
}

static void
send_ping(void)
{
	(void)edge_send(edge_envelope("ping", json_pack("{s:I}", "timestamp",
	    (json_int_t)(pw_wall_time() * 1000))));
}

/* Every HEARTBEAT_INTERVAL: metrics (from the proxy), then a ping. */
static void
heartbeat_cb(lws_sorted_usec_list_t *sul)
{
	if (e.state != ES_UP)
		return;
	if (e.inv.ch != NULL && e.synced) {
		e.ping_after = 1;
		ipc_send(e.inv.ch, IPC_E_METRICS, 0, 0, NULL, 0, -1);
	} else
		send_ping();
	sul_in(&e.sul_heartbeat, heartbeat_cb, (uint64_t)e.cfg->heartbeat *
	    1000);
}

/* Every second: the head frame must leave within EDGE_WRITE_WAIT_MS. */
static void
tick_cb(lws_sorted_usec_list_t *sul)
{
	if (e.nout > 0 && pw_now_ms() - e.head_ms > EDGE_WRITE_WAIT_MS) {
		ST_ADD(pw_stats->edge.backpressure, 1);
		session_end("a frame waited more than 10 s to be written",
		    EDGE_RETRY, STE_BACKPRESSURE);
	}
	sul_in(&e.sul_tick, tick_cb, 1000);
}

static json_t *
hello(void)
{
	const char	*name = e.cfg->agent_name;

	return edge_envelope("hello", json_pack("{s:s, s:s, s:s, s:s, s:s, s:s,"
	    " s:[s,s,s,s,s], s:s, s:[s], s:s, s:I, s:s, s:s}",
	    "version", PACKAGE_VERSION,
	    "protocol", EDGE_PROTOCOL,
	    "agentId", e.cfg->agent_id,
	    "agentName", name,
	    "dockerVersion", e.docker_version[0] ? e.docker_version :
	    "unknown",
	    "hostname", e.hostname,
	    /* What is served: Portwing's list without compose. */
	    "capabilities", "exec", "metrics", "events", "dd:container-sync",
	    "dd:logs",
	    "drydockCompat", EDGE_DRYDOCK_COMPAT,
	    "watcherTypes", "docker",
	    "pubKeyId", e.dial.keyid,
	    "timestamp", (json_int_t)e.dial.ts,
	    "nonce", e.dial.nonce,
	    "signature", e.dial.sig));
}

/* The welcome: the poll interval, and the controller's compatibility. */
static void
welcome(json_t *data)
{
	json_t		*pi = json_object_get(data, "pollInterval");
	const char	*lvl;
	long long	 v;

	if (json_is_integer(pi) && json_integer_value(pi) > 0)
		e.poll_interval = (unsigned)json_integer_value(pi);
	else if (json_is_string(pi) && pw_strtonum(json_string_value(pi), 1,
	    86400 * 7, &v) == 0)
		e.poll_interval = (unsigned)v;
	lvl = json_string_value(json_object_get(json_object_get(data,
	    "config"), "serverCompatLevel"));
	if (lvl != NULL && strtol(lvl, NULL, 10) != 1)
		log_warnx("edge: the controller's compatibility level %s is "
		    "not 1.x; continuing", lvl);
	e.state = ES_UP;
	e.up_ms = pw_now_ms();
	ST_SET(pw_stats->edge.connected, 1);
	e.terminal = 0;
	e.last_terminal[0] = '\0';
	log_info("edge: connected to the controller (%s:%d), key %s",
	    e.cfg->edge_host, e.cfg->edge_port, e.dial.keyid);
	/*
	 * The watcher first, with the markers that make the controller run
	 * its own Docker watcher through this agent (5.6); the inventory
	 * follows from the proxy, then the first metrics.
	 */
	(void)edge_send(edge_envelope("dd:component_sync", json_pack(
	    "{s:[{s:s, s:s, s:{s:s, s:[s,s], s:s, s:s, s:s}}], s:[]}",
	    "watchers", "type", "docker", "name", "docker", "configuration",
	    "description", "Watches Docker containers for updates via "
	    "Docker Engine API", "capabilities", "container-sync", "labels",
	    "transport", "docker-api", "execution", "controller", "events",
	    "portwing", "triggers")));
	if (e.inv.ch != NULL)
		ipc_send(e.inv.ch, IPC_E_SUB, 0, 0, NULL, 0, -1);
	arm_read_deadline();
	sul_in(&e.sul_heartbeat, heartbeat_cb, (uint64_t)e.cfg->heartbeat *
	    1000);
}

/*
 * The reserved requests (5.12), answered without doing anything, as
 * Portwing does: Drydock sends none of them.  1 when type was one.
 */
static int
reserved(const char *type, json_t *d)
{
	json_t	*wt = json_object_get(d, "watcherType");
	json_t	*wn = json_object_get(d, "watcherName");

	if (strcmp(type, "dd:watch_request") == 0)
		(void)edge_send(edge_envelope("dd:watch_response", json_pack(
		    "{s:O?, s:O?, s:[]}", "watcherType", wt, "watcherName", wn,
		    "results")));
	else if (strcmp(type, "dd:watch_container_request") == 0)
		(void)edge_send(edge_envelope("dd:watch_container_response",
		    json_pack("{s:O?, s:O?, s:O?}", "watcherType", wt,
		    "watcherName", wn, "containerId", json_object_get(d,
		    "containerId"))));
	else if (strcmp(type, "dd:trigger_request") == 0)
		(void)edge_send(edge_envelope("dd:trigger_response", json_pack(
		    "{s:O?, s:O?, s:b, s:s}", "triggerType", json_object_get(d,
		    "triggerType"), "triggerName", json_object_get(d,
		    "triggerName"), "success", 0, "message",
		    "triggers not implemented in v1.0")));
	else
		return 0;
	return 1;
}

/* One whole message from the controller. */
static void
edge_message(const unsigned char *p, size_t n)
{
	json_error_t	 jerr;
	json_t		*msg, *data;
	const char	*type, *code, *text;
	char		 why[256];

	msg = json_loadb((const char *)p, n, 0, &jerr);
	type = json_string_value(json_object_get(msg, "type"));
	data = json_object_get(msg, "data");
	if (e.state == ES_HELLO) {
		if (type != NULL && strcmp(type, "welcome") == 0) {
			welcome(json_is_object(data) ? data : NULL);
		} else if (type != NULL && strcmp(type, "error") == 0 &&
		    json_is_object(data)) {
			code = json_string_value(json_object_get(data, "code"));
			text = json_string_value(json_object_get(data,
			    "message"));
			snprintf(why, sizeof(why), "%s (%s)", code ? code :
			    "no code", text ? text : "no message");
			if (edge_reject_class(code) == EDGE_TERMINAL)
				session_end(why, EDGE_TERMINAL, STE_REFUSED);
			else
				session_end(why, EDGE_RETRY, STE_REJECTED);
		} else
			session_end("the controller answered the hello with "
			    "neither welcome nor error", EDGE_RETRY,
			    STE_PROTOCOL);
		json_decref(msg);
		return;
	}
	arm_read_deadline();
	if (type == NULL || !json_is_object(data)) {
		log_debug("edge: a malformed frame from the controller");
	} else if (strcmp(type, "ping") == 0) {
		(void)edge_send(edge_envelope("pong", json_pack("{s:O?}",
		    "timestamp", json_object_get(data, "timestamp"))));
	} else if (strcmp(type, "error") == 0) {
		code = json_string_value(json_object_get(data, "code"));
		text = json_string_value(json_object_get(data, "message"));
		log_warnx("edge: the controller says: %s%s%s",
		    text ? text : "(no message)", code ? " " : "",
		    code ? code : "");
	} else if (strcmp(type, "request") == 0) {
		tunnel_request(data);
	} else if (strcmp(type, "dd:container_log_request") == 0) {
		edge_log_request(data);
	} else if (strcmp(type, "dd:container_log_cancel") == 0) {
		edge_log_cancel(data);
	} else if (strcmp(type, "dd:container_delete_request") == 0) {
		edge_delete_request(data);
	} else if (strcmp(type, "exec_start") == 0) {
		edge_exec_start(data);
	} else if (strcmp(type, "exec_input") == 0) {
		edge_exec_input(data);
	} else if (strcmp(type, "exec_resize") == 0) {
		edge_exec_resize(data);
	} else if (strcmp(type, "exec_end") == 0) {
		edge_exec_end(data);
	} else if (strncmp(type, "dd:", 3) == 0 && reserved(type, data)) {
		;
	} else if (strcmp(type, "pong") != 0)
		log_debug("edge: frame type \"%s\" not handled", type);
	json_decref(msg);
}

/* ---- libwebsockets callbacks ---- */

static int
edge_ws_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct eframe	*f;
	/* Ours: the session's connection, not one already disowned. */
	int		 mine = lws_get_opaque_user_data(wsi) == (void *)&e;
	char		 why[256];

	switch (reason) {
	case LWS_CALLBACK_OPENSSL_LOAD_EXTRA_CLIENT_VERIFY_CERTS:
		/* user is the client SSL_CTX: TLS 1.2 at least. */
		SSL_CTX_set_min_proto_version((SSL_CTX *)user, TLS1_2_VERSION);
		return 0;
	case LWS_CALLBACK_CLIENT_APPEND_HANDSHAKE_HEADER: {
		unsigned char	**p = in, *end = *p + len;
		static const char ua[] = "portwing/" PACKAGE_VERSION;

		if (lws_add_http_header_by_name(wsi,
		    (const unsigned char *)"user-agent:",
		    (const unsigned char *)ua, (int)strlen(ua), p, end))
			return -1;
		return 0;
	}
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		if (!mine)
			return 0;
		{
			int st = lws_http_client_http_response(wsi);

			e.wsi = NULL;
			if (st == 404) {
				session_end("the controller's URL answered 404 "
				    "(is DRYDOCK_URL right?)", EDGE_TERMINAL,
				    STE_REFUSED);
				return 0;
			}
			if (st > 0)
				snprintf(why, sizeof(why), "the upgrade was "
				    "answered %d", st);
			else
				snprintf(why, sizeof(why), "%s", in ?
				    (const char *)in : "connection failed");
			e.state = ES_CONNECT;
			session_end(why, EDGE_RETRY, STE_CONNECT);
		}
		return 0;
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		if (!mine)
			return -1;
		/* The hello goes first and alone (5.1). */
		e.wsi = wsi;
		e.state = ES_HELLO;
		(void)edge_send(hello());
		lws_sul_cancel(&e.sul_deadline);
		sul_in(&e.sul_deadline, deadline_cb,
		    (uint64_t)e.cfg->welcome_timeout * 1000);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		if (!mine)
			return -1;
		if (e.rxlen + len > EDGE_MAX_FRAME) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_MESSAGE_TOO_LARGE,
			    (unsigned char *)"message too big", 15);
			session_end("the controller sent a message over 16 MiB",
			    EDGE_RETRY, STE_PROTOCOL);
			return -1;
		}
		if (e.rxlen + len > e.rxcap) {
			e.rxcap = e.rxlen + len < 65536 ? 65536 :
			    (e.rxlen + len) * 2;
			if (e.rxcap > EDGE_MAX_FRAME)
				e.rxcap = EDGE_MAX_FRAME;
			e.rx = xreallocarray(e.rx, e.rxcap, 1);
		}
		memcpy(e.rx + e.rxlen, in, len);
		e.rxlen += len;
		if (lws_is_final_fragment(wsi) &&
		    lws_remaining_packet_payload(wsi) == 0) {
			size_t n = e.rxlen;

			ST_ADD(pw_stats->edge.frames_in, 1);
			e.rxlen = 0;
			edge_message(e.rx, n);
			if (e.rxcap > 1024 * 1024) {
				free(e.rx);
				e.rx = NULL;
				e.rxcap = 0;
			}
		}
		return lws_get_opaque_user_data(wsi) == (void *)&e ? 0 : -1;
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		if (!mine)
			return -1;
		if (e.state == ES_CLOSING) {
			lws_close_reason(wsi, LWS_CLOSE_STATUS_NORMAL,
			    (unsigned char *)"shutdown", 8);
			return -1;
		}
		if ((f = TAILQ_FIRST(&e.outq)) == NULL)
			return 0;
		if (lws_write(wsi, f->buf + LWS_PRE, f->len, LWS_WRITE_TEXT) <
		    (int)f->len) {
			session_end("writing to the controller failed",
			    EDGE_RETRY, STE_CLOSED);
			return -1;
		}
		TAILQ_REMOVE(&e.outq, f, entry);
		e.nout--;
		free(f->buf);
		free(f);
		e.head_ms = pw_now_ms();
		ST_ADD(pw_stats->edge.frames_out, 1);
		if (e.nout <= EDGE_QUEUE_LOW)
			tunnel_resume();
		if (!TAILQ_EMPTY(&e.outq))
			lws_callback_on_writable(wsi);
		return 0;
	case LWS_CALLBACK_WS_PEER_INITIATED_CLOSE:
		if (mine && len >= 2) {
			const unsigned char *c = in;
			snprintf(e.why, sizeof(e.why), "closed by the controller "
			    "(%u%s%.*s)", (c[0] << 8) | c[1], len > 2 ? " " : "",
			    (int)(len > 2 ? len - 2 : 0), (const char *)in + 2);
		}
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		if (mine) {
			e.wsi = NULL;
			if (e.stopping) {
				e.state = ES_WAIT;
				return 0;
			}
			session_end(e.why[0] ? e.why : "the connection closed",
			    EDGE_RETRY, STE_CLOSED);
		}
		return 0;
	default:
		return 0;
	}
}

/* ---- channels, adopted into libwebsockets' loop ---- */

/*
 * A channel wants to write.  libwebsockets clears a raw descriptor's
 * POLLOUT after its writeable callback has run, so a request made from
 * inside that callback would be lost: it is made from a timer instead.
 */
static void
rearm(lws_sorted_usec_list_t *sul)
{
	struct echan	*c = lws_container_of(sul, struct echan, sul_w);

	if (c->wsi != NULL)
		lws_callback_on_writable(c->wsi);
}

static void
want_write(void *arg)
{
	struct echan	*c = arg;

	lws_sul_schedule(e.ctx, 0, &c->sul_w, rearm, 1);
}

/* Watch a duplicate of fd for ch (ch's own descriptor stays ch's). */
static struct lws	*adopt(int, struct ipc_chan *);

static void
chan_unwatch(struct echan *c)
{
	lws_sul_cancel(&c->sul_w);
	if (c->wsi != NULL) {
		lws_set_opaque_user_data(c->wsi, NULL);
		lws_set_timeout(c->wsi, PENDING_TIMEOUT_USER_OK,
		    LWS_TO_KILL_ASYNC);
		c->wsi = NULL;
	}
}

static void
chan_drop(struct echan *c)
{
	chan_unwatch(c);
	if (c->ch != NULL)
		ipc_chan_free(c->ch);
	c->ch = NULL;
}

/* The peer went away; the master sends its successor's channel. */
static void
chan_closed(struct ipc_chan *ch, void *arg)
{
	struct echan	*c = arg;

	if (c->ch == ch) {
		c->ch = NULL;
		chan_unwatch(c);
		if (c->lost != NULL)
			c->lost();
	}
	ipc_chan_free(ch);
}

static void
chan_set(struct echan *c, int fd, const struct ipc_perm *perms, size_t n,
    ipc_handler handler)
{
	chan_drop(c);
	c->ch = ipc_chan_new_polled(fd, c->name, perms, n, handler,
	    chan_closed, c, want_write, c);
	c->wsi = adopt(fd, c->ch);
}

static struct lws *
adopt(int fd, struct ipc_chan *ch)
{
	lws_sock_file_fd_type	 f;
	struct lws		*wsi;

	if ((f.filefd = dup(fd)) == -1)
		fatal("edge: dup");
	if ((wsi = lws_adopt_descriptor_vhost(e.vh, LWS_ADOPT_RAW_FILE_DESC,
	    f, "pw-ipc", NULL)) == NULL)
		fatalx("edge: cannot watch a channel");
	lws_set_opaque_user_data(wsi, ch);
	return wsi;
}

/* The proxy writes "type" first (JSON_PRESERVE_ORDER). */
#define SYNC_PFX	"{\"type\":\"dd:container_sync\""
#define METRICS_PFX	"{\"type\":\"metrics\""

/* A whole message from the proxy: queued as it is. */
static void
proxy_frame(struct ipc_msg *msg)
{
	struct ipc_rd	 rd;
	const uint8_t	*p;
	char		*buf = NULL;
	size_t		 n, got = 0;
	uint64_t	 len;
	ssize_t		 r;
	int		 sync, metrics;

	ipc_rd_init(&rd, msg);
	len = ipc_rd_u64(&rd);
	p = ipc_rd_rest(&rd, &n);
	if (rd.err || len > EDGE_MAX_FRAME || (msg->fd == -1 && n != len) ||
	    (msg->fd != -1 && n != 0)) {
		log_warnx("edge: a malformed message from the proxy");
		return;
	}
	if (msg->fd != -1) {
		buf = xmalloc(len ? len : 1);
		if (lseek(msg->fd, 0, SEEK_SET) == -1)
			got = (size_t)-1;
		while (got < len && (r = read(msg->fd, buf + got,
		    len - got)) > 0)
			got += (size_t)r;
		if (got != len) {
			log_warnx("edge: a message from the proxy was cut short");
			free(buf);
			return;
		}
		p = (const uint8_t *)buf;
	}
	if (e.state == ES_UP) {
		sync = len > sizeof(SYNC_PFX) - 1 &&
		    memcmp(p, SYNC_PFX, sizeof(SYNC_PFX) - 1) == 0;
		metrics = len > sizeof(METRICS_PFX) - 1 &&
		    memcmp(p, METRICS_PFX, sizeof(METRICS_PFX) - 1) == 0;
		(void)edge_send_text((const char *)p, len);
		if (sync && !e.synced && e.state == ES_UP && e.inv.ch != NULL) {
			/* Connected in the controller's eyes: metrics next. */
			e.synced = 1;
			ipc_send(e.inv.ch, IPC_E_METRICS, 0, 0, NULL, 0, -1);
		}
		if (metrics && e.ping_after) {
			e.ping_after = 0;
			send_ping();
		}
	}
	free(buf);
}

static void
authd_msg(struct ipc_chan *ch, struct ipc_msg *msg, void *arg)
{
	tunnel_auth_answer(msg);
}

static void
inv_msg(struct ipc_chan *ch, struct ipc_msg *msg, void *arg)
{
	struct ipc_rd	rd;
	char		v[sizeof(e.docker_version)];

	switch (msg->hdr.type) {
	case IPC_P_EDGE_FRAME:
		proxy_frame(msg);
		if (msg->fd != -1)
			close(msg->fd);
		break;
	case IPC_P_EDGE_INFO:
		ipc_rd_init(&rd, msg);
		ipc_rd_str(&rd, v, sizeof(v));
		if (ipc_rd_end(&rd) == 0)
			pw_strlcpy(e.docker_version, v,
			    sizeof(e.docker_version));
		break;
	}
}


static void
start_connect(void)
{
	struct lws_client_connect_info	ci;
	struct lws			*wsi;
	char				host[300];

	memset(&ci, 0, sizeof(ci));
	ci.context = e.ctx;
	ci.vhost = e.vh;
	ci.address = e.dial.addr;
	ci.port = e.cfg->edge_port;
	ci.path = e.cfg->edge_path;
	/* Host: the name, bracketed when it is an IPv6 address. */
	if (strchr(e.cfg->edge_host, ':') != NULL)
		snprintf(host, sizeof(host), "[%s]", e.cfg->edge_host);
	else
		pw_strlcpy(host, e.cfg->edge_host, sizeof(host));
	if ((e.cfg->edge_tls && e.cfg->edge_port != 443) ||
	    (!e.cfg->edge_tls && e.cfg->edge_port != 80))
		snprintf(host + strlen(host), sizeof(host) - strlen(host),
		    ":%d", e.cfg->edge_port);
	ci.host = host;
	ci.origin = NULL;		/* the controller refuses foreign ones */
	ci.protocol = NULL;		/* no Sec-WebSocket-Protocol (400) */
	ci.local_protocol_name = "portwing-edge";
	if (e.cfg->edge_tls) {
		ci.ssl_connection = LCCSCF_USE_SSL;
		if (e.cfg->tls_skip_verify)
			ci.ssl_connection |= LCCSCF_ALLOW_SELFSIGNED |
			    LCCSCF_SKIP_SERVER_CERT_HOSTNAME_CHECK |
			    LCCSCF_ALLOW_EXPIRED | LCCSCF_ALLOW_INSECURE;
	}
	ci.opaque_user_data = &e;	/* how callbacks know it (mine) */
	e.why[0] = '\0';
	e.state = ES_CONNECT;
	e.wsi = NULL;
	/*
	 * SNI and the certificate's name check use the Host (ci.host).  A
	 * failure may be reported from inside this call, as a connection
	 * error callback, which ends the attempt there.
	 */
	wsi = lws_client_connect_via_info(&ci);
	if (e.state != ES_CONNECT)
		return;
	if (wsi == NULL)
		session_end("the connection could not be started", EDGE_RETRY,
		    STE_CONNECT);
	else
		e.wsi = wsi;
}

/* Stopping: drop any connection (a close frame had its chance). */
static void
stop_cb(lws_sorted_usec_list_t *sul)
{
	if (e.wsi != NULL) {
		lws_set_opaque_user_data(e.wsi, NULL);
		lws_set_timeout(e.wsi, PENDING_TIMEOUT_USER_OK,
		    LWS_TO_KILL_ASYNC);
		e.wsi = NULL;
	}
	lws_cancel_service(e.ctx);
}

static void
master_msg(struct ipc_chan *ch, struct ipc_msg *msg, void *arg)
{
	struct ipc_rd	rd;

	switch (msg->hdr.type) {
	case IPC_M_PING:
		ipc_send(ch, IPC_C_PONG, 0, msg->hdr.id, NULL, 0, -1);
		break;
	case IPC_M_SHUTDOWN:
		e.stopping = 1;
		lws_sul_cancel(&e.sul_dial);
		if (e.wsi != NULL && e.state == ES_UP) {
			/* 1000 "shutdown", then the loop ends. */
			e.state = ES_CLOSING;
			lws_callback_on_writable(e.wsi);
			sul_in(&e.sul_dial, stop_cb, 3000);
		} else
			stop_cb(NULL);
		break;
	case IPC_M_EDGE_CHAN:
		chan_set(&e.inv, msg->fd, perms_inv, nitems(perms_inv),
		    inv_msg);
		msg->fd = -1;
		/* A session without its inventory (the proxy restarted). */
		if (e.state == ES_UP)
			ipc_send(e.inv.ch, IPC_E_SUB, 0, 0, NULL, 0, -1);
		break;
	case IPC_M_AUTHD_CHAN:
		chan_set(&e.authd, msg->fd, perms_authd, nitems(perms_authd),
		    authd_msg);
		msg->fd = -1;
		break;
	case IPC_M_PROXY_CHAN:
		chan_set(&e.wpx, msg->fd, perms_wpx, nitems(perms_wpx), NULL);
		msg->fd = -1;
		break;
	case IPC_M_DIAL:
		if (e.state != ES_DIAL || msg->hdr.id != e.attempt)
			break;
		memset(&e.dial, 0, sizeof(e.dial));
		ipc_rd_init(&rd, msg);
		e.dial.status = ipc_rd_u32(&rd);
		ipc_rd_str(&rd, e.dial.addr, sizeof(e.dial.addr));
		ipc_rd_str(&rd, e.dial.keyid, sizeof(e.dial.keyid));
		e.dial.ts = ipc_rd_u64(&rd);
		ipc_rd_str(&rd, e.dial.nonce, sizeof(e.dial.nonce));
		ipc_rd_str(&rd, e.dial.sig, sizeof(e.dial.sig));
		ipc_rd_str(&rd, e.dial.err, sizeof(e.dial.err));
		if (ipc_rd_end(&rd) == -1)
			fatalx("malformed IPC_M_DIAL from the master");
		e.state = ES_CONNECT;
		if (e.dial.status != 0) {
			if (e.dial.status == EDGE_DIAL_E_KEY)
				session_end(e.dial.err, EDGE_TERMINAL,
				    STE_REFUSED);
			else
				session_end(e.dial.err, EDGE_RETRY,
				    STE_CONNECT);
			break;
		}
		start_connect();
		break;
	}
}

static void
master_closed(struct ipc_chan *ch, void *arg)
{
	/* The master is gone: so are we. */
	_exit(0);
}

static void
edge_dial_cb(lws_sorted_usec_list_t *sul)
{
	if (e.stopping)
		return;
	if (e.attempt++ > 0)
		ST_ADD(pw_stats->edge.reconnects, 1);
	e.state = ES_DIAL;
	ipc_send(e.master, IPC_E_DIAL, 0, e.attempt, NULL, 0, -1);
}

static int
edge_ipc_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	struct ipc_chan	*ch = lws_get_opaque_user_data(wsi);

	switch (reason) {
	case LWS_CALLBACK_RAW_RX_FILE:
		if (ch == NULL)
			return -1;
		ipc_chan_readable(ch);
		return 0;
	case LWS_CALLBACK_RAW_WRITEABLE_FILE:
		if (ch != NULL)
			ipc_chan_writable(ch);
		return 0;
	case LWS_CALLBACK_RAW_CLOSE_FILE:
		if (ch != NULL && ch == e.master)
			_exit(0);
		{
			struct echan *c[] = { &e.inv, &e.authd, &e.wpx };
			size_t i;

			for (i = 0; ch != NULL && i < nitems(c); i++)
				if (c[i]->ch == ch) {
					c[i]->wsi = NULL;
					chan_closed(ch, c[i]);
				}
		}
		return 0;
	default:
		return 0;
	}
}

static int
edge_stream_cb(struct lws *wsi, enum lws_callback_reasons reason, void *user,
    void *in, size_t len)
{
	return tunnel_wsi_cb(wsi, (int)reason, in, len);
}

static const struct lws_protocols protocols[] = {
	{ "portwing-edge", edge_ws_cb, 0, 65536, 0, NULL, 0 },
	{ "pw-ipc", edge_ipc_cb, 0, 0, 0, NULL, 0 },
	{ "pw-stream", edge_stream_cb, 0, 0, 0, NULL, 0 },
	{ NULL, NULL, 0, 0, 0, NULL, 0 }
};

/* libwebsockets' own log lines, through ours. */
static void
lws_log(int level, const char *line)
{
	size_t	n = strlen(line);

	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (level & LLL_ERR)
		log_warnx("libwebsockets: %.*s", (int)n, line);
	else
		log_debug("libwebsockets: %.*s", (int)n, line);
}

int
edge_run(struct child_boot *b)
{
	struct lws_context_creation_info	info;
	uint32_t				v = IPC_PROTOCOL_VERSION;
	const char				*ca;

	memset(&e, 0, sizeof(e));
	TAILQ_INIT(&e.outq);
	e.cfg = &b->cfg;
	e.delay = e.cfg->reconnect_delay;
	e.inv.name = "proxy";
	e.authd.name = "authd";
	e.authd.lost = tunnel_authd_lost;
	e.wpx.name = "proxy streams";
	tunnel_init(b->gen);
	if (gethostname(e.hostname, sizeof(e.hostname) - 1) == -1)
		pw_strlcpy(e.hostname, "portwing", sizeof(e.hostname));
	signal(SIGPIPE, SIG_IGN);
	lws_set_log_level(LLL_ERR | (e.cfg->log_level >= LOG_LVL_DEBUG ?
	    LLL_WARN | LLL_NOTICE : 0), lws_log);
	/*
	 * Everything that reads a file happens now, before the sandbox:
	 * the CA bundle is loaded whole (a hashed directory would be read
	 * lazily, after the chroot).
	 */
	ca = e.cfg->val[CK_CA_CERT] != NULL ? e.cfg->val[CK_CA_CERT] :
	    X509_get_default_cert_file();
	memset(&info, 0, sizeof(info));
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.options = LWS_SERVER_OPTION_VALIDATE_UTF8 |
	    LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.client_ssl_ca_filepath = e.cfg->edge_tls ? ca : NULL;
	/* The session, four channels, up to 100 request streams. */
	info.fd_limit_per_thread = 256;
	info.timeout_secs = EDGE_HANDSHAKE_S;
	info.connect_timeout_secs = EDGE_HANDSHAKE_S;
	if ((e.ctx = lws_create_context(&info)) == NULL)
		fatalx("edge: cannot create the libwebsockets context");
	e.vh = lws_get_vhost_by_name(e.ctx, "default");
	if (e.vh == NULL)
		fatalx("edge: no libwebsockets vhost");
	child_sandbox(PROC_EDGE, b);

	e.master = ipc_chan_new_polled(PROC_IPC_FD, "master", perms_master,
	    nitems(perms_master), master_msg, master_closed, NULL,
	    want_write, &e.mch);
	e.mch.name = "master";
	e.mch.ch = e.master;
	e.mch.wsi = adopt(PROC_IPC_FD, e.master);
	ipc_send(e.master, IPC_C_READY, 0, 0, &v, sizeof(v), -1);
	if (!e.cfg->edge_tls)
		log_warnx("edge: DRYDOCK_URL is plain http: the session with "
		    "the controller is not encrypted");
	else if (e.cfg->tls_skip_verify)
		log_warnx("edge: TLS_SKIP_VERIFY=true: the controller's "
		    "certificate is not checked");
	sul_in(&e.sul_tick, tick_cb, 1000);
	e.state = ES_CONNECT;	/* so that the first dial starts at once */
	edge_dial_cb(NULL);
	while (!(e.stopping && e.wsi == NULL))
		if (lws_service(e.ctx, 0) < 0)
			break;
	lws_context_destroy(e.ctx);
	return 0;
}
