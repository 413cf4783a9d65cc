/*
 * observe.c (proxy): GET /metrics (and /_portwing/metrics) and GET
 * /_portwing/info.
 *
 * The exposition follows the reference (section 10): build and uptime,
 * host, containers, HTTP, audit; then what portwing adds: container
 * counts, proxy decisions and child restarts.  HTTP and auth counters
 * come from the shared segment (common/stats.h) summed over every
 * worker.  Host figures come from descriptors the master opened before
 * the sandbox closed the file system: /proc/stat, /proc/meminfo,
 * /proc/net/dev (re-read with pread) and the Docker data root (fstatfs).
 * Per-container figures are one-shot stats calls, at most
 * OBS_STATS_CONCURRENCY at a time, each bounded by OBS_STATS_TIMEOUT, and
 * cached for METRICS_INTERVAL seconds: scrapes inside that window are
 * answered from the cache, and scrapes that arrive while a collection
 * runs wait for that one collection.  Nothing here blocks the proxy's
 * loop.
 */
#include "pwbuild.h"

#include <sys/queue.h>
#include <sys/sysinfo.h>
#include <sys/vfs.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

#include "config.h"
#include "ipc_msg.h"
#include "log.h"
#include "proxy.h"
#include "pgate.h"
#include "stats.h"
#include "util.h"

#define OBS_STATS_CONCURRENCY	8
#define OBS_STATS_TIMEOUT	10
#define OBS_LIST_MAX		(16 * 1024 * 1024)
#define OBS_STATS_MAX		(256 * 1024)

struct cstat {
	char		 id[80];
	char		*name;
	char		*image;
	int		 ok;
	double		 cpu_s;
	uint64_t	 mem, limit, rx, tx;
};

struct waiter {
	TAILQ_ENTRY(waiter)	 entry;
	observe_done		 done;
	void			*arg;
};

TAILQ_HEAD(waiter_list, waiter);

static struct {
	struct event_base	*base;
	const struct pw_config	*cfg;
	int			 fd[OBS_FILE_COUNT];
	char			 hostname[256];
	struct cpuprev {
		uint64_t	 total, idle;
		int		 have;
	}			 cpu, edge_cpu;	/* /metrics', edge's baselines */
	/* Container stats: the cache and the collection under way. */
	struct cstat		*cs;
	size_t			 ncs;
	uint64_t		 cs_at_ms;
	int			 collecting;
	struct cstat		*next;
	size_t			 nnext, queued, active, finished;
	struct waiter_list	 waiters;
	struct waiter_list	 info_waiters;
	struct dreq		*version_req;
} ob;

void
observe_preinit(void)
{
	int	i;

	for (i = 0; i < OBS_FILE_COUNT; i++)
		ob.fd[i] = -1;
	if (gethostname(ob.hostname, sizeof(ob.hostname)) == -1)
		pw_strlcpy(ob.hostname, "unknown", sizeof(ob.hostname));
	ob.hostname[sizeof(ob.hostname) - 1] = '\0';
	TAILQ_INIT(&ob.waiters);
	TAILQ_INIT(&ob.info_waiters);
}

void
observe_init(struct event_base *base, const struct pw_config *cfg)
{
	ob.base = base;
	ob.cfg = cfg;
}

/* A descriptor from the master (IPC_M_FILE). */
void
observe_file(int kind, int fd)
{
	if (kind < 0 || kind >= OBS_FILE_COUNT) {
		close(fd);
		return;
	}
	if (ob.fd[kind] != -1)
		close(ob.fd[kind]);
	ob.fd[kind] = fd;
}

/* ---- host ---- */

static ssize_t
read_proc(int kind, char *buf, size_t sz)
{
	ssize_t	n;

	if (ob.fd[kind] == -1)
		return -1;
	if ((n = pread(ob.fd[kind], buf, sz - 1, 0)) < 0)
		return -1;
	buf[n] = '\0';
	return n;
}

