/*
 * policyd.c: the policy process.  It judges request bodies (container
 * create, exec, image pull, ...) for the proxy, so that JSON written by
 * clients is parsed by a process that holds no Docker connection, no key
 * and no client socket, and may do nothing but read the memfds it is
 * handed and answer.  The proxy matches method and path itself (no body
 * is parsed for that) and asks policyd only about bodies.
 *
 * Each verdict names the policy generation it was made under and the
 * SHA-256 of the bytes it read; the proxy forwards a body only on a
 * verdict that matches both (DESIGN.md, "The policy engine").
 */
#include "pwbuild.h"

#include <sys/stat.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include <openssl/evp.h>

#include "child.h"
#include "inspect.h"
#include "ipc.h"
#include "log.h"
#include "owner.h"
#include "pmsg.h"
#include "policy.h"
#include "redact.h"
#include "pwcrypto.h"
#include "sandbox.h"
#include "util.h"

static struct {
	struct event_base	*base;
	struct ipc_chan		*master;
	struct ipc_chan		*proxy;
	struct policy		*pol;
	uint32_t		 gen;
	uint64_t		 judged;
	int			 outfd;		/* IPC_P_OUTFD's memfd, -1: none */
	uint32_t		 outid;		/* ... for this inspection id */
	struct {			/* IPC_P_RESP_SINK waiting for its answer */
		uint32_t	 id;
		int		 fd;
	}			 sink[8];
} pd = { .outfd = -1 };

static const struct ipc_perm pd_perms_master[] = {
	{ IPC_M_POLICY, 16, 16 + 256, 1 },
	{ IPC_M_POLICY_CHAN, 0, 0, 1 },
	{ IPC_M_SHUTDOWN, 0, 0, 0 },
	{ IPC_M_RELOAD, 4, IPC_MAX_CONFIG, 0 },
	{ IPC_M_PING, 0, 0, 0 },
};

static const struct ipc_perm pd_perms_proxy[] = {
	{ IPC_P_INSPECT, 28, IPC_MAX_INSPECT, 1 },
	{ IPC_P_OUTFD, 0, 0, 1 },
	{ IPC_P_FILTER, 12, 12 + POL_PATH_MAX + IPC_MAX_OQUERY, 0 },
	{ IPC_P_OWNED, 20, 20, 1 },
	{ IPC_P_RESPONSE, 32, IPC_MAX_RESPONSE, 1 },
	{ IPC_P_RESP_SINK, 0, 0, 1 },
};

static void
answer(uint32_t id, uint32_t gen, int status, const char *reason,
    const uint8_t digest[32])
{
	struct ipc_wr	wr;

	ipc_wr_init(&wr);
	ipc_wr_u32(&wr, gen);
	ipc_wr_u32(&wr, (uint32_t)status);
	ipc_wr_str(&wr, reason);
	ipc_wr_bytes(&wr, digest, 32);
	ipc_send(pd.proxy, IPC_D_VERDICT, 0, id, wr.buf, wr.len, -1);
	ipc_wr_free(&wr);
}

/* A verdict on a stamped body: both digests and the length written. */
static void
answer_stamped(uint32_t id, uint32_t gen, const uint8_t din[32],
    const uint8_t dout[32], uint64_t outlen)
{
	struct ipc_wr	wr;

	ipc_wr_init(&wr);
	ipc_wr_u32(&wr, gen);
	ipc_wr_u32(&wr, 0);
	ipc_wr_str(&wr, "");
	ipc_wr_bytes(&wr, din, 32);
	ipc_wr_bytes(&wr, dout, 32);
	ipc_wr_u64(&wr, outlen);
	ipc_send(pd.proxy, IPC_D_STAMPED, 0, id, wr.buf, wr.len, -1);
	ipc_wr_free(&wr);
}

/* All of buf into the (empty) memfd fd, from offset 0; -1 on failure. */
static int
write_all(int fd, const uint8_t *buf, size_t len)
{
	size_t	off = 0;
	ssize_t	n;

	while (off < len) {
		if ((n = pwrite(fd, buf + off, len - off, (off_t)off)) <= 0)
			return -1;
		off += (size_t)n;
	}
	return 0;
}

/*
 * The references of a container create the proxy is to look up
 * (IPC_D_REFS), ahead of the verdict; -1 when there are too many.
 */
