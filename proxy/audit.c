/*
 * audit.c (proxy): the audit trail.  One process owns it, so records
 * from every process land in one order with one sequence and are never
 * interleaved: workers, authd and the proxy itself hand records here
 * (common/auditrec.h).
 *
 * Every record gets the next sequence number (its export cursor) and goes
 * to two independent places:
 *   - the ring of AUDIT_BUFFER_SIZE records behind /_portwing/audit and
 *     /_portwing/audit/export (reference 11.3, 11.4);
 *   - the sink (AUDIT_LOG), one JSON line per record, written in batches
 *     (within 2 ms, or at 256 records waiting).  Each line ends with "seq", "prev" (the
 *     hash of the line before it in the file) and "hash", the SHA-256 of
 *     the line up to its hash member, so a deleted or edited line breaks
 *     the chain (`portwing audit-verify`).  When a write fails (disk full,
 *     sink gone) the records are dropped from the sink only: a partial
 *     line is truncated away, the drop is counted and logged at most once
 *     a minute, and the next line that is written declares the gap
 *     ("dropped": N), so the chain stays verifiable and honest.
 * A file sink is continued across restarts: the chain and the sequence
 * resume from its last line.
 */
#include "pwbuild.h"

#include <sys/stat.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "auditrec.h"
#include "ipc.h"
#include "config.h"
#include "log.h"
#include "proxy.h"
#include "pwcrypto.h"
#include "util.h"

#define AUDIT_TAIL_READ		(64 * 1024)
#define AUDIT_PENDING_MAX	4096	/* records waiting for the sink */
#define AUDIT_WARN_EVERY_MS	60000
#define AUDIT_FLUSH_US		2000	/* sink lines wait at most this */
#define AUDIT_FLUSH_BATCH	256	/* or until this many are waiting */

struct pending {
	uint64_t	 seq;
	char		*line;		/* the sink object, dumped, without
					   seq/prev/hash (ends in '}') */
};

#define AUDIT_SHAPES	32	/* sink objects kept for reuse */

static struct {
	struct event_base	*base;
	int			 capacity;
	uint8_t			**ring;		/* by seq % capacity: the record,
						   packed (ring_pack) */
	uint64_t		 next_seq;	/* the next record's cursor */
	uint64_t		 oldest;	/* oldest seq in the ring, 0: empty */
	int			 sink_enabled;	/* AUDIT_LOG is set */
	int			 fd;		/* the sink, -1: none (yet) */
	int			 is_file;
	char			 name[256];
	char			 prev[65];	/* hash of the last line written */
	uint64_t		 last_seq;	/* seq of the last line written */
	struct pending		*pend;
	size_t			 npend;
	struct event		*flush_ev;
	uint64_t		 warned_ms;
	struct audit_counters	 ctr;
	/* One sink object per record shape, refilled for each record. */
	struct {
		char		 shape[48];
		json_t		*o;
	}			 shapes[AUDIT_SHAPES];
	int			 nshapes;
	EVP_MD			*sha256;
	EVP_MD_CTX		*md;
} au;

static void	audit_flush(evutil_socket_t, short, void *);

void
audit_init(struct event_base *base, const struct pw_config *cfg)
{
	au.base = base;
	au.fd = -1;
	au.next_seq = 1;
	memset(au.prev, '0', 64);
	au.prev[64] = '\0';
	au.capacity = cfg->audit_buffer > 0 ? cfg->audit_buffer : 0;
	if (au.capacity > 0)
		au.ring = xcalloc((size_t)au.capacity, sizeof(*au.ring));
	au.sink_enabled = cfg->val[CK_AUDIT_LOG] != NULL &&
	    *cfg->val[CK_AUDIT_LOG] != '\0';
	au.pend = xcalloc(AUDIT_PENDING_MAX, sizeof(*au.pend));
	au.flush_ev = evtimer_new(base, audit_flush, NULL);
	if ((au.sha256 = EVP_MD_fetch(NULL, "SHA256", NULL)) == NULL ||
	    (au.md = EVP_MD_CTX_new()) == NULL)
		fatalx("audit: SHA-256 unavailable");
}