/* Busy share of the host's CPUs since the previous sample of p. */
static double
host_cpu_percent(struct cpuprev *p)
{
	char			 buf[4096];
	unsigned long long	 v[8] = { 0 };
	uint64_t		 total = 0, idle, dt, di;
	double			 pct = 0;
	int			 i;

	if (read_proc(OBS_PROC_STAT, buf, sizeof(buf)) <= 0 ||
	    sscanf(buf, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0],
	    &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]) < 4)
		return 0;
	for (i = 0; i < 8; i++)
		total += v[i];
	idle = v[3] + v[4];
	if (p->have && total > p->total) {
		dt = total - p->total;
		di = idle >= p->idle ? idle - p->idle : 0;
		pct = 100.0 * (1.0 - (double)di / (double)dt);
		if (pct < 0)
			pct = 0;
	}
	p->total = total;
	p->idle = idle;
	p->have = 1;
	return pct;
}

static uint64_t
meminfo_kb(const char *buf, const char *key, int *found)
{
	const char		*p = strstr(buf, key);
	unsigned long long	 kb;

	if (p == NULL || (p != buf && p[-1] != '\n') ||
	    sscanf(p + strlen(key), " %llu", &kb) != 1)
		return 0;
	*found = 1;
	return kb;
}

static void
host_memory(uint64_t *total, uint64_t *used)
{
	char		buf[8192];
	uint64_t	t, a;
	int		ft = 0, fa = 0, x = 0;

	*total = *used = 0;
	if (read_proc(OBS_MEMINFO, buf, sizeof(buf)) <= 0)
		return;
	t = meminfo_kb(buf, "MemTotal:", &ft);
	a = meminfo_kb(buf, "MemAvailable:", &fa);
	if (!fa)
		a = meminfo_kb(buf, "MemFree:", &x) +
		    meminfo_kb(buf, "Buffers:", &x) +
		    meminfo_kb(buf, "Cached:", &x);
	if (!ft)
		return;
	*total = t * 1024;
	*used = t > a ? (t - a) * 1024 : 0;
}

static void
host_disk(uint64_t *total, uint64_t *used)
{
	struct statfs	sf;

	*total = *used = 0;
	if (ob.cfg->skip_df || ob.fd[OBS_DOCKER_ROOT] == -1 ||
	    fstatfs(ob.fd[OBS_DOCKER_ROOT], &sf) == -1)
		return;
	*total = (uint64_t)sf.f_blocks * (uint64_t)sf.f_bsize;
	*used = *total - (uint64_t)sf.f_bavail * (uint64_t)sf.f_bsize;
}

static void
host_network(uint64_t *rx, uint64_t *tx)
{
	char			 buf[65536], *line, *save = NULL, *colon;
	unsigned long long	 f[9];
	int			 n = 0;

	*rx = *tx = 0;
	if (read_proc(OBS_NETDEV, buf, sizeof(buf)) <= 0)
		return;
	for (line = strtok_r(buf, "\n", &save); line != NULL;
	    line = strtok_r(NULL, "\n", &save)) {
		if (n++ < 2 || (colon = strchr(line, ':')) == NULL)
			continue;
		*colon = '\0';
		while (*line == ' ')
			line++;
		if (strcmp(line, "lo") == 0)
			continue;
		if (sscanf(colon + 1, "%llu %llu %llu %llu %llu %llu %llu "
		    "%llu %llu", &f[0], &f[1], &f[2], &f[3], &f[4], &f[5],
		    &f[6], &f[7], &f[8]) == 9) {
			*rx += f[0];
			*tx += f[8];
		}
	}
}

/* ---- exposition helpers ---- */

static void
family(struct evbuffer *b, const char *name, const char *type,
    const char *help)
{
	evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s %s\n", name, help,
	    name, type);
}

/* Label values: backslash, double quote and newline escaped. */
static void
label_value(struct evbuffer *b, const char *s)
{
	for (; *s != '\0'; s++) {
		if (*s == '\\')
			evbuffer_add(b, "\\\\", 2);
		else if (*s == '"')
			evbuffer_add(b, "\\\"", 2);
		else if (*s == '\n')
			evbuffer_add(b, "\\n", 2);
		else
			evbuffer_add(b, s, 1);
	}
}

/*
 * Floats as Go's %g prints them: the fewest digits that read back as the
 * same double, in exponent form when the exponent is below -4 or at
 * least 6 (1e+06, 1.2345675e+06), else in plain decimal (0.000238, 42.131).
 */
