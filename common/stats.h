/*
 * stats.h: the shared counter segment behind /metrics.
 *
 * The master creates one memfd at start and hands it to every child with
 * its configuration; each process maps it and writes only its own slot
 * (relaxed atomic adds: one writer per slot, any reader).  The proxy,
 * which renders /metrics, reads every slot and sums the workers, so the
 * numbers are the agent's, not one process's.  A worker that restarts
 * takes over its slot and its counters keep counting.
 *
 * The segment is advisory: a compromised child could scribble on other
 * slots.  Nothing the master or authd decides is read from it; the audit
 * trail, not the metrics, is the record of what happened.  Workers read
 * each other's per-address connection counts to refuse connections; a
 * compromised worker could make them refuse, which it can do anyway by
 * racing them to accept().
 */
#ifndef PW_STATS_H
#define PW_STATS_H

#include <stdint.h>

#define ST_MAX_WORKERS		64
#define ST_CODE_MIN		100
#define ST_NCODES		500	/* 100 .. 599 */
#define ST_NBUCKETS		13	/* 12 bounds, then +Inf */
#define ST_ADDR_ROWS		2	/* per-address connection counts: */
#define ST_ADDR_BUCKETS		2048	/* rows of keyed-hash buckets */

enum st_method {
	STM_GET, STM_HEAD, STM_POST, STM_PUT, STM_DELETE, STM_PATCH,
	STM_OPTIONS, STM_CONNECT, STM_TRACE, STM_OTHER, STM_COUNT
};

/* portwing_auth_failures_total{reason}: the reference's reasons. */
enum st_reason {
	STR_BAD_TOKEN, STR_NO_CREDENTIALS, STR_TIMESTAMP_SKEW, STR_REPLAY,
	STR_UNKNOWN_KEY, STR_INVALID_SIGNATURE, STR_COUNT
};

/* portwing_proxy_decisions_total{decision}. */
enum st_decision {
	STD_ALLOWED,		/* approval valid: sent to Docker */
	STD_DENIED_APPROVAL,	/* forged, expired, replayed, re-targeted */
	STD_DENIED_BODY,	/* signed body changed after approval, or a
				   body framed other than declared */
	STD_UPSTREAM_ERROR,	/* Docker unreachable or timed out */
	STD_HIJACK_LIMIT,	/* MAX_HIJACKED reached */
	STD_DENIED_POLICY,	/* refused by the policy (rules or body) */
	STD_COUNT
};

struct st_worker {
	uint64_t	req[STM_COUNT][ST_NCODES];
	uint64_t	bucket[ST_NBUCKETS];	/* non-cumulative */
	uint64_t	count;
	uint64_t	sum_ns;
	int64_t		in_flight;
	uint64_t	auth_fail[STR_COUNT];
	uint64_t	rate_limited;
	/*
	 * Open client connections by keyed hash of the address, one count
	 * per row; MAX_CONNECTIONS_PER_ADDRESS sums these over the workers
	 * (agent/worker.c, worker_addr_*).
	 */
	uint32_t	addr_conns[ST_ADDR_ROWS][ST_ADDR_BUCKETS];
};

struct st_proxy {
	uint64_t	decision[STD_COUNT];
	int64_t		hijacked;		/* sessions open now */
};

/* Why an edge session (or an attempt at one) ended. */
enum st_edge_end {
	STE_CONNECT,		/* TCP, TLS or the upgrade failed */
	STE_REJECTED,		/* the hello was refused, retryable code */
	STE_REFUSED,		/* refused for good (terminal code, 404, key) */
	STE_WELCOME_TIMEOUT,
	STE_READ_TIMEOUT,	/* silence past the read deadline */
	STE_CLOSED,		/* the controller closed the session */
	STE_BACKPRESSURE,	/* send queue full or a write took too long */
	STE_PROTOCOL,		/* oversized or invalid frame */
	STE_COUNT
};

/* Written by the edge process. */
struct st_edge {
	uint64_t	connected;		/* 1 while welcomed */
	uint64_t	reconnects;		/* dials after the first */
	uint64_t	ends[STE_COUNT];
	uint64_t	backpressure;
	uint64_t	frames_in;
	uint64_t	frames_out;
	uint64_t	requests[6];		/* the controller's Docker calls:
						   1xx..5xx by class, [0] no
						   answer (an error message) */
};

/* Written by the master only: how often each child was restarted. */
struct st_master {
	uint64_t	restarts_worker[ST_MAX_WORKERS];
	uint64_t	restarts_authd;
	uint64_t	restarts_proxy;
	uint64_t	workers;		/* configured */
	uint8_t		addr_key[16];		/* SipHash key for addr_conns */
};

struct st_segment {
	uint32_t		magic;
	uint32_t		size;
	struct st_master	master;
	struct st_proxy		proxy;
	struct st_edge		edge;
	struct st_worker	worker[ST_MAX_WORKERS];
};

#define ST_MAGIC	0x70775374	/* "pwSt" */

extern struct st_segment *pw_stats;

extern const char *const st_method_names[STM_COUNT];
extern const char *const st_reason_names[STR_COUNT];
extern const char *const st_decision_names[STD_COUNT];
extern const char *const st_edge_end_names[STE_COUNT];
extern const double st_bucket_bounds[ST_NBUCKETS];

int	stats_create(void);			/* master: the memfd */
int	stats_map(int);				/* any: map it (and keep it) */
enum st_method stats_method(const char *);
int	stats_reason(const char *);		/* -1 when not a known reason */
void	stats_request(unsigned, const char *, int, uint64_t);

#define ST_ADD(field, n)	__atomic_fetch_add(&(field), (n), __ATOMIC_RELAXED)
#define ST_SET(field, v)	__atomic_store_n(&(field), (v), __ATOMIC_RELAXED)
#define ST_GET(field)		__atomic_load_n(&(field), __ATOMIC_RELAXED)

#endif