const struct audit_counters *
audit_counters(void)
{
	uint64_t	latest = au.next_seq - 1;

	au.ctr.capacity = (uint64_t)au.capacity;
	au.ctr.records = au.oldest == 0 ? 0 : latest - au.oldest + 1;
	au.ctr.sink_enabled = au.sink_enabled;
	return &au.ctr;
}

void
audit_export_outcome(int ok)
{
	if (ok)
		au.ctr.exports_ok++;
	else
		au.ctr.exports_err++;
}

/*
 * Continue the chain of an existing file: its last whole line gives the
 * sequence and the hash to follow.  A torn last line (a crash in the
 * middle of a write) is cut off first.
 */
static void
resume_chain(int fd)
{
	struct stat	 st;
	char		*buf, *end, *line;
	off_t		 from;
	ssize_t		 n;
	json_t		*j, *seq, *hash;

	if (fstat(fd, &st) == -1 || st.st_size == 0)
		return;
	from = st.st_size > AUDIT_TAIL_READ ? st.st_size - AUDIT_TAIL_READ : 0;
	buf = xmalloc(AUDIT_TAIL_READ + 1);
	if ((n = pread(fd, buf, (size_t)(st.st_size - from), from)) <= 0) {
		free(buf);
		return;
	}
	buf[n] = '\0';
	if (buf[n - 1] != '\n') {
		end = memrchr(buf, '\n', (size_t)n);
		off_t keep = end == NULL ? from : from + (end - buf) + 1;
		log_warnx("audit: %s ends in a partial line; cutting it off "
		    "(%lld bytes)", au.name, (long long)(st.st_size - keep));
		if (ftruncate(fd, keep) == -1)
			log_warn("audit: truncating %s", au.name);
		if (end == NULL) {
			free(buf);
			return;
		}
		n = end - buf + 1;
		buf[n] = '\0';
	}
	buf[n - 1] = '\0';
	line = strrchr(buf, '\n');
	line = line == NULL ? buf : line + 1;
	if ((j = json_loads(line, 0, NULL)) != NULL) {
		seq = json_object_get(j, "seq");
		hash = json_object_get(j, "hash");
		if (json_is_integer(seq) && json_integer_value(seq) > 0 &&
		    json_is_string(hash) && strlen(json_string_value(hash))
		    == 64 && (uint64_t)json_integer_value(seq) >= au.next_seq) {
			au.next_seq = (uint64_t)json_integer_value(seq) + 1;
			au.last_seq = au.next_seq - 1;
			pw_strlcpy(au.prev, json_string_value(hash),
			    sizeof(au.prev));
			log_info("audit: continuing the chain of %s after seq "
			    "%llu", au.name, (unsigned long long)(au.next_seq - 1));
		}
		json_decref(j);
	} else
		log_warnx("audit: the last line of %s is not a record; a new "
		    "chain starts", au.name);
	free(buf);
}

/* The sink from the master: at start and after each SIGHUP (rotation). */
void
audit_set_sink(int fd, int is_file, const char *name)
{
	if (au.fd != -1) {
		audit_flush(-1, 0, NULL);
		log_info("audit: chain anchor: %s ends at seq %llu, hash %s",
		    au.name, (unsigned long long)(au.next_seq - 1), au.prev);
		close(au.fd);
	}
	au.fd = fd;
	au.is_file = is_file;
	pw_strlcpy(au.name, name, sizeof(au.name));
	if (is_file && au.next_seq == 1)
		resume_chain(fd);
}

void
audit_anchor(void)
{
	audit_flush(-1, 0, NULL);
	if (au.fd != -1)
		log_info("audit: chain anchor: %s ends at seq %llu, hash %s",
		    au.name, (unsigned long long)(au.next_seq - 1), au.prev);
}

/* Strings from the network may be anything: JSON wants UTF-8. */
static json_t *
jstring(const char *s)
{
	json_t	*v;
	char	 vis[AUDIT_PATH_MAX * 4];

	if ((v = json_string(s)) != NULL)
		return v;
	log_vis(vis, sizeof(vis), s, strlen(s));
	return json_string(vis);
}