static void
fmt_float(char *buf, size_t sz, double v)
{
	char	e[32];
	int	p, exp, dec;

	if (v == 0) {
		snprintf(buf, sz, "0");
		return;
	}
	for (p = 0; p < 17; p++) {
		snprintf(e, sizeof(e), "%.*e", p, v);
		if (strtod(e, NULL) == v)
			break;
	}
	exp = atoi(strchr(e, 'e') + 1);
	if (exp < -4 || exp >= 6) {
		snprintf(buf, sz, "%s", e);
		return;
	}
	dec = p - exp > 0 ? p - exp : 0;
	snprintf(buf, sz, "%.*f", dec, v);
}

static void
sample_f(struct evbuffer *b, const char *name, double v)
{
	char	num[40];

	fmt_float(num, sizeof(num), v);
	evbuffer_add_printf(b, "%s %s\n", name, num);
}

static void
sample_u(struct evbuffer *b, const char *name, uint64_t v)
{
	evbuffer_add_printf(b, "%s %llu\n", name, (unsigned long long)v);
}

/* A family of one unlabelled sample. */
static void
metric_u(struct evbuffer *b, const char *name, const char *type,
    const char *help, uint64_t v)
{
	family(b, name, type, help);
	sample_u(b, name, v);
}

/* ---- containers ---- */

static void
cstat_free(struct cstat *cs, size_t n)
{
	size_t	i;

	for (i = 0; i < n; i++) {
		free(cs[i].name);
		free(cs[i].image);
	}
	free(cs);
}

static void
container_block(struct evbuffer *b)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{ "container_cpu_usage_seconds_total", "counter",
		    "Cumulative CPU time consumed by the container, seconds." },
		{ "container_memory_usage_bytes", "gauge",
		    "Memory the container uses, bytes." },
		{ "container_spec_memory_limit_bytes", "gauge",
		    "Memory limit of the container, bytes." },
		{ "container_network_receive_bytes_total", "counter",
		    "Bytes the container received." },
		{ "container_network_transmit_bytes_total", "counter",
		    "Bytes the container sent." },
	};
	size_t	i, f, ok = 0;
	char	num[40];

	for (i = 0; i < ob.ncs; i++)
		ok += ob.cs[i].ok;
	if (ok == 0)
		return;
	for (f = 0; f < nitems(fam); f++) {
		family(b, fam[f].name, fam[f].type, fam[f].help);
		for (i = 0; i < ob.ncs; i++) {
			struct cstat *c = &ob.cs[i];
			if (!c->ok || (f == 2 && c->limit == 0))
				continue;
			evbuffer_add_printf(b, "%s{id=\"", fam[f].name);
			label_value(b, c->id);
			evbuffer_add_printf(b, "\",name=\"");
			label_value(b, c->name);
			evbuffer_add_printf(b, "\",image=\"");
			label_value(b, c->image);
			switch (f) {
			case 0:
				fmt_float(num, sizeof(num), c->cpu_s);
				break;
			default:
				snprintf(num, sizeof(num), "%llu",
				    (unsigned long long)(f == 1 ? c->mem :
				    f == 2 ? c->limit : f == 3 ? c->rx : c->tx));
			}
			evbuffer_add_printf(b, "\"} %s\n", num);
		}
	}
}

static uint64_t
ju(json_t *o, const char *k)
{
	json_t	*v = json_object_get(o, k);

	if (json_is_integer(v) && json_integer_value(v) >= 0)
		return (uint64_t)json_integer_value(v);
	if (json_is_real(v) && json_real_value(v) >= 0)
		return (uint64_t)json_real_value(v);
	return 0;
}

static void	collect_more(void);

static void
stats_done(void *arg, int status, struct evbuffer *body, const char *err)
{
	struct cstat	*c = arg;
	json_t		*j, *nets, *n;
	const char	*k;

	ob.active--;
	ob.finished++;
	if (err == NULL && status == 200 && body != NULL &&
	    (j = json_loadb((const char *)evbuffer_pullup(body, -1),
	    evbuffer_get_length(body), 0, NULL)) != NULL) {
		c->cpu_s = (double)ju(json_object_get(json_object_get(j,
		    "cpu_stats"), "cpu_usage"), "total_usage") / 1e9;
		c->mem = ju(json_object_get(j, "memory_stats"), "usage");
		c->limit = ju(json_object_get(j, "memory_stats"), "limit");
		nets = json_object_get(j, "networks");
		json_object_foreach(nets, k, n) {
			c->rx += ju(n, "rx_bytes");
			c->tx += ju(n, "tx_bytes");
		}
		c->ok = 1;
		json_decref(j);
	}
	collect_more();
}

