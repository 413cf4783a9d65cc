/*
 * pgate.c: the proxy's policy gate (see pgate.h and DESIGN.md, "The
 * policy engine").
 *
 * The rules are a pure function of the profile, the method and the
 * normalised path, so they are applied here, where the request Docker
 * receives is formed: the path judged is the path forwarded.  The profile
 * comes from the approval, whose MAC binds what authd authenticated, so a
 * worker cannot pick it.  Bodies are never parsed here: an endpoint with
 * an inspector has its body spooled into a memfd, sealed, and judged by
 * policyd; the proxy then sends that same memfd.
 */
#include "pwbuild.h"

#include <sys/mman.h>
#include <sys/queue.h>

#include <ctype.h>
#include <stdio.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>

#include "inspect.h"
#include "ipc.h"
#include "log.h"
#include "owner.h"
#include "pgate.h"
#include "pmsg.h"
#include "presp.h"
#include "redact.h"
#include "pwcrypto.h"
#include "util.h"

#define PGATE_TIMEOUT_S		10
#define PGATE_STREAM_TIMEOUT_S	60	/* build and plugin archives */
#define PGATE_MAX_COUNTERS	512
#define PGATE_MAX_CLIENTS	4096	/* rate and in-flight state kept */

/*
 * limits: a token bucket and an in-flight count per client of a profile
 * (principal and address, as authd bound them).  Bounded: when the table
 * is full, the least recently seen client with nothing in flight goes.
 */
struct client_limit {
	char		 key[POL_NAME_MAX + APPROVAL_PRINCIPAL_MAX +
			    APPROVAL_ACTOR_MAX + 3];
	double		 tokens;
	uint64_t	 at_ms;
	long		 inflight;
	int		 used;
};

struct pending {
	TAILQ_ENTRY(pending)	 entry;
	uint32_t		 id;
	uint32_t		 gen;
	uint8_t			 digest[32];
	int			 outfd;		/* for a stamped body, -1: none */
	int			 ofilter;	/* a filter query, not a body */
	struct pgate_req	*g;
	pgate_cb		 cb;
	void			*arg;
	struct event		*timer;
};

static struct {
	struct event_base	*base;
	int			 expected;	/* a policy is configured */
	struct policy		*pol;
	uint32_t		 gen;
	struct ipc_chan		*chan;		/* to policyd */
	uint32_t		 seq;
	TAILQ_HEAD(, pending)	 pending;
	struct counter {
		char		 profile[POL_NAME_MAX];
		int		 rule;
		int		 outcome;
		uint64_t	 n;
	}			 ctr[PGATE_MAX_COUNTERS];
	int			 nctr;
	uint64_t		 ctr_lost;
	struct client_limit	 lim[PGATE_MAX_CLIENTS];
} pg;

static const struct ipc_perm perms_policyd[] = {
	{ IPC_D_VERDICT, 4 + 4 + 4 + 32, 4 + 4 + 4 + 256 + 32, 0 },
	{ IPC_D_STAMPED, 4 + 4 + 4 + 32 + 32 + 8, 4 + 4 + 4 + 256 + 32 + 32 + 8,
	    0 },
	{ IPC_D_FILTER, 4 + 4 + 4 + 4, 4 + 4 + 4 + 256 + 4 + IPC_MAX_OQUERY, 0 },
	{ IPC_D_REFS, 4 + 12, 4 + OWNER_REFS_MAX * (12 + OWNER_REF_MAX), 0 },
	{ IPC_D_RESPONSE, 4 + 4 + 4 + 32 + 8 + 32,
	    4 + 4 + 4 + 256 + 32 + 8 + 32, 0 },
};

void
pgate_init(struct event_base *base, int expected)
{
	pg.base = base;
	pg.expected = expected;
	TAILQ_INIT(&pg.pending);
}

/*
 * With a policy configured every request goes through the gate, even
 * before the policy has arrived (it is then refused: fail closed).
 */
int
pgate_active(void)
{
	return pg.expected || pg.pol != NULL;
}

void
pgate_policy_msg(struct ipc_msg *m)
{
	struct policy	*p;
	char		 err[512];
	uint32_t	 gen;

	p = policy_msg_load(m, &gen, err, sizeof(err));
	close(m->fd);
	if (p == NULL)
		fatalx("policy from master: %s", err);
	policy_free(pg.pol);
	pg.pol = p;
	pg.gen = gen;
	log_info("policy %s in force (generation %u, %zu root rule(s), %zu "
	    "profile(s))", p->source, gen, p->rules.n, p->nprofiles);
}