static int
send_refs(uint32_t id, enum pol_insp insp, const uint8_t *body, size_t len)
{
	static struct owner_ref	 refs[OWNER_REFS_MAX];
	struct ipc_wr		 wr;
	size_t			 n, i;

	if (insp != PI_CONTAINER_CREATE)
		return 0;
	if (pol_owner_refs(body, len, pd.pol->owner_ns_sharing, refs,
	    &n) == -1)
		return -1;
	if (n == 0)
		return 0;
	ipc_wr_init(&wr);
	ipc_wr_u32(&wr, (uint32_t)n);
	for (i = 0; i < n; i++) {
		ipc_wr_u32(&wr, (uint32_t)refs[i].kind);
		ipc_wr_u32(&wr, (uint32_t)refs[i].flags);
		ipc_wr_str(&wr, refs[i].id);
	}
	ipc_send(pd.proxy, IPC_D_REFS, 0, id, wr.buf, wr.len, -1);
	ipc_wr_free(&wr);
	return 0;
}

/*
 * Ownership: stamp the body, judge the stamped bytes, write them into
 * the memfd the proxy handed over and answer with both digests.
 */
static void
inspect_stamped(struct ipc_msg *m, const struct pol_body *b, uint32_t gen,
    enum pol_insp insp, const char *npath, const uint8_t *body, size_t len,
    const uint8_t din[32], int outfd)
{
	struct pol_verdict	 v;
	uint8_t			*out = NULL, dout[32];
	size_t			 outlen = 0;

	if (outfd == -1) {
		log_warnx("request %u: no memfd for the stamped body",
		    m->hdr.id);
		answer(m->hdr.id, gen, 403, "unable to stamp the owner label",
		    din);
		return;
	}
	if (pol_owner_stamp(pd.pol->owner_key, pd.pol->owner, body, len, &out,
	    &outlen, &v) != 0) {
		answer(m->hdr.id, gen, v.status, v.reason, din);
		return;
	}
	pol_inspect(b, insp, npath, NULL, NULL, out, outlen,
	    pd.pol->ack_body_blind, &v);
	pd.judged++;
	log_debug("request %u: %s (%s, stamped): %s%s%s", m->hdr.id, npath,
	    pol_inspector_name(insp), v.status == 0 ? "allowed" : "refused",
	    v.status ? ": " : "", v.status ? v.reason : "");
	if (v.status != 0)
		answer(m->hdr.id, gen, v.status, v.reason, din);
	else if (write_all(outfd, out, outlen) == -1) {
		log_warn("request %u: writing the stamped body", m->hdr.id);
		answer(m->hdr.id, gen, 403, "unable to stamp the owner label",
		    din);
	} else if (send_refs(m->hdr.id, insp, out, outlen) == -1)
		answer(m->hdr.id, gen, 403, "too many references to other "
		    "resources", din);
	else {
		pwc_sha256(out, outlen, dout);
		answer_stamped(m->hdr.id, gen, din, dout, outlen);
	}
	free(out);
}

/*
 * POST /build and /plugins/create: the archive may be hundreds of MiB,
 * so it is never read whole; the sealed memfd is read in 1 MiB pieces with pread, each piece
 * hashed and fed to the streaming inspector.  0, or -1 when the memfd is
 * not sealed, has the wrong size, or cannot be read.
 */
#define PD_BUILD_CHUNK	(1024 * 1024)