/*
 * A sink value: CR and LF become the two characters \r and \n (reference
 * 11.2), so a value reads back as one line even where JSON escapes are
 * undone; the ring keeps the raw value.  An existing member (a reused
 * object) is overwritten in place, which keeps its position.
 */
static void
put_str(json_t *o, const char *k, const char *v, int san)
{
	char	 buf[AUDIT_PATH_MAX * 2 + 1], vis[AUDIT_PATH_MAX * 4];
	json_t	*j;
	size_t	 n = 0;

	if (san && strpbrk(v, "\r\n") != NULL) {
		for (; *v != '\0' && n + 2 < sizeof(buf); v++) {
			if (*v == '\r' || *v == '\n') {
				buf[n++] = '\\';
				buf[n++] = *v == '\r' ? 'r' : 'n';
			} else
				buf[n++] = *v;
		}
		buf[n] = '\0';
		v = buf;
	}
	if ((j = json_object_get(o, k)) == NULL) {
		json_object_set_new(o, k, jstring(v));
		return;
	}
	if (json_string_set(j, v) == -1) {
		log_vis(vis, sizeof(vis), v, strlen(v));
		json_string_set(j, vis);
	}
}

static void
put_int(json_t *o, const char *k, json_int_t v)
{
	json_t	*j = json_object_get(o, k);

	if (j == NULL)
		json_object_set_new(o, k, json_integer(v));
	else
		json_integer_set(j, v);
}

static void
put_real(json_t *o, const char *k, double v)
{
	json_t	*j = json_object_get(o, k);

	if (j == NULL)
		json_object_set_new(o, k, json_real(v));
	else
		json_real_set(j, v);
}

/*
 * The sink line of a record, dumped: its fields in the reference's order
 * for its event.  Records of one shape (event and optional members) reuse
 * one object, so a record costs a refill and a dump.
 */
static char *
sink_line(const struct audit_rec *r, const char *ts, int san)
{
	json_t	*o = NULL;
	char	 shape[64], *line;
	int	 ev_api = strcmp(r->event, "api_request") == 0, i, temp = 0;
	int	 fresh = 0;
	int	 st = ev_api || r->status != 0;
	int	 du = ev_api || r->has_duration;

	snprintf(shape, sizeof(shape), "%s/%d%d%d%d%d%d%d%d", r->event, st, du,
	    *r->reason != '\0', *r->key_id != '\0', *r->principal != '\0',
	    r->has_rule, *r->profile != '\0', r->has_size);
	for (i = 0; i < au.nshapes && o == NULL; i++)
		if (strcmp(au.shapes[i].shape, shape) == 0)
			o = au.shapes[i].o;
	if (o == NULL) {
		o = json_object();
		fresh = 1;
		if (au.nshapes < AUDIT_SHAPES) {
			pw_strlcpy(au.shapes[au.nshapes].shape, shape,
			    sizeof(au.shapes[0].shape));
			au.shapes[au.nshapes++].o = o;
		} else
			temp = 1;
	}
	put_str(o, "time", ts, san);
	if (fresh) {
		/* The same in every record of a shape. */
		put_str(o, "level", "INFO", san);
		put_str(o, "msg", "", san);
		put_str(o, "event", r->event, san);
	}
	put_str(o, "actor", r->actor, san);
	if (strcmp(r->event, "compose_op") == 0) {
		put_str(o, "operation", r->operation, san);
		put_str(o, "stack", r->stack, san);
	} else if (strcmp(r->event, "exec_start") == 0) {
		put_str(o, "container", r->container, san);
		put_str(o, "exec_id", r->exec_id, san);
	} else if (strcmp(r->event, "enrollment") == 0) {
		if (*r->key_id != '\0')
			put_str(o, "key_id", r->key_id, san);
	} else {
		put_str(o, "method", r->method, san);
		put_str(o, "path", r->path, san);
	}
	/* file_write: what was written, after the file's path. */
	if (r->has_size) {
		put_int(o, "size", (long long)r->size);
		put_str(o, "sha256", r->sha256, san);
	}
	put_str(o, "outcome", r->outcome, san);
	if (st)
		put_int(o, "status", r->status);
	if (du)
		put_real(o, "duration_ms", r->duration_ms);
	if (*r->reason != '\0')
		put_str(o, "reason", r->reason, san);
	/* Portwing's own members, after the reference's: who it was. */
	if (*r->principal != '\0')
		put_str(o, "principal", r->principal, san);
	if (*r->key_id != '\0' && strcmp(r->event, "enrollment") != 0)
		put_str(o, "key_id", r->key_id, san);
	/* The policy's decision: which profile, which rule (-1: none). */
	if (*r->profile != '\0')
		put_str(o, "profile", r->profile, san);
	if (r->has_rule)
		put_int(o, "rule", r->rule);
	line = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(12));
	if (temp)
		json_decref(o);
	return line;
}