static void
pending_end(struct pending *pe, int status, const char *reason)
{
	TAILQ_REMOVE(&pg.pending, pe, entry);
	if (pe->timer != NULL)
		event_free(pe->timer);
	if (pe->outfd != -1)
		close(pe->outfd);
	pe->cb(pe->arg, status, reason);
	free(pe);
}

static void
pending_fail_all(const char *why)
{
	struct pending	*pe;

	while ((pe = TAILQ_FIRST(&pg.pending)) != NULL)
		pending_end(pe, 503, why);
}

/* IPC_D_REFS: what a create body refers to, kept for the proxy. */
static int
refs_msg(struct ipc_msg *m)
{
	struct ipc_rd		 rd;
	struct pending		*pe;
	struct owner_ref	*refs;
	uint32_t		 n, i;

	ipc_rd_init(&rd, m);
	n = ipc_rd_u32(&rd);
	if (n == 0 || n > OWNER_REFS_MAX)
		return -1;
	refs = xcalloc(n, sizeof(*refs));
	for (i = 0; i < n; i++) {
		refs[i].kind = (int)ipc_rd_u32(&rd);
		refs[i].flags = (int)ipc_rd_u32(&rd);
		ipc_rd_str(&rd, refs[i].id, sizeof(refs[i].id));
		if (refs[i].kind <= OWK_NONE || refs[i].kind > OWK_MAX ||
		    (refs[i].flags & ~OWNER_REF_NS) != 0 ||
		    refs[i].id[0] == '\0')
			break;
	}
	if (i < n || ipc_rd_end(&rd) == -1) {
		free(refs);
		return -1;
	}
	TAILQ_FOREACH(pe, &pg.pending, entry)
		if (pe->id == m->hdr.id)
			break;
	if (pe == NULL || pe->g->refs != NULL || (pe->outfd == -1 &&
	    !(pe->g->ophase && pe->g->ckind == OWK_EXEC && n == 1 &&
	    refs[0].kind == OWK_CONTAINER))) {
		free(refs);
		return pe == NULL ? 0 : -1;
	}
	pe->g->refs = refs;
	pe->g->nrefs = n;
	pe->g->refi = 0;
	return 0;
}

