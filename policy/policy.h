/*
 * policy.h: the request policy (sockguard's rule engine and schema, see
 * DESIGN.md "The policy engine").  A policy is loaded from a YAML file, a
 * bundled preset or Tecnativa-style environment variables, then used
 * read-only: policy_decide() is a pure function of the active rule set,
 * the method and the normalised path.
 */
#ifndef PW_POLICY_H
#define PW_POLICY_H

#include <sys/types.h>
#include <stddef.h>
#include <stdint.h>

#include "cidr.h"
#include "inspect.h"

#define POL_NAME_MAX	64
#define POL_PATH_MAX	8192
#define POL_FILE_MAX	(1024 * 1024)	/* a policy file larger than this is refused */
#define POL_OWNER_MAX	256	/* ownership.owner and .label_key, with NUL */

/* Standard methods are bits; anything else is kept as an upper-cased word. */
#define POL_M_GET	0x001
#define POL_M_HEAD	0x002
#define POL_M_POST	0x004
#define POL_M_PUT	0x008
#define POL_M_DELETE	0x010
#define POL_M_PATCH	0x020
#define POL_M_OPTIONS	0x040
#define POL_M_CONNECT	0x080
#define POL_M_TRACE	0x100

struct pol_glob;			/* a compiled path pattern (engine.c) */
struct pol_cert_profile;		/* certsel.h */

struct pol_rule {
	uint32_t	  methods;	/* POL_M_* */
	int		  any_method;	/* "*" in the method list */
	char		**xmethods;	/* other words, NULL-terminated, or NULL */
	char		 *methods_text;	/* the method list as written */
	char		 *path;		/* the pattern as written */
	struct pol_glob	 *glob;
	int		  allow;
	char		 *reason;	/* NULL when none was given */
};

struct pol_ruleset {
	struct pol_rule	*v;
	size_t		 n;
};

enum pol_mode { POL_ENFORCE = 0, POL_WARN, POL_AUDIT };

/* limits.rate.endpoint_costs[]: the first that matches sets the cost. */
struct pol_cost {
	struct pol_rule		 match;	/* method list and path; allow unused */
	double			 cost;
};

/*
 * response: read-side visibility (root and per profile; a profile adds
 * its selectors to the root's, every one must hold).  labels are
 * "key" or "key=value"; names and images are globs of the rule dialect.
 */
struct pol_vis {
	struct pol_strlist	 labels;
	struct pol_glob		**names;
	size_t			 nnames;
	struct pol_glob		**images;
	size_t			 nimages;
};

/* response: redaction switches (root only, sockguard's defaults). */
struct pol_resp {
	int	redact_env;		/* redact_container_env: true */
	int	redact_mounts;		/* redact_mount_paths: true */
	int	redact_net;		/* redact_network_topology: true */
	int	redact_sensitive;	/* redact_sensitive_data: true */
	int	redact_host;		/* redact_host_topology: false */
	int	allow_attest;		/* allow_attestation_statements: false */
};

struct pol_profile {
	char			name[POL_NAME_MAX];
	struct pol_vis		vis;	/* response visibility of this profile */
	enum pol_mode		mode;
	struct pol_ruleset	rules;
	struct pol_body		body;	/* request_body of this profile */
	/* limits: a token bucket and an in-flight cap per client */
	double			rate;	/* tokens per second, 0: no limit */
	double			burst;
	struct pol_cost		*costs;
	size_t			 ncosts;
	long			 max_inflight;	/* 0: no cap */
};

/* The token cost of a request under a profile's limits (1 unless listed). */
double		 policy_cost(const struct pol_profile *, const char *,
		    const char *);

/* clients.source_ip_profiles[]: the first whose network holds the address. */
struct pol_src_profile {
	struct cidr	*nets;
	int		 nnets;
	char		 profile[POL_NAME_MAX];
};

/* clients.unix_peer_profiles[]: uids or gids (a PID alone is refused). */
struct pol_peer_profile {
	uid_t		*uids;
	size_t		 nuids;
	gid_t		*gids;
	size_t		 ngids;
	char		 profile[POL_NAME_MAX];
};

struct policy {
	char			 source[256];	/* file path, "preset NAME", "environment" */
	int			 compat;	/* rules made from Tecnativa variables */
	struct pol_ruleset	 rules;		/* root rules */
	struct pol_body		 body;		/* root request_body */
	int			 deny_verbose;	/* response.deny_verbosity: verbose */
	struct pol_resp		 resp;		/* response redaction */
	struct pol_vis		 vis;		/* response visibility (root) */
	int			 ack_body_blind;	/* insecure_allow_body_blind_writes */
	int			 ack_read_exfil;	/* insecure_allow_read_exfiltration */
	/* ownership (global, policy/owner.c): owner[0] == '\0' is off */
	char			 owner[POL_OWNER_MAX];
	char			 owner_key[POL_OWNER_MAX];	/* label_key */
	int			 owner_unowned_images;	/* allow_unowned_images */
	int			 owner_ns_sharing;	/* allow_cross_owner_namespace_sharing */
	struct pol_profile	*profiles;
	size_t			 nprofiles;
	char			 default_profile[POL_NAME_MAX];
	struct pol_src_profile	*src;
	size_t			 nsrc;
	struct pol_peer_profile	*peer;
	size_t			 npeer;
	struct pol_cert_profile	*cert;		/* client_certificate_profiles (certsel.h) */
	size_t			 ncert;
	struct cidr		*allowed;	/* clients.allowed_cidrs */
	int			 nallowed;
	char			**warnings;	/* non-fatal findings, NULL-terminated */
	size_t			 nwarnings;
};