static void	serve_waiters(void);

/* Start stats calls until the concurrency bound; finish when all are in. */
static void
collect_more(void)
{
	char	target[160];

	while (ob.active < OBS_STATS_CONCURRENCY && ob.queued < ob.nnext) {
		struct cstat *c = &ob.next[ob.queued++];
		snprintf(target, sizeof(target),
		    "/containers/%s/stats?stream=false&one-shot=true", c->id);
		ob.active++;
		(void)dclient_request("GET", target, OBS_STATS_TIMEOUT,
		    OBS_STATS_MAX, NULL, stats_done, c);
	}
	if (ob.active == 0 && ob.finished == ob.nnext) {
		cstat_free(ob.cs, ob.ncs);
		ob.cs = ob.next;
		ob.ncs = ob.nnext;
		ob.next = NULL;
		ob.nnext = 0;
		ob.cs_at_ms = pw_now_ms();
		ob.collecting = 0;
		serve_waiters();
	}
}


static void
list_done(void *arg, int status, struct evbuffer *body, const char *err)
{
	json_t		*list = NULL, *item, *names;
	const char	*name;
	size_t		 i, n = 0;

	if (err == NULL && status == 200 && body != NULL)
		list = json_loadb((const char *)evbuffer_pullup(body, -1),
		    evbuffer_get_length(body), 0, NULL);
	if (json_is_array(list))
		ob.next = xcalloc(json_array_size(list) + 1, sizeof(*ob.next));
	json_array_foreach(list, i, item) {
		const char *id = json_string_value(json_object_get(item, "Id"));
		if (id == NULL || !dclient_hex_id(id))
			continue;
		names = json_object_get(item, "Names");
		name = json_string_value(json_array_get(names, 0));
		name = name == NULL ? "" : name + (*name == '/');
		pw_strlcpy(ob.next[n].id, id, sizeof(ob.next[n].id));
		ob.next[n].name = xstrdup(name);
		ob.next[n].image = xstrdup(json_string_value(json_object_get(
		    item, "Image")) ? json_string_value(json_object_get(item,
		    "Image")) : "");
		n++;
	}
	json_decref(list);
	ob.nnext = n;
	ob.queued = ob.active = ob.finished = 0;
	collect_more();
}

/* ---- the whole exposition ---- */