static void
verdict_msg(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	struct ipc_rd	 rd;
	struct pending	*pe;
	char		 reason[257];
	uint8_t		 digest[32], dout[32];
	uint32_t	 gen, status;
	uint64_t	 outlen = 0;
	int		 stamped = m->hdr.type == IPC_D_STAMPED;
	int		 filter = m->hdr.type == IPC_D_FILTER;
	char		*q = NULL;

	if (m->hdr.type == IPC_D_REFS) {
		if (refs_msg(m) == -1) {
			log_warnx("policyd sent malformed references; dropping "
			    "its channel");
			ipc_chan_free(pg.chan);
			pg.chan = NULL;
			pending_fail_all("the policy process is unavailable");
		}
		return;
	}

	if (m->hdr.type == IPC_D_RESPONSE) {
		presp_msg(m);
		return;
	}
	ipc_rd_init(&rd, m);
	gen = ipc_rd_u32(&rd);
	status = ipc_rd_u32(&rd);
	ipc_rd_str(&rd, reason, sizeof(reason));
	if (filter) {
		memset(digest, 0, sizeof(digest));
		if ((q = ipc_rd_strdup(&rd, IPC_MAX_OQUERY)) == NULL)
			status = 1;	/* malformed, below */
	} else
		ipc_rd_bytes(&rd, digest, sizeof(digest));
	if (stamped) {
		ipc_rd_bytes(&rd, dout, sizeof(dout));
		outlen = ipc_rd_u64(&rd);
	}
	if (ipc_rd_end(&rd) == -1 || (stamped && status != 0) ||
	    (status != 0 && (status < 400 ||
	    status > 599))) {
		log_warnx("policyd sent a malformed verdict; dropping its "
		    "channel");
		free(q);
		ipc_chan_free(pg.chan);
		pg.chan = NULL;
		pending_fail_all("the policy process is unavailable");
		presp_fail_all("the policy process is unavailable");
		return;
	}
	TAILQ_FOREACH(pe, &pg.pending, entry)
		if (pe->id == m->hdr.id)
			break;
	if (pe == NULL) {
		free(q);
		return;		/* the request is gone */
	}
	if (filter || pe->ofilter) {
		if (status == 0 && (!filter || !pe->ofilter || gen != pe->gen ||
		    !powner_query_ok(q))) {
			log_error("policyd's filter answer on request %u does "
			    "not match the request or is not a valid query; "
			    "refused", m->hdr.id);
			free(q);
			pending_end(pe, 403, "the verdict does not match the "
			    "request");
			return;
		}
		if (status == 0) {
			free(pe->g->fwd_new);
			pe->g->fwd_new = policy_forward_target(pe->g->vprefix,
			    pe->g->npath, q);
		}
		free(q);
		pending_end(pe, (int)status, reason);
		return;
	}
	if (status == 0 && (gen != pe->gen ||
	    !pw_ct_equal(digest, pe->digest, sizeof(digest)))) {
		log_error("policyd's verdict on request %u does not match the "
		    "body or the policy it was asked about; refused",
		    m->hdr.id);
		pending_end(pe, 403, "the verdict does not match the request");
		return;
	}
	if (status == 0 && (pe->outfd != -1) != stamped) {
		/* A stamped body must come back stamped, and only then. */
		log_error("policyd's verdict on request %u is %sstamped, "
		    "unlike the request; refused", m->hdr.id, stamped ? "" :
		    "not ");
		pending_end(pe, 403, "the verdict does not match the request");
		return;
	}
	if (stamped) {
		if (powner_out_check(pe->outfd, outlen, dout) == -1) {
			log_error("policyd's stamped body for request %u does "
			    "not match its verdict; refused", m->hdr.id);
			pending_end(pe, 403, "the verdict does not match the "
			    "request");
			return;
		}
		pe->g->has_out = 1;
		pe->g->out_fd = pe->outfd;
		pe->g->out_len = outlen;
		pe->outfd = -1;
	}
	pending_end(pe, (int)status, reason);
}

static void
chan_closed(struct ipc_chan *ch, void *arg)
{
	if (pg.chan == ch)
		pg.chan = NULL;
	ipc_chan_free(ch);
	pending_fail_all("the policy process is unavailable");
	presp_fail_all("the policy process is unavailable");
}

void
pgate_chan(int fd)
{
	if (pg.chan != NULL) {
		ipc_chan_free(pg.chan);
		pending_fail_all("the policy process restarted");
		presp_fail_all("the policy process restarted");
	}
	pg.chan = ipc_chan_new(pg.base, fd, "policyd", perms_policyd,
	    nitems(perms_policyd), verdict_msg, chan_closed, NULL);
}

/*
 * The client's entry, made on first use.  NULL only when every entry has
 * a request in flight (the request is then refused like a full cap).
 */
static struct client_limit *
limit_entry(const char *key)
{
	struct client_limit	*l, *free_ = NULL, *old = NULL;
	int			 i;

	for (i = 0; i < PGATE_MAX_CLIENTS; i++) {
		l = &pg.lim[i];
		if (l->used && strcmp(l->key, key) == 0)
			return l;
		if (!l->used) {
			if (free_ == NULL)
				free_ = l;
		} else if (l->inflight == 0 && (old == NULL ||
		    l->at_ms < old->at_ms))
			old = l;
	}
	if ((l = free_ != NULL ? free_ : old) == NULL)
		return NULL;
	memset(l, 0, sizeof(*l));
	l->used = 1;
	l->tokens = -1;		/* full at first use */
	pw_strlcpy(l->key, key, sizeof(l->key));
	return l;
}

/*
 * The profile's limits for this client: 0 and a slot held when admitted,
 * else 429 with *why (and g->retry_after for the rate limit).  Like
 * sockguard, this comes before the rules: refused probes spend tokens.
 */