/*
 * Loading.  Each returns NULL on failure with a one-line message in err
 * that names the file, the dotted key and the YAML line where there is
 * one ("policy.yaml:12: rules: rule 3: match.path: ...", rules
 * numbered from 1 as sockguard does).  Every loader runs the
 * startup probes (missing acknowledgements) before it succeeds.
 */
struct policy	*policy_load_file(const char *, char *, size_t);
struct policy	*policy_load_text(const char *, const char *, size_t, char *,
		    size_t);
struct policy	*policy_load_preset(const char *, char *, size_t);
/*
 * The Tecnativa / LinuxServer variables (§4 of the reference) in an
 * envp-style array.  Returns NULL with err[0] == '\0' when none is set.
 */
struct policy	*policy_from_env(char *const *, char *, size_t);
/*
 * POLICY=NAME-or-path and POLICY_FILE=path, as portwingd resolves them:
 * a spec without '/' names a preset, anything else is a file, NULL or ""
 * means the default rules.  When the loaded rules are exactly the
 * defaults and a Tecnativa variable is set in the process environment,
 * the rules are replaced by the variables' (compat = 1), as sockguard
 * does; SOCKGUARD_INSECURE_ALLOW_READ_EXFILTRATION and
 * SOCKGUARD_INSECURE_ALLOW_BODY_BLIND_WRITES are then honoured too.
 */
struct policy	*policy_resolve(const char *, char *, size_t);
void		 policy_free(struct policy *);

/* Bundled presets, compiled in (policy/presets/NAME.yaml). */
const char	*policy_preset_text(const char *, size_t *);
const char *const *policy_preset_names(void);

/*
 * Normalisation (§3.2).  in is the path as it arrived, still
 * percent-encoded, without the query.  It is decoded exactly once (an
 * invalid escape or an encoded NUL fails), cleaned like Go's path.Clean,
 * and one leading version prefix (/v1, /v1.45, /v1.45.99) is removed into
 * vprefix.  Returns 0, or -1 with *why set.
 */
int		 policy_normalize(const char *, size_t, char *, size_t,
		    char *, size_t, const char **);
/*
 * What Docker receives: vprefix + npath, re-percent-encoded (%, ?, #,
 * space, controls, bytes >= 0x80), then "?" query when there is one.
 */
char		*policy_forward_target(const char *, const char *,
		    const char *);
/* Go's path.Clean in place on p[0..n) (p has room for n + 2); new length. */
size_t		 policy_path_clean(char *, size_t);

struct pol_glob	*pol_glob_compile(const char *, char *, size_t);
int		 pol_glob_match(const struct pol_glob *, const char *);
void		 pol_glob_free(struct pol_glob *);

struct pol_decision {
	int		 allow;
	int		 rule;		/* 0-based index in the set, -1: none matched */
	const char	*reason;	/* the matched rule's reason (NULL when it
					   has none), or "no matching allow rule"
					   when no rule matched */
	const char	*reason_code;	/* matched_allow_rule, matched_deny_rule,
					   no_matching_allow_rule */
};

/*
 * (rules, method, normalised path, out).  The method is compared
 * upper-cased (ASCII): callers should forward and dispatch inspectors on
 * the upper-cased method too.  Allocates nothing; patterns without a
 * star compare bytes, "/prefix/" + two stars compares a prefix, the rest
 * run a linear-time automaton.
 */
void		 policy_decide(const struct pol_ruleset *, const char *,
		    const char *, struct pol_decision *);

/*
 * The profile for a request: a name bound by authd (authorized_keys
 * policy="NAME", TOKEN_POLICY), else unix peer credentials (peer != 0),
 * else the source address, else default_profile; NULL means the root
 * rules.  *unresolved is set when a name was given that the policy does
 * not define (the request is then refused).  Arguments: policy, bound
 * name (or NULL), source address (or NULL), peer (1: a unix caller, its
 * uid and gid follow; an entry with both uids and gids needs both to
 * match), uid, gid, unresolved.
 */
const struct pol_profile *policy_select(const struct policy *, const char *,
		    const char *, int, uid_t, gid_t, int *);

/* The active rule set and body settings for a profile (NULL: root). */
const struct pol_ruleset *policy_rules(const struct policy *,
		    const struct pol_profile *);
const struct pol_body	*policy_body(const struct policy *,
		    const struct pol_profile *);

/*
 * The 403 body of §3.5, with its trailing newline: minimal, or verbose
 * with method, path (secrets redacted) and reason.  Arguments: policy
 * (NULL: minimal), method, the path as received (percent-encoded, no
 * query), reason (NULL or "" omitted).  Caller frees.
 */
char		*policy_deny_body(const struct policy *, const char *,
		    const char *, const char *);

#endif