static void
http_block(struct evbuffer *b)
{
	struct st_segment	*s = pw_stats;
	uint64_t		 v, cum, count = 0, sum_ns = 0;
	uint64_t		 fails[STR_COUNT] = { 0 }, limited = 0;
	int64_t			 inflight = 0;
	int			 nw = (int)ST_GET(s->master.workers), w, m, c, i;
	char			 num[40];

	if (nw > ST_MAX_WORKERS)
		nw = ST_MAX_WORKERS;
	family(b, "portwing_http_requests_total", "counter",
	    "Requests that went through authentication, by method and "
	    "status.");
	for (m = 0; m < STM_COUNT; m++)
		for (c = 0; c < ST_NCODES; c++) {
			for (v = 0, w = 0; w < nw; w++)
				v += ST_GET(s->worker[w].req[m][c]);
			if (v > 0)
				evbuffer_add_printf(b, "portwing_http_requests_"
				    "total{code=\"%d\",method=\"%s\"} %llu\n",
				    c + ST_CODE_MIN, st_method_names[m],
				    (unsigned long long)v);
		}
	family(b, "portwing_http_request_duration_seconds", "histogram",
	    "Time to answer a request that went through authentication.");
	for (i = 0, cum = 0; i < ST_NBUCKETS; i++) {
		for (w = 0; w < nw; w++)
			cum += ST_GET(s->worker[w].bucket[i]);
		if (i < ST_NBUCKETS - 1) {
			fmt_float(num, sizeof(num), st_bucket_bounds[i]);
			evbuffer_add_printf(b, "portwing_http_request_duration_"
			    "seconds_bucket{le=\"%s\"} %llu\n", num,
			    (unsigned long long)cum);
		} else
			evbuffer_add_printf(b, "portwing_http_request_duration_"
			    "seconds_bucket{le=\"+Inf\"} %llu\n",
			    (unsigned long long)cum);
	}
	for (w = 0; w < nw; w++) {
		count += ST_GET(s->worker[w].count);
		sum_ns += ST_GET(s->worker[w].sum_ns);
		inflight += ST_GET(s->worker[w].in_flight);
		limited += ST_GET(s->worker[w].rate_limited);
		for (i = 0; i < STR_COUNT; i++)
			fails[i] += ST_GET(s->worker[w].auth_fail[i]);
	}
	sample_f(b, "portwing_http_request_duration_seconds_sum",
	    (double)sum_ns / 1e9);
	sample_u(b, "portwing_http_request_duration_seconds_count", count);
	family(b, "portwing_http_requests_in_flight", "gauge",
	    "Authenticated requests being answered now.");
	evbuffer_add_printf(b, "portwing_http_requests_in_flight %lld\n",
	    (long long)(inflight < 0 ? 0 : inflight));
	family(b, "portwing_auth_failures_total", "counter",
	    "Failed authentication attempts, by reason.");
	for (i = 0; i < STR_COUNT; i++)
		if (fails[i] > 0)
			evbuffer_add_printf(b, "portwing_auth_failures_total"
			    "{reason=\"%s\"} %llu\n", st_reason_names[i],
			    (unsigned long long)fails[i]);
	family(b, "portwing_rate_limited_total", "counter",
	    "Requests refused with 429 by the failure or capacity limits.");
	sample_u(b, "portwing_rate_limited_total", limited);
}

static void
audit_block(struct evbuffer *b)
{
	const struct audit_counters *a = audit_counters();

	metric_u(b, "portwing_audit_buffer_records", "gauge",
	    "Audit records held in the in-memory ring.", a->records);
	metric_u(b, "portwing_audit_buffer_capacity", "gauge",
	    "Capacity of the in-memory audit ring (0: disabled).",
	    a->capacity);
	metric_u(b, "portwing_audit_sink_enabled", "gauge",
	    "1 when AUDIT_LOG is set.", (uint64_t)a->sink_enabled);
	family(b, "portwing_audit_exports_total", "counter",
	    "Audit reads and exports, by outcome.");
	evbuffer_add_printf(b, "portwing_audit_exports_total{outcome=\"error\"} "
	    "%llu\nportwing_audit_exports_total{outcome=\"success\"} %llu\n",
	    (unsigned long long)a->exports_err,
	    (unsigned long long)a->exports_ok);
	metric_u(b, "portwing_audit_records_total", "counter",
	    "Audit records made.", a->total);
	metric_u(b, "portwing_audit_dropped_total", "counter",
	    "Audit records the sink could not take (still in the ring).",
	    a->dropped);
}

/* Edge mode: the session with the controller (edge/edge.c counts). */
static void
edge_block(struct evbuffer *b)
{
	static const char *const classes[6] = {
		"error", "1xx", "2xx", "3xx", "4xx", "5xx",
	};
	struct st_edge	*e = &pw_stats->edge;
	int		 i;

	metric_u(b, "portwing_edge_controller_connected", "gauge",
	    "1 while the session with the controller is up.",
	    ST_GET(e->connected));
	metric_u(b, "portwing_edge_reconnects_total", "counter",
	    "Connections to the controller attempted after the first.",
	    ST_GET(e->reconnects));
	metric_u(b, "portwing_edge_backpressure_events_total", "counter",
	    "Sessions ended because the controller did not read fast enough.",
	    ST_GET(e->backpressure));
	family(b, "portwing_edge_session_ends_total", "counter",
	    "Sessions, or attempts at one, that ended, by reason.");
	for (i = 0; i < STE_COUNT; i++)
		evbuffer_add_printf(b, "portwing_edge_session_ends_total"
		    "{reason=\"%s\"} %llu\n", st_edge_end_names[i],
		    (unsigned long long)ST_GET(e->ends[i]));
	metric_u(b, "portwing_edge_frames_received_total", "counter",
	    "Messages received from the controller.", ST_GET(e->frames_in));
	metric_u(b, "portwing_edge_frames_sent_total", "counter",
	    "Messages sent to the controller.", ST_GET(e->frames_out));
	family(b, "portwing_edge_requests_total", "counter",
	    "The controller's Docker calls over the session, by the class of "
	    "Docker's status (error: none came).");
	for (i = 0; i < 6; i++)
		evbuffer_add_printf(b, "portwing_edge_requests_total"
		    "{code=\"%s\"} %llu\n", classes[i],
		    (unsigned long long)ST_GET(e->requests[i]));
}