static int
limits_admit(struct pgate_req *g, const struct pol_profile *pf,
    const struct approval *ap, const char *method, const char *npath,
    const char **why)
{
	struct client_limit	*l;
	char			 key[sizeof(l->key)];
	uint64_t		 now = pw_now_ms();
	double			 cost;

	g->limit_slot = 0;
	if (pf == NULL || (pf->rate <= 0 && pf->max_inflight <= 0))
		return 0;
	snprintf(key, sizeof(key), "%s|%s|%s", pf->name, ap->principal,
	    ap->actor);
	if ((l = limit_entry(key)) == NULL) {
		*why = "concurrency_cap";
		return -1;
	}
	if (pf->rate > 0) {
		if (l->tokens < 0)
			l->tokens = pf->burst;
		else {
			l->tokens += (double)(now - l->at_ms) * pf->rate /
			    1000.0;
			if (l->tokens > pf->burst)
				l->tokens = pf->burst;
		}
		l->at_ms = now;
		cost = policy_cost(pf, method, npath);
		if (l->tokens < cost) {
			g->retry_after = (int)((cost - l->tokens) / pf->rate +
			    0.999);
			if (g->retry_after < 1)
				g->retry_after = 1;
			*why = "rate_limit_exceeded";
			return -1;
		}
		l->tokens -= cost;
	}
	l->at_ms = now;
	if (pf->max_inflight > 0 && l->inflight >= pf->max_inflight) {
		*why = "concurrency_cap";
		return -1;
	}
	l->inflight++;
	g->limit_slot = (int)(l - pg.lim) + 1;
	return 0;
}

/* Split "path?query" (query may be absent). */
static void
split_target(const char *target, char **path, char **query)
{
	const char	*q = strchr(target, '?');

	if (q == NULL) {
		*path = xstrdup(target);
		*query = NULL;
	} else {
		*path = xstrndup(target, (size_t)(q - target));
		*query = xstrdup(q + 1);
	}
}

static char *
message_body(const char *msg)
{
	char	*b;

	if (asprintf(&b, "{\"message\":\"%s\"}\n", msg) == -1)
		fatal("asprintf");
	return b;
}