static int
inspect_build(const struct pol_body *b, uint32_t insp, const char *query,
    int fd, uint64_t len, uint8_t digest[32], struct pol_verdict *v)
{
	const int		 want = F_SEAL_WRITE | F_SEAL_SHRINK |
				    F_SEAL_GROW;
	struct pol_build	*pb;
	struct stat		 st;
	EVP_MD_CTX		*md;
	uint8_t			*buf;
	uint64_t		 off = 0;
	unsigned int		 dlen = 32;
	ssize_t			 n;
	int			 seals, rc = -1, feeding = 1;

	seals = fcntl(fd, F_GET_SEALS);
	if (seals == -1 || (seals & want) != want || fstat(fd, &st) == -1 ||
	    (uint64_t)st.st_size != len)
		return -1;
	if ((md = EVP_MD_CTX_new()) == NULL ||
	    !EVP_DigestInit_ex(md, EVP_sha256(), NULL)) {
		EVP_MD_CTX_free(md);
		return -1;
	}
	buf = xmalloc(PD_BUILD_CHUNK);
	pb = insp == PI_PLUGIN_CREATE ? pol_plugin_begin(b, v) :
	    pol_build_begin(b, query, v);
	while (off < len) {
		n = pread(fd, buf, len - off < PD_BUILD_CHUNK ?
		    (size_t)(len - off) : PD_BUILD_CHUNK, (off_t)off);
		if (n <= 0)
			goto out;
		if (!EVP_DigestUpdate(md, buf, (size_t)n))
			goto out;
		/* Once judged, the rest is only hashed. */
		if (pb != NULL && feeding &&
		    pol_build_feed(pb, buf, (size_t)n) == -1)
			feeding = 0;
		off += (uint64_t)n;
	}
	if (!EVP_DigestFinal_ex(md, digest, &dlen))
		goto out;
	rc = 0;
 out:
	if (rc == -1 && pb != NULL) {
		pol_build_end(pb);
		memset(v, 0, sizeof(*v));
	} else
		pol_build_end(pb);
	free(buf);
	EVP_MD_CTX_free(md);
	return rc;
}

static void
inspect(struct ipc_msg *m)
{
	struct ipc_rd		 rd;
	struct pol_verdict	 v;
	const struct pol_profile *prof = NULL;
	char			 profile[POL_NAME_MAX], method[32];
	char			*npath, *query, *regauth;
	uint8_t			*body = NULL, digest[32];
	uint32_t		 gen, insp;
	uint64_t		 len;
	int			 unresolved = 0, outfd = -1;

	if (pd.outfd != -1) {
		/* Handed over just before this request, or stale. */
		if (pd.outid == m->hdr.id)
			outfd = pd.outfd;
		else
			close(pd.outfd);
		pd.outfd = -1;
	}
	ipc_rd_init(&rd, m);
	gen = ipc_rd_u32(&rd);
	ipc_rd_str(&rd, profile, sizeof(profile));
	insp = ipc_rd_u32(&rd);
	ipc_rd_str(&rd, method, sizeof(method));
	npath = ipc_rd_strdup(&rd, POL_PATH_MAX);
	query = ipc_rd_strdup(&rd, 16 * 1024);
	regauth = ipc_rd_strdup(&rd, 8 * 1024 + 1);
	len = ipc_rd_u64(&rd);
	memset(digest, 0, sizeof(digest));
	if (npath == NULL || query == NULL || regauth == NULL ||
	    ipc_rd_end(&rd) == -1 || insp > PI_BLIND ||
	    len > 1024 * 1024 * 1024) {
		log_warnx("proxy sent a malformed inspection request; "
		    "dropping the channel");
		ipc_chan_free(pd.proxy);
		pd.proxy = NULL;
		goto out;
	}
	if (pd.pol == NULL || gen != pd.gen) {
		/* A reload is on its way to one of us: the client may retry. */
		answer(m->hdr.id, pd.gen, 503, "the policy is being reloaded; "
		    "try again", digest);
		goto out;
	}
	if (len > (pd.pol->owner[0] != '\0' ? pol_owner_cap((enum pol_insp)insp,
	    npath) : pol_inspector_cap((enum pol_insp)insp))) {
		answer(m->hdr.id, gen, 413, "request body too large", digest);
		goto out;
	}
	if (insp == PI_BUILD || insp == PI_PLUGIN_CREATE) {
		if (profile[0] != '\0') {
			prof = policy_select(pd.pol, profile, NULL, 0, 0, 0,
			    &unresolved);
			if (unresolved || prof == NULL) {
				answer(m->hdr.id, gen, 403, "client policy "
				    "profile unresolved", digest);
				goto out;
			}
		}
		if (inspect_build(policy_body(pd.pol, prof), insp, query[0] ?
		    query : NULL, m->fd, len, digest, &v) == -1) {
			log_warnx("request %u: the body memfd is not sealed "
			    "or is short", m->hdr.id);
			memset(digest, 0, sizeof(digest));
			answer(m->hdr.id, gen, 403, "unable to inspect the "
			    "request body", digest);
			goto out;
		}
		pd.judged++;
		log_debug("request %u: %s %s (%s): %s%s%s", m->hdr.id,
		    method, npath, pol_inspector_name((enum pol_insp)insp),
		    v.status == 0 ? "allowed" : "refused",
		    v.status ? ": " : "", v.status ? v.reason : "");
		answer(m->hdr.id, gen, v.status, v.reason, digest);
		goto out;
	}
	if ((body = (uint8_t *)pol_memfd_read(m->fd, (size_t)len)) == NULL) {
		log_warnx("request %u: the body memfd is not sealed or is "
		    "short", m->hdr.id);
		answer(m->hdr.id, gen, 403, "unable to inspect the request "
		    "body", digest);
		goto out;
	}
	pwc_sha256(body, (size_t)len, digest);
	if (profile[0] != '\0') {
		prof = policy_select(pd.pol, profile, NULL, 0, 0, 0,
		    &unresolved);
		if (unresolved || prof == NULL) {
			answer(m->hdr.id, gen, 403, "client policy profile "
			    "unresolved", digest);
			goto out;
		}
	}
	if (pd.pol->owner[0] != '\0' && pol_owner_stamps((enum pol_insp)insp,
	    npath)) {
		inspect_stamped(m, policy_body(pd.pol, prof),
		    gen, (enum pol_insp)insp, npath, body, (size_t)len, digest,
		    outfd);
		goto out;
	}
	pol_inspect(policy_body(pd.pol, prof), (enum pol_insp)insp, npath,
	    query[0] ? query : NULL, regauth[0] ? regauth : NULL, body,
	    (size_t)len, pd.pol->ack_body_blind, &v);
	pd.judged++;
	log_debug("request %u: %s %s (%s): %s%s%s", m->hdr.id, method, npath,
	    pol_inspector_name((enum pol_insp)insp),
	    v.status == 0 ? "allowed" : "refused", v.status ? ": " : "",
	    v.status ? v.reason : "");
	answer(m->hdr.id, gen, v.status, v.reason, digest);
out:
	free(body);
	free(npath);
	free(query);
	if (regauth != NULL)
		freezero_str(regauth);
	if (m->fd != -1)
		close(m->fd);
	if (outfd != -1)
		close(outfd);
}