/* Does a record hold a value the sink must write differently? */
static int
needs_sanitising(const struct audit_rec *r)
{
	const char *const v[] = { r->actor, r->method, r->path, r->outcome,
	    r->operation, r->stack, r->container, r->exec_id, r->key_id,
	    r->reason, r->principal, r->profile, r->sha256 };
	size_t	i;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		if (strpbrk(v[i], "\r\n") != NULL)
			return 1;
	return 0;
}

/*
 * The ring keeps each record packed: its fields as length-prefixed
 * strings and numbers (common/ipc.h's writer), a u32 length in front.
 * Every proxied request makes a record and few are ever read, so the
 * JSON is made when a query asks for it, not per request: packing is a
 * few copies, where the sink object cost a refill of jansson strings, a
 * dump and a formatted time.
 */
static uint8_t *
ring_pack(const struct audit_rec *r)
{
	struct ipc_wr	 w;
	uint8_t		*blob;
	uint32_t	 n;

	ipc_wr_init(&w);
	/* The proxy's own members and the duration as it was measured,
	 * then the record as it travels between processes. */
	ipc_wr_bytes(&w, &r->duration_ms, sizeof(r->duration_ms));
	ipc_wr_u32(&w, (uint32_t)r->has_rule);
	ipc_wr_u32(&w, (uint32_t)r->rule);
	ipc_wr_str(&w, r->profile);
	audit_rec_put(&w, r);
	n = (uint32_t)w.len;
	blob = xmalloc(sizeof(n) + n);
	memcpy(blob, &n, sizeof(n));
	memcpy(blob + sizeof(n), w.buf, n);
	ipc_wr_free(&w);
	return blob;
}

static void
ring_unpack(const uint8_t *blob, struct audit_rec *r)
{
	struct ipc_msg	m;
	struct ipc_rd	rd;
	uint32_t	n;
	double		ms;
	int		has_rule, rule;
	char		profile[sizeof(r->profile)];

	memcpy(&n, blob, sizeof(n));
	memset(&m, 0, sizeof(m));
	m.hdr.len = n;
	m.data = blob + sizeof(n);
	ipc_rd_init(&rd, &m);
	ipc_rd_bytes(&rd, &ms, sizeof(ms));
	has_rule = (int)ipc_rd_u32(&rd);
	rule = (int)ipc_rd_u32(&rd);
	ipc_rd_str(&rd, profile, sizeof(profile));
	if (audit_rec_get(&rd, r) == -1)	/* to the end of the blob */
		fatalx("audit: a ring record does not unpack");
	r->duration_ms = ms;
	r->has_rule = has_rule;
	r->rule = rule;
	pw_strlcpy(r->profile, profile, sizeof(r->profile));
}

/*
 * A query turns a ring record into the ring format: cursor, ts, event,
 * then the non-empty fields (reference 11.2), by way of its sink object
 * with raw values.
 */