static void
portwing_block(struct evbuffer *b)
{
	struct st_segment	*s = pw_stats;
	int			 nw = (int)ST_GET(s->master.workers), i, total;
	int			 running;

	if (nw > ST_MAX_WORKERS)
		nw = ST_MAX_WORKERS;
	if ((total = inventory_counts(&running)) >= 0) {
		family(b, "portwing_containers", "gauge",
		    "Containers in the inventory, by state.");
		evbuffer_add_printf(b, "portwing_containers{state=\"running\"} "
		    "%d\nportwing_containers{state=\"stopped\"} %d\n", running,
		    total - running);
	}
	family(b, "portwing_proxy_decisions_total", "counter",
	    "Requests the proxy judged, by decision.");
	for (i = 0; i < STD_COUNT; i++)
		evbuffer_add_printf(b, "portwing_proxy_decisions_total"
		    "{decision=\"%s\"} %llu\n", st_decision_names[i],
		    (unsigned long long)ST_GET(s->proxy.decision[i]));
	family(b, "portwing_proxy_hijacked_sessions", "gauge",
	    "Upgraded (exec, attach) sessions open now.");
	evbuffer_add_printf(b, "portwing_proxy_hijacked_sessions %lld\n",
	    (long long)ST_GET(s->proxy.hijacked));
	family(b, "portwing_process_restarts_total", "counter",
	    "Times the master restarted a child process, by process.");
	evbuffer_add_printf(b, "portwing_process_restarts_total{process="
	    "\"authd\"} %llu\n", (unsigned long long)ST_GET(
	    s->master.restarts_authd));
	evbuffer_add_printf(b, "portwing_process_restarts_total{process="
	    "\"proxy\"} %llu\n", (unsigned long long)ST_GET(
	    s->master.restarts_proxy));
	for (i = 0; i < nw; i++)
		evbuffer_add_printf(b, "portwing_process_restarts_total{process="
		    "\"worker %d\"} %llu\n", i, (unsigned long long)ST_GET(
		    s->master.restarts_worker[i]));
}

static struct evbuffer *
render(void)
{
	struct evbuffer	*b = evbuffer_new();
	uint64_t	 t, u;

	family(b, "portwing_build_info", "gauge", "Build of this agent.");
	evbuffer_add_printf(b, "portwing_build_info{version=\"");
	label_value(b, PW_VERSION_STRING);
	evbuffer_add_printf(b, "\"} 1\n");
	family(b, "portwing_uptime_seconds", "gauge",
	    "Seconds since the agent started.");
	sample_f(b, "portwing_uptime_seconds", pw_wall_time() -
	    ob.cfg->started);
	family(b, "portwing_host_cpu_usage_percent", "gauge",
	    "Host CPU busy share since the previous sample, percent.");
	sample_f(b, "portwing_host_cpu_usage_percent",
	    host_cpu_percent(&ob.cpu));
	host_memory(&t, &u);
	metric_u(b, "portwing_host_memory_total_bytes", "gauge",
	    "Host memory, bytes.", t);
	metric_u(b, "portwing_host_memory_used_bytes", "gauge",
	    "Host memory in use (total - available), bytes.", u);
	host_disk(&t, &u);
	metric_u(b, "portwing_host_disk_total_bytes", "gauge",
	    "Size of the file system holding the Docker data root, bytes.", t);
	metric_u(b, "portwing_host_disk_used_bytes", "gauge",
	    "Used space on that file system, bytes.", u);
	host_network(&t, &u);
	metric_u(b, "portwing_host_network_receive_bytes_total", "counter",
	    "Bytes received on all interfaces but lo.", t);
	metric_u(b, "portwing_host_network_transmit_bytes_total", "counter",
	    "Bytes sent on all interfaces but lo.", u);
	container_block(b);
	http_block(b);
	audit_block(b);
	portwing_block(b);
	if (ob.cfg->edge)
		edge_block(b);
	pgate_metrics(b);
	return b;
}