enum pgate_verdict
pgate_judge(struct pgate_req *g, const char *method, const char *target,
    const struct approval *ap, const char *regauth, char **fwd, int *status,
    char **body, char *why, size_t whysz)
{
	const struct pol_profile *prof;
	struct pol_decision	 d;
	char			 m[32], vprefix[32], *path = NULL, *query = NULL;
	char			 npath[POL_PATH_MAX];
	const char		*nwhy = NULL, *lwhy = NULL;
	size_t			 i;
	unsigned		 uid = 0, gid = 0;
	int			 unresolved = 0, peer = 0;

	*fwd = NULL;
	*body = NULL;
	*status = 0;
	why[0] = '\0';
	if (pg.pol == NULL) {
		if (!pg.expected)
			return PG_FORWARD;
		snprintf(why, whysz, "the policy has not been loaded yet");
		*status = 503;
		*body = message_body("the policy is not loaded yet; try again");
		return PG_DENY;
	}
	g->gen = pg.gen;
	g->rule = -1;
	g->insp = PI_NONE;
	/* Methods are judged upper-cased, like sockguard's rules. */
	for (i = 0; method[i] != '\0' && i < sizeof(m) - 1; i++)
		m[i] = (char)toupper((unsigned char)method[i]);
	m[i] = '\0';
	split_target(target, &path, &query);
	/*
	 * clients.allowed_cidrs (§7.1), first: the address authd bound in
	 * the approval.  A unix caller has none ("unix:uid=..." is not an
	 * address), so a non-empty list refuses it.
	 */
	if (pg.pol->nallowed > 0 && !cidr_match(pg.pol->allowed,
	    pg.pol->nallowed, ap->actor)) {
		snprintf(why, whysz, "client %s is outside "
		    "clients.allowed_cidrs", ap->actor);
		*status = 403;
		*body = message_body("client IP not allowed");
		goto deny;
	}
	if (policy_normalize(path, strlen(path), npath, sizeof(npath), vprefix,
	    sizeof(vprefix), &nwhy) == -1) {
		snprintf(why, whysz, "path cannot be normalised: %s",
		    nwhy != NULL ? nwhy : "invalid");
		*status = 403;
		*body = policy_deny_body(pg.pol, method, path, why);
		goto deny;
	}
	/* The filter socket's clients: authd read their credentials. */
	if (sscanf(ap->actor, "unix:uid=%u,gid=%u", &uid, &gid) == 2)
		peer = 1;
	prof = policy_select(pg.pol, ap->policy[0] ? ap->policy : NULL,
	    peer ? NULL : ap->actor, peer, (uid_t)uid, (gid_t)gid,
	    &unresolved);
	if (prof != NULL)
		pw_strlcpy(g->profile, prof->name, sizeof(g->profile));
	if (unresolved) {
		snprintf(why, whysz, "client policy profile \"%s\" is not "
		    "defined", ap->policy);
		*status = 403;
		*body = message_body("client policy profile unresolved");
		goto deny;
	}
	if (limits_admit(g, prof, ap, m, npath, &lwhy) == -1) {
		snprintf(why, whysz, "%s (profile %s)", lwhy, prof->name);
		*status = 429;
		if ((g->retry_after > 0 ? asprintf(body, "{\"reason\":\"%s\","
		    "\"retry_after_seconds\":%d}\n", lwhy, g->retry_after) :
		    asprintf(body, "{\"reason\":\"%s\"}\n", lwhy)) == -1)
			fatal("asprintf");
		goto deny;
	}
	policy_decide(policy_rules(pg.pol, prof), m, npath, &d);
	g->rule = d.rule;
	if (!d.allow) {
		snprintf(why, whysz, "%s", d.reason);
		if (prof == NULL || prof->mode == POL_ENFORCE) {
			*status = 403;
			*body = policy_deny_body(pg.pol, method, path,
			    d.reason);
			goto deny;
		}
		log_warnx("policy profile %s (%s mode) would deny %s %s: %s",
		    prof->name, prof->mode == POL_WARN ? "warn" : "audit", m,
		    path, d.reason);
		pgate_count(g, 2);
	}
	if (pol_resp_attest_refused(pg.pol, m, npath, query)) {
		snprintf(why, whysz, "attestation statements are not allowed "
		    "(response.allow_attestation_statements)");
		*status = 403;
		*body = policy_deny_body(pg.pol, method, path,
		    "attestation statement retrieval is not allowed");
		goto deny;
	}
	g->rroute = PRR_NONE;
	if (pol_resp_wanted(pg.pol, prof, pol_resp_route(m, npath)))
		g->rroute = pol_resp_route(m, npath);
	g->insp = pol_inspector_for(m, npath);
	if (g->insp == PI_BLIND && !pg.pol->ack_body_blind) {
		snprintf(why, whysz, "portwing cannot inspect the body of %s "
		    "%s and insecure_allow_body_blind_writes is off", m, npath);
		*status = 403;
		*body = policy_deny_body(pg.pol, method, path,
		    "request body cannot be inspected");
		goto deny;
	}
	*fwd = policy_forward_target(vprefix, npath, query);
	free(path);
	if (pg.pol->owner[0] != '\0' && (g->okind = pol_owner_target(m,
	    npath, g->oid, sizeof(g->oid), &g->oclaim)) != OWK_NONE &&
	    (g->insp == PI_NONE || g->insp == PI_BLIND)) {
		/* No body to judge, but the resource's owner to check. */
		g->npath = xstrdup(npath);
		g->query = query;
		g->cap = 0;
		return PG_INSPECT;
	}
	if (g->insp == PI_NONE && pg.pol->owner[0] != '\0' &&
	    pol_owner_filters(npath)) {
		/* The owner's label filter: policyd re-writes the query. */
		g->ofilter = 1;
		pw_strlcpy(g->vprefix, vprefix, sizeof(g->vprefix));
		g->npath = xstrdup(npath);
		g->query = query;
		g->cap = 0;
		return PG_INSPECT;
	}
	if ((g->insp == PI_NONE || g->insp == PI_BLIND) &&
	    !(pg.pol->owner[0] != '\0' &&
	    pol_owner_stamps((enum pol_insp)g->insp, npath))) {
		free(query);
		if (g->rroute != PRR_NONE)
			g->npath = xstrdup(npath);
		if (d.allow)
			pgate_count(g, 0);
		return PG_FORWARD;
	}
	g->npath = xstrdup(npath);
	g->query = query;
	g->regauth = regauth != NULL ? xstrdup(regauth) : NULL;
	g->cap = pol_inspector_cap((enum pol_insp)g->insp);
	g->stamp = pg.pol->owner[0] != '\0' &&
	    pol_owner_stamps((enum pol_insp)g->insp, npath);
	if (g->stamp)
		g->cap = pol_owner_cap((enum pol_insp)g->insp, npath);
	return PG_INSPECT;
deny:
	free(path);
	free(query);
	pgate_count(g, 1);
	return PG_DENY;
}