static json_t *
ring_at(uint64_t seq)
{
	static const char *const order[] = { "actor", "method", "path",
	    "size", "sha256", "outcome", "status", "duration_ms", "operation",
	    "stack", "container", "exec_id", "key_id", "reason", "principal",
	    "profile", "rule" };
	json_t		*in, *o = json_object(), *v;
	struct audit_rec rec;
	char		 ts[64], *line;
	size_t		 i;

	ring_unpack(au.ring[seq % (uint64_t)au.capacity], &rec);
	audit_time(rec.ts_ns, ts, sizeof(ts));
	if ((line = sink_line(&rec, ts, 0)) == NULL)
		fatalx("audit: out of memory");
	in = json_loads(line, 0, NULL);
	free(line);
	json_object_set_new(o, "cursor", json_integer((json_int_t)seq));
	json_object_set(o, "ts", json_object_get(in, "time"));
	json_object_set(o, "event", json_object_get(in, "event"));
	for (i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		v = json_object_get(in, order[i]);
		if (v == NULL || (json_is_string(v) &&
		    *json_string_value(v) == '\0') ||
		    (json_is_number(v) && json_number_value(v) == 0 &&
		    strcmp(order[i], "rule") != 0))
			continue;
		json_object_set(o, order[i], v);
	}
	json_decref(in);
	return o;
}

static void
sink_failed(const char *why, uint64_t n)
{
	uint64_t	now = pw_now_ms();

	au.ctr.dropped += n;
	if (au.warned_ms == 0 || now - au.warned_ms >= AUDIT_WARN_EVERY_MS) {
		au.warned_ms = now;
		log_warnx("audit: cannot write to %s: %s; %llu record(s) not "
		    "written so far (they stay in the ring)", au.name, why,
		    (unsigned long long)au.ctr.dropped);
	}
}

void
audit_add(const struct audit_rec *r)
{
	char		 ts[64];
	uint64_t	 seq = au.next_seq++;
	char		*line = NULL;

	au.ctr.total++;
	if (au.capacity > 0) {
		uint8_t **slot = &au.ring[seq % (uint64_t)au.capacity];
		if (*slot != NULL) {
			free(*slot);
			au.oldest++;
		}
		*slot = ring_pack(r);
		if (au.oldest == 0)
			au.oldest = seq;
	}
	if (!au.sink_enabled)
		return;
	if (au.npend == AUDIT_PENDING_MAX) {
		/* The sink is far behind: this one is not written. */
		sink_failed("too many records waiting", 1);
		return;
	}
	audit_time(r->ts_ns, ts, sizeof(ts));
	if ((line = sink_line(r, ts, needs_sanitising(r))) == NULL)
		fatalx("audit: out of memory");
	au.pend[au.npend].line = line;
	au.pend[au.npend].seq = seq;
	if (++au.npend >= AUDIT_FLUSH_BATCH)
		event_active(au.flush_ev, EV_TIMEOUT, 0);
	else if (au.npend == 1) {
		struct timeval tv = { 0, AUDIT_FLUSH_US };
		evtimer_add(au.flush_ev, &tv);
	}
}

/*
 * One finished line: the dumped object without its closing brace, then
 * seq, the declared gap and prev (numbers and hex digits), then the hash
 * of all that.  Appended to out.
 */
static void
finish_line(struct evbuffer *out, const char *obj, uint64_t seq,
    uint64_t dropped, const char *prev, char hash[65])
{
	char		 tail[160];
	uint8_t		 d[32];
	size_t		 n = strlen(obj) - 1, tl;
	unsigned int	 dl = 0;

	if (dropped > 0)
		tl = (size_t)snprintf(tail, sizeof(tail), ",\"seq\":%llu,"
		    "\"dropped\":%llu,\"prev\":\"%s\"", (unsigned long long)seq,
		    (unsigned long long)dropped, prev);
	else
		tl = (size_t)snprintf(tail, sizeof(tail), ",\"seq\":%llu,"
		    "\"prev\":\"%s\"", (unsigned long long)seq, prev);
	if (!EVP_DigestInit_ex2(au.md, au.sha256, NULL) ||
	    !EVP_DigestUpdate(au.md, obj, n) ||
	    !EVP_DigestUpdate(au.md, tail, tl) ||
	    !EVP_DigestFinal_ex(au.md, d, &dl) || dl != sizeof(d))
		fatalx("audit: SHA-256 failed");
	pw_hex_encode(d, sizeof(d), hash, 65);
	evbuffer_add(out, obj, n);
	evbuffer_add(out, tail, tl);
	evbuffer_add_printf(out, ",\"hash\":\"%s\"}\n", hash);
}