/*
 * Edge mode's metrics message (edge-protocol.md 5.5): the same host
 * figures as /metrics, with a CPU baseline of its own (0 the first time),
 * the CPUs the agent may run on, and the kernel's uptime.
 */
static json_t *
host_figures(struct cpuprev *cpuprev)
{
	struct sysinfo	si;
	uint64_t	mt, mu, dt, du, rx, tx;
	double		cpu = host_cpu_percent(cpuprev);

	host_memory(&mt, &mu);
	host_disk(&dt, &du);
	host_network(&rx, &tx);
	if (sysinfo(&si) == -1)
		si.uptime = 0;
	return json_pack("{s:f, s:i, s:I, s:I, s:I, s:I, s:I, s:I, s:I, "
	    "s:I, s:I}", "cpuUsage", cpu, "cpuCores", inventory_cpus(),
	    "memoryTotal", (json_int_t)mt, "memoryUsed", (json_int_t)mu,
	    "memoryFree", (json_int_t)(mt - mu),
	    "diskTotal", (json_int_t)dt, "diskUsed", (json_int_t)du,
	    "diskFree", (json_int_t)(dt - du),
	    "networkRxBytes", (json_int_t)rx, "networkTxBytes", (json_int_t)tx,
	    "uptime", (json_int_t)(si.uptime > 0 ? si.uptime : 0));
}

json_t *
observe_edge_metrics(void)
{
	return host_figures(&ob.edge_cpu);
}

/*
 * MCP's host_metrics: the same figures, sharing /metrics' CPU baseline
 * (the reference's choice): the usage since whichever asked last.
 */
json_t *
observe_host_metrics(void)
{
	return host_figures(&ob.cpu);
}

static void
serve_waiters(void)
{
	struct waiter	*wt;

	while ((wt = TAILQ_FIRST(&ob.waiters)) != NULL) {
		TAILQ_REMOVE(&ob.waiters, wt, entry);
		wt->done(wt->arg, render());
		free(wt);
	}
}

void
observe_metrics(observe_done done, void *arg)
{
	struct waiter	*wt;
	uint64_t	 age = pw_now_ms() - ob.cs_at_ms;

	if (ob.cs_at_ms != 0 && age < (uint64_t)ob.cfg->metrics_interval *
	    1000) {
		done(arg, render());
		return;
	}
	wt = xcalloc(1, sizeof(*wt));
	wt->done = done;
	wt->arg = arg;
	TAILQ_INSERT_TAIL(&ob.waiters, wt, entry);
	if (ob.collecting)
		return;
	ob.collecting = 1;
	(void)dclient_request("GET", "/containers/json", ob.cfg->request_timeout,
	    OBS_LIST_MAX, NULL, list_done, NULL);
}

/* ---- /_portwing/info ---- */

/* A Go time.Duration string: 1h2m3.004005006s, 42.131s, 500ms. */
static void
go_duration(double secs, char *buf, size_t sz)
{
	uint64_t	ns = (uint64_t)(secs * 1e9 + 0.5), h, m, s, frac;
	char		f[16];
	int		i;

	if (ns < 1000000000ULL) {
		snprintf(buf, sz, "%.9gms", (double)ns / 1e6);
		return;
	}
	h = ns / 3600000000000ULL;
	m = ns / 60000000000ULL % 60;
	s = ns / 1000000000ULL % 60;
	frac = ns % 1000000000ULL;
	f[0] = '\0';
	if (frac) {
		snprintf(f, sizeof(f), ".%09llu", (unsigned long long)frac);
		for (i = (int)strlen(f) - 1; f[i] == '0'; i--)
			f[i] = '\0';
	}
	if (h)
		snprintf(buf, sz, "%lluh%llum%llu%ss", (unsigned long long)h,
		    (unsigned long long)m, (unsigned long long)s, f);
	else if (m)
		snprintf(buf, sz, "%llum%llu%ss", (unsigned long long)m,
		    (unsigned long long)s, f);
	else
		snprintf(buf, sz, "%llu%ss", (unsigned long long)s, f);
}

