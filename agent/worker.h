/*
 * worker.h: the sandboxed, pre-forked processes that face the network.
 * A worker terminates TLS, parses HTTP/1.1, asks authd who the client is,
 * answers portwing's own endpoints, and relays everything else through the
 * proxy.  It holds no Docker connection and no credential material.
 */
#ifndef PW_WORKER_H
#define PW_WORKER_H

#include <sys/queue.h>
#include <netinet/in.h>

#include <event2/bufferevent.h>
#include <event2/listener.h>
#include <openssl/ssl.h>

#include "approval.h"
#include "config.h"
#include "frame.h"
#include "http.h"
#include "ipc.h"
#include "stats.h"
#include "tls.h"

#define WORKER_HIGH_WATER	(256 * 1024)	/* per direction, per leg */
/*
 * Streams kept open for the next client connection once theirs closed,
 * so that a client opening a connection per request (Connection: close)
 * does not cost a socketpair, a descriptor pass and two bufferevents
 * each time.
 */
#define WORKER_IDLE_STREAMS	16
#define WORKER_RAW_MIN		(256 * 1024)	/* bodies this large go unframed
						   (PXF_RAWBODY) and by splice */
#define WORKER_LOCAL_BODY_MAX	(1024 * 1024)	/* own endpoints' bodies */
#define WORKER_DRAIN_SECONDS	10
/* Lingering close: how long and how much to read after the answer. */
#define WORKER_LINGER_SECONDS	5
#define WORKER_LINGER_BYTES	(4 * 1024 * 1024)
/* Descriptors a worker keeps besides two per connection (IPC, listeners). */
#define WORKER_FD_RESERVE	64

enum conn_state {
	CONN_READ_HEAD,		/* waiting for a complete request head */
	CONN_SPOOL,		/* signed request: reading the body before authd */
	CONN_AUTH_WAIT,		/* head parsed, authd asked, nothing else read */
	CONN_LOCAL_BODY,	/* reading a body for one of our own routes */
	CONN_LOCAL_WAIT,	/* our route waits on the proxy (health) */
	CONN_PROXY,		/* relaying a request/response via the proxy */
	CONN_UPGRADED,		/* raw bytes both ways after 101 */
	CONN_CLOSING,		/* flushing the last response, then close */
};

enum body_sink {
	SINK_NONE,
	SINK_PROXY,
	SINK_LOCAL,
	SINK_DISCARD,
	SINK_SPOOL,		/* signed request: memfd + digest, before authd */
};

struct worker;
struct conn;

typedef void (*route_fn)(struct conn *);

#define CONN_IBODY_MAX	(64 * 1024 * 1024)	/* an MCP tool's answer */

struct conn {
	TAILQ_ENTRY(conn)	 entry;
	struct worker		*w;
	uint32_t		 idx;
	uint32_t		 reqid;
	struct bufferevent	*bev;		/* client, TLS or plain */
	int			 tls;
	int			 filter;	/* from LISTEN_SOCKET */
	int			 mtls;		/* from LISTEN_MTLS (tls too) */
	int			 fd;		/* the client socket */
	char			 peer[INET6_ADDRSTRLEN];
	enum conn_state		 state;
	struct event		*timer;
	int			 tkind;		/* which timeout is armed */
	uint64_t		 started_us;
	unsigned		 nreq;
	int			 addr_counted;	/* in the per-address counts */
	uint16_t		 addr_idx[ST_ADDR_ROWS];
	int			 counted;	/* in the HTTP metrics (authenticated path) */
	int			 in_flight;	/* in portwing_http_requests_in_flight */
	int			 proxied;	/* the proxy audits this request */

	/* The current request. */
	struct http_scan	 scan;
	struct http_head	 req;
	int			 head_len;
	int			 keepalive;
	int			 is_head;
	char			 principal[APPROVAL_PRINCIPAL_MAX];
	struct approval		 approval;
	route_fn		 route;
	const char		*allow;		/* Allow header value for a 405 */
	char			 allowbuf[64];

	/* Request body. */
	enum body_sink		 sink;
	int			 body_mode;	/* REQ_BODY_* */
	uint64_t		 body_left;
	struct http_chunked	 chunk;
	int			 body_done;
	struct evbuffer		*body;		/* SINK_LOCAL */
	uint64_t		 body_total;	/* bytes taken by a limited sink */
	uint64_t		 body_limit;
	int			 spool_fd;	/* signed body (memfd), or -1 */
	uint64_t		 spool_len;
	uint64_t		 spool_off;	/* sent on to the proxy */
	void			*spool_md;	/* EVP_MD_CTX while spooling */
	uint8_t			 digest[32];
	int			 is_signed;
	int			 body_read;	/* signed: read before authd judged, in body */
	int			 lookout;	/* used X-Lookout-* auth headers */
	int			 linger;	/* closing: dropping client input */
	uint64_t		 lingered;	/* bytes dropped so far */
	int			 clean_close;	/* request read whole: no linger */
	int			 raw;		/* PXF_RAWBODY: body unframed */
	int			 raw_copy;	/* ... copied: no pipe for splice */
	struct splicer		*sp;		/* client -> stream, by splice */
	int			 fwd;		/* authd passes the request on
						   to the proxy (AUTHF_FORWARD) */
	int			 fwd_cancel;	/* ... asked whether it came */