/* Ownership: the owner's label filter in a list, prune or events query. */
static void
owner_filter(struct ipc_msg *m)
{
	struct ipc_rd		 rd;
	struct ipc_wr		 wr;
	struct pol_verdict	 v;
	char			*npath, *query, *out = NULL;
	uint32_t		 gen;

	ipc_rd_init(&rd, m);
	gen = ipc_rd_u32(&rd);
	npath = ipc_rd_strdup(&rd, POL_PATH_MAX);
	query = ipc_rd_strdup(&rd, IPC_MAX_OQUERY);
	if (npath == NULL || query == NULL || ipc_rd_end(&rd) == -1) {
		log_warnx("proxy sent a malformed filter request; dropping "
		    "the channel");
		ipc_chan_free(pd.proxy);
		pd.proxy = NULL;
		goto done;
	}
	memset(&v, 0, sizeof(v));
	if (pd.pol == NULL || gen != pd.gen) {
		v.status = 503;
		pw_strlcpy(v.reason, "the policy is being reloaded; try again",
		    sizeof(v.reason));
	} else if (pd.pol->owner[0] == '\0' || !pol_owner_filters(npath)) {
		v.status = 403;
		pw_strlcpy(v.reason, "no owner filter for this path",
		    sizeof(v.reason));
	} else
		(void)pol_owner_filter(pd.pol->owner_key, pd.pol->owner, npath,
		    query, &out, &v);
	if (out != NULL && strlen(out) >= IPC_MAX_OQUERY) {
		free(out);
		out = NULL;
		v.status = 400;
		pw_strlcpy(v.reason, "the filtered query is too long",
		    sizeof(v.reason));
	}
	log_debug("request %u: %s filters: %s%s", m->hdr.id, npath,
	    v.status ? "refused: " : "owner label set", v.status ? v.reason :
	    "");
	ipc_wr_init(&wr);
	ipc_wr_u32(&wr, gen);
	ipc_wr_u32(&wr, (uint32_t)v.status);
	ipc_wr_str(&wr, v.reason);
	ipc_wr_str(&wr, v.status == 0 && out != NULL ? out : "");
	ipc_send(pd.proxy, IPC_D_FILTER, 0, m->hdr.id, wr.buf, wr.len, -1);
	ipc_wr_free(&wr);
done:
	free(out);
	free(npath);
	free(query);
}