static void
version_done(void *arg, int status, struct evbuffer *body, const char *err)
{
	struct waiter	*wt;
	json_t		*j = NULL, *o;
	const char	*ver = NULL;
	char		 up[64], *s;
	struct evbuffer	*out;

	ob.version_req = NULL;
	if (err == NULL && status == 200 && body != NULL)
		j = json_loadb((const char *)evbuffer_pullup(body, -1),
		    evbuffer_get_length(body), 0, NULL);
	ver = json_string_value(json_object_get(j, "Version"));
	go_duration(pw_wall_time() - ob.cfg->started, up, sizeof(up));
	/*
	 * Only what is served: compose (POST /_portwing/compose, with
	 * STACKS_DIR), exec (the Docker API's exec routes), metrics
	 * (/metrics), events (/events), mcp (POST /_portwing/mcp) and the
	 * adapter's routes (dockeragent: its whole API, one name).  Portwing
	 * lists compose always, and "events" twice for the generic adapter
	 * (tests/regress/t-capabilities.sh checks each entry against a
	 * route, in both adapters).
	 */
	o = json_pack("{s:s, s:s, s:[s,s,s,s], s:s, s:s, s:s, s:s, s:s}",
	    "agentId", ob.cfg->agent_id, "agentName", ob.cfg->agent_name,
	    "capabilities", "exec", "metrics", "events", "mcp",
	    "dockerVersion", ver != NULL ? ver : "unknown", "hostname",
	    ob.hostname, "mode", "standard", "uptime", up, "version",
	    PW_VERSION_STRING);
	if (o != NULL) {
		json_t *caps = json_object_get(o, "capabilities");
		if (ob.cfg->compose)
			json_array_insert_new(caps, 0, json_string("compose"));
		if (ob.cfg->generic) {
			json_array_append_new(caps, json_string("containers"));
			json_array_append_new(caps, json_string("logs"));
			json_array_append_new(caps, json_string("version"));
		} else if (ob.cfg->dagent) {
			json_array_append_new(caps, json_string(
			    "dockeragent"));
		} else {
			json_array_append_new(caps, json_string(
			    "dd:container-sync"));
			json_array_append_new(caps, json_string("dd:logs"));
		}
	}
	/* Edge mode serves what its hello names (edge/edge.c). */
	if (o != NULL && ob.cfg->edge) {
		json_object_set_new(o, "mode", json_string("edge"));
		json_object_set_new(o, "capabilities", json_pack("[s,s,s,s,s]",
		    "exec", "metrics", "events", "dd:container-sync",
		    "dd:logs"));
	}
	json_decref(j);
	s = o != NULL ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
	json_decref(o);
	while ((wt = TAILQ_FIRST(&ob.info_waiters)) != NULL) {
		TAILQ_REMOVE(&ob.info_waiters, wt, entry);
		out = evbuffer_new();
		evbuffer_add_printf(out, "%s\n", s != NULL ? s : "{}");
		wt->done(wt->arg, out);
		free(wt);
	}
	free(s);
}

void
observe_info(observe_done done, void *arg)
{
	struct waiter	*wt = xcalloc(1, sizeof(*wt));

	wt->done = done;
	wt->arg = arg;
	TAILQ_INSERT_TAIL(&ob.info_waiters, wt, entry);
	if (ob.version_req == NULL)
		ob.version_req = dclient_request("GET", "/version",
		    ob.cfg->request_timeout, 64 * 1024, NULL, version_done,
		    NULL);
}

/* A request went away while it waited here. */
static void
forget_in(struct waiter_list *l, void *arg)
{
	struct waiter	*wt, *next;

	for (wt = TAILQ_FIRST(l); wt != NULL; wt = next) {
		next = TAILQ_NEXT(wt, entry);
		if (wt->arg == arg) {
			TAILQ_REMOVE(l, wt, entry);
			free(wt);
		}
	}
}

void
observe_forget(void *arg)
{
	forget_in(&ob.waiters, arg);
	forget_in(&ob.info_waiters, arg);
}