static void
pending_timeout(evutil_socket_t fd, short ev, void *arg)
{
	pending_end(arg, 503, "the policy process did not answer in time");
}

/*
 * Seal fd (the spooled body, len bytes hashing to digest) and ask
 * policyd.  cb(arg, status, reason) comes later, never from here; -1 when
 * policyd cannot be asked.
 */
int
pgate_inspect(struct pgate_req *g, const char *method, int fd, uint64_t len,
    const uint8_t digest[32], pgate_cb cb, void *arg)
{
	struct ipc_wr	 wr;
	struct pending	*pe;
	struct timeval	 tv = { PGATE_TIMEOUT_S, 0 };
	int		 dfd, ofd = -1, odup = -1;

	if (pg.chan == NULL || pg.pol == NULL || g->gen != pg.gen)
		return -1;
	if (g->ofilter) {
		/* Only the query: policyd re-writes its filters. */
		pe = xcalloc(1, sizeof(*pe));
		pe->id = ++pg.seq ? pg.seq : ++pg.seq;
		pe->gen = g->gen;
		pe->outfd = -1;
		pe->ofilter = 1;
		pe->g = g;
		pe->cb = cb;
		pe->arg = arg;
		pe->timer = evtimer_new(pg.base, pending_timeout, pe);
		evtimer_add(pe->timer, &tv);
		TAILQ_INSERT_TAIL(&pg.pending, pe, entry);
		g->asked = pe->id;
		ipc_wr_init(&wr);
		ipc_wr_u32(&wr, g->gen);
		ipc_wr_str(&wr, g->npath);
		ipc_wr_str(&wr, g->query != NULL ? g->query : "");
		ipc_send(pg.chan, IPC_P_FILTER, 0, pe->id, wr.buf, wr.len, -1);
		ipc_wr_free(&wr);
		return 0;
	}
	if (g->stamp && g->insp != PI_EXEC_STORED && !g->ophase) {
		/* policyd writes the stamped body here; we seal it later. */
		if ((ofd = memfd_create("pw-proxy-stamped", MFD_CLOEXEC |
		    MFD_ALLOW_SEALING)) == -1 || (odup = dup(ofd)) == -1) {
			log_warn("memfd for a stamped body");
			if (ofd != -1)
				close(ofd);
			return -1;
		}
	}
	if (fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW |
	    F_SEAL_WRITE) == -1) {
		log_warn("sealing a request body");
		return -1;
	}
	if ((dfd = dup(fd)) == -1) {
		log_warn("dup");
		if (ofd != -1) {
			close(ofd);
			close(odup);
		}
		return -1;
	}
	/* Up to 512 MiB hashed and 1 GiB inflated take seconds. */
	if (g->insp == PI_BUILD || g->insp == PI_PLUGIN_CREATE)
		tv.tv_sec = PGATE_STREAM_TIMEOUT_S;
	pe = xcalloc(1, sizeof(*pe));
	pe->outfd = ofd;
	pe->g = g;
	pe->id = ++pg.seq ? pg.seq : ++pg.seq;
	pe->gen = g->gen;
	memcpy(pe->digest, digest, sizeof(pe->digest));
	pe->cb = cb;
	pe->arg = arg;
	pe->timer = evtimer_new(pg.base, pending_timeout, pe);
	evtimer_add(pe->timer, &tv);
	TAILQ_INSERT_TAIL(&pg.pending, pe, entry);
	g->asked = pe->id;
	if (odup != -1)
		ipc_send(pg.chan, IPC_P_OUTFD, 0, pe->id, NULL, 0, odup);
	ipc_wr_init(&wr);
	if (g->ophase) {
		/* Docker's inspect answer, for the owner check. */
		ipc_wr_u32(&wr, g->gen);
		ipc_wr_u32(&wr, (uint32_t)g->ckind);
		ipc_wr_u32(&wr, (uint32_t)g->cclaim);
		ipc_wr_u64(&wr, len);
		ipc_send(pg.chan, IPC_P_OWNED, 0, pe->id, wr.buf, wr.len, dfd);
		ipc_wr_free(&wr);
		return 0;
	}
	ipc_wr_u32(&wr, g->gen);
	ipc_wr_str(&wr, g->profile);
	ipc_wr_u32(&wr, (uint32_t)g->insp);
	ipc_wr_str(&wr, method);
	ipc_wr_str(&wr, g->npath);
	ipc_wr_str(&wr, g->query != NULL ? g->query : "");
	ipc_wr_str(&wr, g->regauth != NULL ? g->regauth : "");
	ipc_wr_u64(&wr, len);
	ipc_send(pg.chan, IPC_P_INSPECT, 0, pe->id, wr.buf, wr.len, dfd);
	ipc_wr_free(&wr);
	return 0;
}