/* Ownership: whose is the resource a request addresses? (§6.3) */
static void
owner_check(struct ipc_msg *m)
{
	struct ipc_rd		 rd;
	struct pol_verdict	 v;
	uint8_t			*ans = NULL, digest[32];
	uint32_t		 gen, kind, claim;
	uint64_t		 len;

	ipc_rd_init(&rd, m);
	gen = ipc_rd_u32(&rd);
	kind = ipc_rd_u32(&rd);
	claim = ipc_rd_u32(&rd);
	len = ipc_rd_u64(&rd);
	memset(digest, 0, sizeof(digest));
	if (ipc_rd_end(&rd) == -1 || kind == OWK_NONE || kind > OWK_MAX ||
	    len > 8 * 1024 * 1024) {
		log_warnx("proxy sent a malformed owner check; dropping the "
		    "channel");
		ipc_chan_free(pd.proxy);
		pd.proxy = NULL;
		goto out;
	}
	if (pd.pol == NULL || gen != pd.gen) {
		answer(m->hdr.id, pd.gen, 503, "the policy is being reloaded; "
		    "try again", digest);
		goto out;
	}
	if ((ans = (uint8_t *)pol_memfd_read(m->fd, (size_t)len)) == NULL) {
		answer(m->hdr.id, gen, 502, "owner_policy_lookup_failed",
		    digest);
		goto out;
	}
	pwc_sha256(ans, (size_t)len, digest);
	if (pd.pol->owner[0] == '\0')
		answer(m->hdr.id, gen, 403, "no owner is configured", digest);
	else if (kind == OWK_EXEC) {
		/* An exec is judged by its container: the proxy asks next. */
		struct owner_ref	ref;
		struct ipc_wr		wr;

		if (pol_owner_exec_ref(ans, (size_t)len, &ref) == -1) {
			answer(m->hdr.id, gen, 502, "owner_policy_lookup_failed",
			    digest);
			goto out;
		}
		ipc_wr_init(&wr);
		ipc_wr_u32(&wr, 1);
		ipc_wr_u32(&wr, (uint32_t)ref.kind);
		ipc_wr_u32(&wr, (uint32_t)ref.flags);
		ipc_wr_str(&wr, ref.id);
		ipc_send(pd.proxy, IPC_D_REFS, 0, m->hdr.id, wr.buf, wr.len, -1);
		ipc_wr_free(&wr);
		answer(m->hdr.id, gen, 0, "", digest);
	} else {
		(void)pol_owner_judge(pd.pol->owner_key, pd.pol->owner,
		    pd.pol->owner_unowned_images, (int)kind, (int)claim, ans,
		    (size_t)len, &v);
		log_debug("request %u: owner of the %s: %s", m->hdr.id,
		    pol_owner_kind_name((int)kind), v.status ? v.reason : "ours");
		answer(m->hdr.id, gen, v.status, v.reason, digest);
	}
out:
	free(ans);
	if (m->fd != -1)
		close(m->fd);
}

static void	sinks_close(void);

static void
drop_proxy(const char *why)
{
	sinks_close();
	log_warnx("proxy sent %s; dropping the channel", why);
	ipc_chan_free(pd.proxy);
	pd.proxy = NULL;
}

/* The sink of a response arrives just before it (IPC_P_RESP_SINK). */
static void
resp_sink(struct ipc_msg *m)
{
	size_t	i;

	for (i = 0; i < nitems(pd.sink); i++)
		if (pd.sink[i].fd == -1 || pd.sink[i].id == 0) {
			pd.sink[i].id = m->hdr.id;
			pd.sink[i].fd = m->fd;
			m->fd = -1;
			return;
		}
	close(m->fd);
	m->fd = -1;
	drop_proxy("more response sinks than responses");
}

static int
sink_take(uint32_t id)
{
	size_t	i;
	int	fd;

	for (i = 0; i < nitems(pd.sink); i++)
		if (pd.sink[i].id == id && pd.sink[i].fd != -1) {
			fd = pd.sink[i].fd;
			pd.sink[i].id = 0;
			pd.sink[i].fd = -1;
			return fd;
		}
	return -1;
}

