/*
 * redact.h: response filtering (§2.7 and §7 of the policy reference):
 * redaction of env values, mount sources and topology in Docker's JSON
 * answers, and read-side visibility (labels, name and image globs).
 *
 * Docker's answers carry strings clients wrote (env, labels, names), so
 * the answers are parsed only in policyd (pol_resp_filter).  The proxy
 * uses only the functions that look at the method, path and query
 * (pol_resp_route, pol_resp_wanted, pol_resp_attest_refused): they read
 * no JSON.
 */
#ifndef PW_REDACT_H
#define PW_REDACT_H

#include <stddef.h>
#include <stdint.h>

struct policy;
struct pol_profile;

/* The largest answer buffered for filtering (sockguard's 8 MiB). */
#define POL_RESP_MAX	(8 * 1024 * 1024)

/* The answers of known shape, by method and normalised path. */
enum pol_rroute {
	PRR_NONE = 0,
	PRR_CONTAINER_LIST,	/* GET /containers/json */
	PRR_CONTAINER_INSPECT,	/* GET /containers/{id}/json */
	PRR_IMAGE_LIST,		/* GET /images/json */
	PRR_IMAGE_INSPECT,	/* GET /images/{name...}/json */
	PRR_NETWORK_LIST,	/* GET /networks */
	PRR_NETWORK_INSPECT,	/* GET /networks/{id} */
	PRR_VOLUME_LIST,	/* GET /volumes */
	PRR_VOLUME_INSPECT,	/* GET /volumes/{name} */
	PRR_SERVICE_LIST,
	PRR_SERVICE_INSPECT,
	PRR_TASK_LIST,
	PRR_TASK_INSPECT,
	PRR_SECRET_LIST,
	PRR_SECRET_INSPECT,
	PRR_CONFIG_LIST,
	PRR_CONFIG_INSPECT,
	PRR_PLUGIN_LIST,	/* GET /plugins */
	PRR_PLUGIN_INSPECT,	/* GET /plugins/{name}/json */
	PRR_NODE_LIST,
	PRR_NODE_INSPECT,
	PRR_SWARM,		/* GET /swarm */
	PRR_SWARM_UNLOCKKEY,	/* GET /swarm/unlockkey */
	PRR_INFO,		/* GET /info */
	PRR_SYSTEM_DF,		/* GET /system/df */
	PRR_MAX
};

/* The route of a request (upper-cased method, normalised path). */
enum pol_rroute	 pol_resp_route(const char *, const char *);
const char	*pol_resp_route_name(enum pol_rroute);

/*
 * 1 when the answer on this route can be changed under the policy and
 * profile (NULL: root), so it must be buffered and go through policyd;
 * 0: it is relayed as it comes.
 */
int	pol_resp_wanted(const struct policy *, const struct pol_profile *,
	    enum pol_rroute);

/*
 * 1 when GET /images/{name}/attestations?statement=true must be refused
 * (allow_attestation_statements off).  Arguments: policy, upper-cased
 * method, normalised path, raw query (NULL: none).
 */
int	pol_resp_attest_refused(const struct policy *, const char *,
	    const char *, const char *);

enum pol_raction {
	PRA_PASS = 0,		/* forward Docker's answer unchanged */
	PRA_REWRITE,		/* forward *out instead */
	PRA_HIDE,		/* the resource is not visible: 404 */
	PRA_REJECT		/* unparseable or unexpected: 502 */
};

/*
 * Filter one 2xx answer (body/len as Docker sent it, de-chunked) on a
 * route.  PRA_REWRITE sets *out (malloc'd, caller frees) and *outlen;
 * PRA_REJECT and PRA_HIDE set why (static text, never a body value).
 * Runs only in policyd.
 */
enum pol_raction pol_resp_filter(const struct policy *,
	    const struct pol_profile *, enum pol_rroute, const uint8_t *,
	    size_t, char **, size_t *, char *, size_t);

/* Tests: 1 makes the container list take the jansson path too. */
extern int	pol_resp_tree_only;

#endif