/* The request went away while policyd judged it: drop the callback. */
void
pgate_forget(struct pgate_req *g)
{
	struct pending	*pe;

	if (g->asked == 0)
		return;
	TAILQ_FOREACH(pe, &pg.pending, entry)
		if (pe->id == g->asked) {
			TAILQ_REMOVE(&pg.pending, pe, entry);
			if (pe->timer != NULL)
				event_free(pe->timer);
			if (pe->outfd != -1)
				close(pe->outfd);
			free(pe);
			break;
		}
	g->asked = 0;
}

void
pgate_free(struct pgate_req *g)
{
	pgate_forget(g);
	if (g->limit_slot > 0 && g->limit_slot <= PGATE_MAX_CLIENTS &&
	    pg.lim[g->limit_slot - 1].inflight > 0)
		pg.lim[g->limit_slot - 1].inflight--;
	g->limit_slot = 0;
	if (g->has_out)
		close(g->out_fd);
	g->has_out = 0;
	free(g->fwd_new);
	g->fwd_new = NULL;
	free(g->refs);
	g->refs = NULL;
	g->nrefs = g->refi = 0;
	free(g->npath);
	free(g->query);
	if (g->regauth != NULL)
		freezero_str(g->regauth);
	g->npath = g->query = g->regauth = NULL;
}

/* outcome: 0 allowed, 1 denied, 2 would have been denied (warn/audit). */
void
pgate_count(const struct pgate_req *g, int outcome)
{
	int	i;

	for (i = 0; i < pg.nctr; i++)
		if (pg.ctr[i].rule == g->rule && pg.ctr[i].outcome == outcome &&
		    strcmp(pg.ctr[i].profile, g->profile) == 0) {
			pg.ctr[i].n++;
			return;
		}
	if (pg.nctr == PGATE_MAX_COUNTERS) {
		pg.ctr_lost++;
		return;
	}
	pw_strlcpy(pg.ctr[pg.nctr].profile, g->profile,
	    sizeof(pg.ctr[0].profile));
	pg.ctr[pg.nctr].rule = g->rule;
	pg.ctr[pg.nctr].outcome = outcome;
	pg.ctr[pg.nctr].n = 1;
	pg.nctr++;
}

/* A 403 of the policy's verbosity; the target's query is not echoed. */
char *
pgate_deny_body(const char *method, const char *target, const char *reason)
{
	char	*path, *body;
	size_t	 n = strcspn(target, "?");

	if (pg.pol == NULL)
		return message_body("request denied by sockguard policy");
	path = xstrndup(target, n);
	body = policy_deny_body(pg.pol, method, path, reason);
	free(path);
	return body;
}

struct ipc_chan *
pgate_channel(void)
{
	return pg.chan;
}

uint32_t
pgate_generation(void)
{
	return pg.gen;
}

void
pgate_metrics(struct evbuffer *b)
{
	static const char *const outcome[] = { "allow", "deny", "would_deny" };
	int	i;

	if (pg.pol == NULL)
		return;
	evbuffer_add_printf(b, "# HELP portwing_policy_decisions_total Policy "
	    "decisions, by profile (\"\" for the root rules), matched rule "
	    "(-1: none) and outcome.\n# TYPE portwing_policy_decisions_total "
	    "counter\n");
	for (i = 0; i < pg.nctr; i++)
		evbuffer_add_printf(b, "portwing_policy_decisions_total{profile="
		    "\"%s\",rule=\"%d\",outcome=\"%s\"} %llu\n",
		    pg.ctr[i].profile, pg.ctr[i].rule,
		    outcome[pg.ctr[i].outcome],
		    (unsigned long long)pg.ctr[i].n);
	evbuffer_add_printf(b, "# HELP portwing_policy_generation The policy "
	    "generation in force.\n# TYPE portwing_policy_generation gauge\n"
	    "portwing_policy_generation %u\n", pg.gen);
}