static void
resp_answer(uint32_t id, uint32_t gen, uint32_t action, const char *reason,
    const uint8_t in[32], uint64_t outlen, const uint8_t out[32])
{
	struct ipc_wr	wr;

	ipc_wr_init(&wr);
	ipc_wr_u32(&wr, gen);
	ipc_wr_u32(&wr, action);
	ipc_wr_str(&wr, reason);
	ipc_wr_bytes(&wr, in, 32);
	ipc_wr_u64(&wr, outlen);
	ipc_wr_bytes(&wr, out, 32);
	ipc_send(pd.proxy, IPC_D_RESPONSE, 0, id, wr.buf, wr.len, -1);
	ipc_wr_free(&wr);
}

/*
 * A Docker answer to filter (IPC_P_RESPONSE): read it from its sealed
 * memfd, filter it, write a rewritten answer into the sink and answer
 * with the digests of both.
 */
static void
resp_filter(struct ipc_msg *m)
{
	struct ipc_rd		 rd;
	const struct pol_profile *prof = NULL;
	enum pol_raction	 a;
	char			 profile[POL_NAME_MAX], method[32], why[256];
	char			*npath, *out = NULL;
	uint8_t			*body = NULL, din[32], dout[32];
	uint32_t		 gen, route, status;
	uint64_t		 len;
	size_t			 outlen = 0, off;
	ssize_t			 n;
	int			 sink, unresolved = 0;

	ipc_rd_init(&rd, m);
	gen = ipc_rd_u32(&rd);
	ipc_rd_str(&rd, profile, sizeof(profile));
	route = ipc_rd_u32(&rd);
	ipc_rd_str(&rd, method, sizeof(method));
	npath = ipc_rd_strdup(&rd, POL_PATH_MAX);
	status = ipc_rd_u32(&rd);
	len = ipc_rd_u64(&rd);
	sink = sink_take(m->hdr.id);
	memset(din, 0, sizeof(din));
	memset(dout, 0, sizeof(dout));
	if (npath == NULL || ipc_rd_end(&rd) == -1 || route == PRR_NONE ||
	    route >= PRR_MAX || status < 200 || status > 299 || sink == -1 ||
	    len > POL_RESP_MAX) {
		drop_proxy("a malformed response to filter");
		goto out;
	}
	if (pd.pol == NULL || gen != pd.gen) {
		resp_answer(m->hdr.id, pd.gen, 4, "the policy is being "
		    "reloaded; try again", din, 0, dout);
		goto out;
	}
	if ((body = (uint8_t *)pol_memfd_read(m->fd, (size_t)len)) == NULL) {
		log_warnx("response %u: the memfd is not sealed or is short",
		    m->hdr.id);
		resp_answer(m->hdr.id, gen, PRA_REJECT, "unable to read the "
		    "answer", din, 0, dout);
		goto out;
	}
	pwc_sha256(body, (size_t)len, din);
	if (profile[0] != '\0') {
		prof = policy_select(pd.pol, profile, NULL, 0, 0, 0,
		    &unresolved);
		if (unresolved || prof == NULL) {
			resp_answer(m->hdr.id, gen, PRA_REJECT, "client policy "
			    "profile unresolved", din, 0, dout);
			goto out;
		}
	}
	a = pol_resp_filter(pd.pol, prof, (enum pol_rroute)route, body,
	    (size_t)len, &out, &outlen, why, sizeof(why));
	if (a == PRA_HIDE && prof != NULL && prof->mode != POL_ENFORCE) {
		log_warnx("policy profile %s would hide %s %s: %s", prof->name,
		    method, npath, why);
		a = PRA_PASS;
	}
	if (a == PRA_REWRITE) {
		for (off = 0; off < outlen; off += (size_t)n)
			if ((n = write(sink, out + off, outlen - off)) <= 0) {
				log_warn("response %u: writing the sink",
				    m->hdr.id);
				a = PRA_REJECT;
				snprintf(why, sizeof(why), "cannot hold the "
				    "filtered answer");
				outlen = 0;
				break;
			}
		if (a == PRA_REWRITE)
			pwc_sha256((const uint8_t *)out, outlen, dout);
	}
	log_debug("response %u: %s %s (%s): %s%s%s", m->hdr.id, method, npath,
	    pol_resp_route_name((enum pol_rroute)route), a == PRA_PASS ?
	    "unchanged" : a == PRA_REWRITE ? "rewritten" : a == PRA_HIDE ?
	    "hidden" : "rejected", why[0] ? ": " : "", why);
	resp_answer(m->hdr.id, gen, (uint32_t)a, why, din,
	    a == PRA_REWRITE ? outlen : 0, dout);
out:
	if (sink != -1)
		close(sink);
	free(out);
	free(body);
	free(npath);
	if (m->fd != -1)
		close(m->fd);
}

