/*
 * proxy.h: the Docker mediation process ("portwingd: proxy").  The only
 * code that speaks to the Docker Engine; it gets connected descriptors
 * from the master and requests from workers, and relays a request only
 * when it carries a valid, unused approval from authd for exactly that
 * method and target.
 *
 * REQ frame payload (worker -> proxy, on the stream; common/frame.h):
 *   u32 flags (PXF_*), approval, str method, str target,
 *   u32 body mode (REQ_BODY_*), u64 content length, str client address,
 *   str upgrade protocol ("" unless PXF_UPGRADE),
 *   then header fields as (u32 1, str name, str value)*, then u32 0.
 */
#ifndef PW_PROXY_H
#define PW_PROXY_H

#define PROXY_HIGH_WATER	(256 * 1024)
#define PROXY_SPLICE_MIN	(64 * 1024)	/* less of a raw body is copied */
#define PROXY_MAX_IDLE		128	/* pooled idle Docker connections */
#define PROXY_MAX_WORKERS	65	/* 64 workers, then IPC_EDGE_SLOT */
#define PROXY_MAX_FIELDS	100

#include <sys/queue.h>
#include <stdint.h>

struct bufferevent;
struct event_base;
struct ipc_chan;
struct ipc_msg;

/* pool.c: Docker connections. */
struct upstream {
	TAILQ_ENTRY(upstream)	 entry;
	struct bufferevent	*bev;
	uint64_t		 idle_since;
};
struct connreq;
typedef void (*upstream_cb)(void *, struct upstream *, int);

void	 pool_init(struct event_base *, int);
void	 pool_set_master(struct ipc_chan *);
void	 pool_docker_answer(struct ipc_msg *);
struct upstream *upstream_new(int);
void	 upstream_free(struct upstream *);
void	 upstream_release(struct upstream *);
struct connreq *upstream_get(upstream_cb, void *);
void	 upstream_cancel(struct connreq *);

/* inventory.c: the container inventory and its SSE feed. */
struct pw_config;
struct sub;
typedef int (*sse_send)(void *, const char *, size_t);
typedef void (*sse_drop)(void *);
void	 inventory_preinit(void);
void	 inventory_init(struct event_base *, const struct pw_config *);
int	 inventory_ready(void);
const char *inventory_list(size_t *);
void	 inventory_when_ready(void (*)(void *), void *);
void	 inventory_forget_waiter(void *);
struct sub *inventory_subscribe(void *, sse_send, sse_drop, sse_drop);
void	 inventory_unsubscribe(struct sub *);
int	 inventory_counts(int *);
int	 inventory_cpus(void);
void	 inventory_end_subscribers(void);
struct sub *inventory_subscribe_events(void *, sse_send, sse_drop, sse_drop);
const char *inventory_generic_list(size_t *);
char	*inventory_mcp_list(void);

/* generic.c: the generic model, its event frames, MCP's container facts. */
struct json_t;
const char *jstr(struct json_t *, const char *);
int	 jbool(struct json_t *, const char *);
void	 parse_image_ref(const char *, char *, size_t, char *, size_t, char *,
	    size_t);
int64_t	 docker_time_ns(const char *);
struct json_t *generic_model(struct json_t *, struct json_t *, const char *);
int	 generic_event_frame(struct json_t *, char **, size_t *);
struct json_t *mcp_facts(struct json_t *);
void	 docker_status_line(struct json_t *, int64_t, char *, size_t);
char	*mcp_list_text(struct json_t **, size_t, int64_t);
int	 own_route_equiv(const char *, const char *, const char *,
	    const char *, char *, size_t);

/* dclient.c: the proxy's own Docker calls. */
struct dreq;
struct evbuffer;
typedef void (*dclient_done)(void *, int, struct evbuffer *, const char *);
typedef void (*dclient_data)(void *, struct evbuffer *);
void	 dclient_init(struct event_base *);
struct dreq *dclient_request(const char *, const char *, int, size_t,
	    dclient_data, dclient_done, void *);