/* Write what is pending, as one write where possible. */
static void
audit_flush(evutil_socket_t fd, short ev, void *arg)
{
	static char	 hashes[AUDIT_PENDING_MAX][65];
	static size_t	 ends[AUDIT_PENDING_MAX];
	static uint64_t	 seqs[AUDIT_PENDING_MAX];
	struct evbuffer	*out;
	char		 prev[65];
	size_t		 i, n = au.npend, total;
	uint64_t	 last_seq = au.last_seq;
	off_t		 base = 0;
	ssize_t		 w;
	size_t		 off = 0;
	int		 err = 0;

	if (n == 0)
		return;
	au.npend = 0;
	if (au.fd == -1) {
		for (i = 0; i < n; i++)
			free(au.pend[i].line);
		sink_failed("the sink is not open", n);
		return;
	}
	out = evbuffer_new();
	pw_strlcpy(prev, au.prev, sizeof(prev));
	for (i = 0; i < n; i++) {
		/* Records between this line and the last one: not written. */
		uint64_t gap = au.pend[i].seq - last_seq - 1;
		finish_line(out, au.pend[i].line, au.pend[i].seq, gap, prev,
		    hashes[i]);
		free(au.pend[i].line);
		last_seq = seqs[i] = au.pend[i].seq;
		ends[i] = evbuffer_get_length(out);
		pw_strlcpy(prev, hashes[i], sizeof(prev));
	}
	total = evbuffer_get_length(out);
	if (au.is_file)
		base = lseek(au.fd, 0, SEEK_END);
	{
		const char *p = (const char *)evbuffer_pullup(out, -1);
		while (off < total) {
			w = write(au.fd, p + off, total - off);
			if (w > 0) {
				off += (size_t)w;
				continue;
			}
			if (w == -1 && errno == EINTR)
				continue;
			err = w == 0 ? ENOSPC : errno;
			break;
		}
	}
	evbuffer_free(out);
	/* Lines written whole continue the chain; the rest are dropped. */
	for (i = 0; i < n && ends[i] <= off; i++) {
		pw_strlcpy(au.prev, hashes[i], sizeof(au.prev));
		au.last_seq = seqs[i];
	}
	if (i < n) {
		size_t keep = i == 0 ? 0 : ends[i - 1];
		if (off > keep && au.is_file && base != (off_t)-1 &&
		    ftruncate(au.fd, base + (off_t)keep) == -1)
			log_warn("audit: cutting a partial line off %s",
			    au.name);
		sink_failed(strerror(err), n - i);
	}
}

/* ---- queries ---- */

static int
query_value(const char *q, const char *key, char *out, size_t outsz,
    int *present)
{
	size_t	kl = strlen(key);

	*present = 0;
	out[0] = '\0';
	while (q != NULL && *q != '\0') {
		size_t n = strcspn(q, "&");
		if (strncmp(q, key, kl) == 0 && (q[kl] == '=' || q[kl] == '&' ||
		    q[kl] == '\0')) {
			const char *v = q[kl] == '=' ? q + kl + 1 : q + kl;
			size_t vl = n - (size_t)(v - q);
			*present = 1;
			if (vl >= outsz)
				vl = outsz - 1;
			memcpy(out, v, vl);
			out[vl] = '\0';
			return 0;
		}
		q += n;
		if (*q == '&')
			q++;
	}
	return 0;
}