static void
pd_proxy_msg(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	if (m->hdr.type == IPC_P_INSPECT)
		inspect(m);
	else if (m->hdr.type == IPC_P_FILTER)
		owner_filter(m);
	else if (m->hdr.type == IPC_P_OWNED)
		owner_check(m);
	else if (m->hdr.type == IPC_P_OUTFD) {
		if (pd.outfd != -1)
			close(pd.outfd);
		pd.outfd = m->fd;
		pd.outid = m->hdr.id;
	} else if (m->hdr.type == IPC_P_RESP_SINK)
		resp_sink(m);
	else if (m->hdr.type == IPC_P_RESPONSE)
		resp_filter(m);
	else if (m->fd != -1)
		close(m->fd);
}

static void
sinks_close(void)
{
	size_t	i;

	for (i = 0; i < nitems(pd.sink); i++) {
		if (pd.sink[i].fd != -1)
			close(pd.sink[i].fd);
		pd.sink[i].fd = -1;
		pd.sink[i].id = 0;
	}
}

static void
pd_proxy_closed(struct ipc_chan *ch, void *arg)
{
	sinks_close();
	if (pd.proxy == ch)
		pd.proxy = NULL;
	ipc_chan_free(ch);
}

static void
pd_master_msg(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	struct policy	*p;
	char		 err[512];
	uint32_t	 gen;

	switch (m->hdr.type) {
	case IPC_M_POLICY:
		p = policy_msg_load(m, &gen, err, sizeof(err));
		close(m->fd);
		if (p == NULL)
			/* The master loaded the same text: this cannot be. */
			fatalx("policy from master: %s", err);
		policy_free(pd.pol);
		pd.pol = p;
		pd.gen = gen;
		log_debug("policy generation %u from %s", gen, p->source);
		break;
	case IPC_M_POLICY_CHAN:
		if (pd.proxy != NULL)
			ipc_chan_free(pd.proxy);
		sinks_close();
		pd.proxy = ipc_chan_new(pd.base, m->fd, "proxy", pd_perms_proxy,
		    nitems(pd_perms_proxy), pd_proxy_msg, pd_proxy_closed, NULL);
		break;
	case IPC_M_SHUTDOWN:
		exit(0);
	case IPC_M_RELOAD:
		break;
	case IPC_M_PING:
		ipc_send(pd.master, IPC_C_PONG, 0, m->hdr.id, NULL, 0, -1);
		break;
	default:
		fatalx("unexpected message 0x%04x from master", m->hdr.type);
	}
}

static void
pd_master_closed(struct ipc_chan *ch, void *arg)
{
	log_warnx("master went away; exiting");
	exit(0);
}

static void
pd_signal(evutil_socket_t sig, short ev, void *arg)
{
	exit(0);
}

int
policyd_run(struct child_boot *b)
{
	struct event	*ev_term;
	uint32_t	 v = IPC_PROTOCOL_VERSION;

	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	pd.base = pw_event_base();
	ev_term = evsignal_new(pd.base, SIGTERM, pd_signal, NULL);
	evsignal_add(ev_term, NULL);

	child_sandbox(PROC_POLICYD, b);
	for (v = 0; v < nitems(pd.sink); v++)
		pd.sink[v].fd = -1;
	v = IPC_PROTOCOL_VERSION;

	pd.master = ipc_chan_new(pd.base, PROC_IPC_FD, "master",
	    pd_perms_master, nitems(pd_perms_master), pd_master_msg,
	    pd_master_closed, NULL);
	ipc_send(pd.master, IPC_C_READY, 0, 0, &v, sizeof(v), -1);
	log_debug("ready (generation %u)", b->gen);
	event_base_dispatch(pd.base);
	return 0;
}