	/* Response relayed from the proxy. */
	struct bufferevent	*sbev;		/* stream to the proxy */
	uint64_t		 sid;		/* its id (IPC_W_STREAM) */
	int			 sknown;	/* the proxy has answered on it */
	int			 resp_started;
	int			 resp_chunked;
	int			 resp_close_delim;
	int			 resp_status;
	int			 client_eof;
	int			 stream_eof;
	int			 internal;	/* response consumed by us */
	void			(*internal_done)(struct conn *, int);
	struct evbuffer		*ibody;		/* an internal answer's body,
						   when it is wanted (MCP) */
	char			*mcp_id;	/* the JSON-RPC id, serialised */
};

struct worker {
	struct event_base	*base;
	struct pw_config	 cfg;
	unsigned		 slot;
	struct ipc_chan		*master;
	struct ipc_chan		*authd;
	uint32_t		 authd_gen;	/* its spawn generation */
	struct ipc_chan		*proxy;
	/* Streams to the proxy between client connections (agent/worker.c). */
	struct bufferevent	*idle_streams[WORKER_IDLE_STREAMS];
	uint64_t		 idle_sids[WORKER_IDLE_STREAMS];
	uint64_t		 next_sid;	/* spawn generation << 32 | n */
	int			 nidle_streams;
	struct event		*listeners[5];	/* EV_READ on LISTEN_*, compose */
	int			 listener_tls[5];
	int			 nlisteners;
	int			 listening;
	SSL_CTX			*tls;
	SSL_CTX			*mtls;		/* LISTEN_MTLS (agent/mtlsl.c) */
	char			*mtls_ca;	/* MTLS_CLIENT_CA PEM */
	size_t			 mtls_calen;
	struct conn		**table;	/* by idx, for authd answers */
	uint32_t		 table_size;
	uint32_t		 reqgen;
	int			 nconns;
	TAILQ_HEAD(, conn)	 conns;
	int			 draining;
	struct event		*drain_timer;
	struct http_limits	 limits;
	double			 started;
	EVP_MAC_CTX		*addr_mac;	/* SipHash of client addresses */
	time_t			 addr_logged;	/* last per-address refusal log */
	time_t			 shed_logged;
	struct event		*accept_timer;	/* resumes accept after EMFILE */
	struct event		*shed_watch[4];	/* paused: someone in the backlog? */
	struct event		*shed_timer;	/* paused, nothing idle: retry */
	/* Accepted at MAX_CONNECTIONS with nothing to shed: waits, unread. */
	int			 parked_fd;	/* -1: none */
	int			 parked_tls;
	int			 parked_counted;
	uint16_t		 parked_idx[ST_ADDR_ROWS];
	struct sockaddr_storage	 parked_sa;
};

extern struct worker *worker;

/* worker.c */
int	worker_main(unsigned);
void	worker_conn_closed(struct worker *);
void	worker_addr_release(struct conn *);
int	worker_auth_request(struct conn *);
int	worker_auth_dialect(struct conn *);
int	worker_enroll_request(struct conn *);
int	worker_new_stream(struct worker *, uint64_t *);
struct bufferevent *worker_stream_get(struct worker *, uint64_t *);
int	worker_stream_put(struct worker *, struct bufferevent *, uint64_t);
void	worker_streams_drop(struct worker *);
void	worker_audit(struct conn *, int);
void	worker_proxy_request(struct conn *, int, int);
void	worker_mcp_request(struct conn *, const char *, const char *, int);
void	worker_own_request(struct conn *, int, const char *const *,
	    const char *const *, size_t);

/* conn.c */
struct conn *conn_new(struct worker *, int, struct sockaddr *, int);
void	conn_free(struct conn *);
void	conn_auth_answer(struct conn *, int, const char *, const char *,
	    const struct approval *);
void	conn_respond(struct conn *, int, const char *, const char *, size_t,
	    const char *);
void	conn_error(struct conn *, int, const char *);
void	conn_text_error(struct conn *, int, const char *, const char *);
void	conn_start_proxy(struct conn *, int);
void	conn_start_internal(struct conn *, int,
	    void (*)(struct conn *, int));
void	conn_start_mcp(struct conn *, const char *, const char *, int,
	    void (*)(struct conn *, int));
void	conn_start_own(struct conn *, int, const char *const *,
	    const char *const *);
void	conn_start_own_body(struct conn *, int, const char *const *,
	    const char *const *, const char *, size_t);
void	conn_drain(struct conn *);
int	conn_idle(struct conn *);
void	conn_read_local_body(struct conn *, route_fn, size_t);
void	conn_enroll_answer(struct conn *, int, const char *, const char *,
	    size_t);

/* routes.c */
route_fn routes_lookup_public(struct conn *, int *);
route_fn routes_lookup_private(struct conn *, int *);
int	 routes_edge_served(struct conn *);
struct json_t;
void	 routes_json(struct conn *, int, struct json_t *, const char *);

/* mcp.c */
void	route_mcp(struct conn *);

/* dagent.c: ADAPTER=dockeragent */
int	dagent_path(struct conn *);
void	dagent_error(struct conn *, int, const char *);
void	route_dagent(struct conn *);
void	route_dagent_health(struct conn *);


#endif