static int
parse_u64(const char *s, uint64_t *v)
{
	char	*end;

	if (*s == '\0' || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno != 0 || *end != '\0' ? -1 : 0;
}

/* GET /_portwing/audit[?limit=N]: newest first. */
void
audit_list(const char *query, struct evbuffer *body)
{
	json_t		*o = json_object(), *arr = json_array();
	char		 v[32], *s;
	uint64_t	 limit = 0, seq;
	int		 present;

	query_value(query, "limit", v, sizeof(v), &present);
	if (present && parse_u64(v, &limit) == -1)
		limit = 0;
	if (au.oldest != 0)
		for (seq = au.next_seq - 1; seq >= au.oldest; seq--) {
			json_array_append_new(arr, ring_at(seq));
			if ((limit > 0 && json_array_size(arr) >= limit) ||
			    seq == au.oldest)
				break;
		}
	json_object_set_new(o, "records", arr);
	json_object_set_new(o, "count", json_integer((json_int_t)
	    json_array_size(arr)));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER |
	    JSON_REAL_PRECISION(12));
	evbuffer_add_printf(body, "%s\n", s);
	free(s);
	json_decref(o);
}

/*
 * GET /_portwing/audit/export[?cursor=C][&limit=N] (reference 11.4).
 * Fills hdrs (header lines) and body; returns the status.
 */
int
audit_export(const char *query, struct evbuffer *hdrs, struct evbuffer *body)
{
	char		 v[64], *s;
	uint64_t	 cursor = 0, limit = 0, latest = au.next_seq - 1;
	uint64_t	 oldest = au.oldest, seq, next, count = 0;
	int		 has_cursor, has_limit;

	query_value(query, "cursor", v, sizeof(v), &has_cursor);
	if (has_cursor && parse_u64(v, &cursor) == -1) {
		evbuffer_add_printf(body, "invalid cursor\n");
		return 400;
	}
	query_value(query, "limit", v, sizeof(v), &has_limit);
	if (has_limit && *v != '\0' && parse_u64(v, &limit) == -1) {
		evbuffer_add_printf(body, "invalid limit\n");
		return 400;
	}
	if (has_limit && *v == '\0') {
		evbuffer_add_printf(body, "invalid limit\n");
		return 400;
	}
	evbuffer_add_printf(hdrs, "X-Portwing-Oldest-Cursor: %llu\r\n"
	    "X-Portwing-Latest-Cursor: %llu\r\n", (unsigned long long)oldest,
	    (unsigned long long)latest);
	if (has_cursor && au.capacity == 0 && cursor > 0) {
		evbuffer_add_printf(hdrs, "X-Portwing-Next-Cursor: 0\r\n");
		evbuffer_add_printf(body, "audit cursor is newer than the "
		    "current buffer generation\n");
		return 409;
	}
	if (has_cursor && oldest > 0 && cursor < oldest - 1) {
		evbuffer_add_printf(hdrs, "X-Portwing-Next-Cursor: %llu\r\n",
		    (unsigned long long)(oldest - 1));
		evbuffer_add_printf(body, "audit cursor is older than the "
		    "retained buffer\n");
		return 409;
	}
	if (has_cursor && cursor > latest) {
		evbuffer_add_printf(hdrs, "X-Portwing-Next-Cursor: %llu\r\n",
		    (unsigned long long)(oldest > 0 ? oldest - 1 : 0));
		evbuffer_add_printf(body, "audit cursor is newer than the "
		    "current buffer generation\n");
		return 409;
	}
	next = cursor;
	if (oldest > 0) {
		seq = has_cursor ? cursor + 1 : oldest;
		if (seq < oldest)
			seq = oldest;
		for (; seq <= latest && (limit == 0 || count < limit); seq++) {
			json_t *rec = ring_at(seq);
			s = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER |
			    JSON_REAL_PRECISION(12));
			json_decref(rec);
			evbuffer_add_printf(body, "%s\n", s);
			free(s);
			next = seq;
			count++;
		}
	}
	evbuffer_add_printf(hdrs, "Content-Type: application/x-ndjson\r\n"
	    "X-Portwing-Next-Cursor: %llu\r\nX-Portwing-Record-Count: %llu\r\n",
	    (unsigned long long)next, (unsigned long long)count);
	return 200;
}