struct dreq *dclient_request_body(const char *, const char *, const char *,
	    size_t, int, size_t, dclient_data, dclient_done, void *);
void	 dclient_cancel(struct dreq *);
int	 dclient_status(const struct dreq *);
int	 dclient_hex_id(const char *);

/* proxy.c: what the proxy's own Docker calls say of Docker (1 answered,
   0 unreachable); the master hears of the first and of each change. */
void	 proxy_docker_seen(int);

/* audit.c: the audit trail (ring, sink, hash chain, export). */
struct audit_rec;
struct audit_counters {
	uint64_t	total;		/* records made */
	uint64_t	dropped;	/* records the sink could not take */
	uint64_t	records;	/* in the ring now */
	uint64_t	capacity;
	int		sink_enabled;
	uint64_t	exports_ok;
	uint64_t	exports_err;
};
void	 audit_init(struct event_base *, const struct pw_config *);
void	 audit_set_sink(int, int, const char *);
void	 audit_anchor(void);
void	 audit_add(const struct audit_rec *);
void	 audit_list(const char *, struct evbuffer *);
int	 audit_export(const char *, struct evbuffer *, struct evbuffer *);
void	 audit_export_outcome(int);
const struct audit_counters *audit_counters(void);

/* observe.c: /metrics and /_portwing/info. */
typedef void (*observe_done)(void *, struct evbuffer *);
void	 observe_preinit(void);
void	 observe_init(struct event_base *, const struct pw_config *);
void	 observe_file(int, int);
void	 observe_metrics(observe_done, void *);
void	 observe_info(observe_done, void *);
void	 observe_forget(void *);
struct json_t;
struct json_t *observe_edge_metrics(void);

/* pmcp.c: the MCP tools, run for the worker that parsed the call. */
struct pmcp;
typedef void (*pmcp_done)(void *, int, const char *, size_t);
struct pmcp *pmcp_call(const char *, const char *, int, pmcp_done, void *);
void	 pmcp_cancel(struct pmcp *);
void	 pmcp_init(struct event_base *);

/* dclient.c */
void	 dclient_message(struct evbuffer *, char *, size_t);

/* pdagent.c: dockeragent's API (ADAPTER=dockeragent). */
struct pda;
struct pda_ops {
	void	(*respond)(void *, int, const char *, size_t);	/* JSON */
	void	(*head)(void *, int, const char *);	/* a stream begins */
	int	(*data)(void *, const char *, size_t);	/* -1: over bound */
	void	(*end)(void *);				/* the stream ended */
	void	(*drop)(void *);			/* dropped (slow) */
};
int	 pda_start(const char *, const char *, struct json_t *, const char *,
	    const struct pda_ops *, void *, struct pda **);
void	 pda_cancel(struct pda *);
void	 pda_init(struct event_base *);

/* pfiles.c: host file writes, asked of filed. */
struct pfw;
typedef void (*pfw_done)(void *, int, const char *, uint64_t,
    const uint8_t *);
void	 pfiles_chan(struct event_base *, int);
struct pfw *pfiles_write(const char *, unsigned, int, uint64_t,
	    const uint8_t *, pfw_done, void *);
void	 pfiles_cancel(struct pfw *);

/* pcompose.c: POST /_portwing/compose, run by the composer. */
struct pcr;
struct pcr_answer {
	int		 status;	/* HTTP */
	int		 success;
	char		 operation[132];
	char		 stack[132];
	char		*body;		/* JSON */
	size_t		 len;
};
typedef void (*pcr_done)(void *, const struct pcr_answer *);
void	 pcompose_chan(struct event_base *, int);
struct pcr *pcompose_run(int, uint64_t, pcr_done, void *);
void	 pcompose_cancel(struct pcr *);

/* observe.c: host_metrics. */
struct json_t *observe_host_metrics(void);

/* pedge.c: the proxy's side of edge mode. */
void	 pedge_chan(struct event_base *, const struct pw_config *, int);

#endif
