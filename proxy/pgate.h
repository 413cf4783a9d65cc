/*
 * pgate.h: the policy gate in the proxy.  Method and path are judged here
 * against the rules of the profile authd bound into the approval; bodies
 * of inspected endpoints are judged by policyd (policy/policyd.c).
 */
#ifndef PW_PGATE_H
#define PW_PGATE_H

/* The header lines of every answer the policy gives (sockguard's). */
#define PGATE_CTYPE	"Content-Type: application/json\r\n" \
			"X-Content-Type-Options: nosniff\r\n"

#include <stddef.h>
#include <stdint.h>

#include "approval.h"
#include "policy.h"

struct event_base;
struct evbuffer;
struct ipc_msg;
struct owner_ref;

/* What the gate decided for one request, kept with it. */
struct pgate_req {
	uint32_t	 gen;		/* policy generation judged under */
	char		 profile[POL_NAME_MAX];	/* "" : the root rules */
	int		 rule;		/* matched rule, -1: none */
	int		 insp;		/* enum pol_insp */
	size_t		 cap;		/* largest body the inspector takes */
	char		*npath;		/* normalised path */
	char		*query;
	char		*regauth;	/* X-Registry-Auth, for image pulls */
	uint32_t	 asked;		/* inspection id in flight, 0: none */
	int		 limit_slot;	/* in-flight slot held + 1, 0: none */
	int		 retry_after;	/* seconds, with a 429 */
	/* ownership: policyd stamps the body into a memfd of ours */
	int		 stamp;		/* this request's body is stamped */
	int		 has_out;	/* out_fd holds the stamped body */
	int		 out_fd;	/* sealed, hashed as policyd said */
	uint64_t	 out_len;
	/* ownership: policyd re-writes a list's filters query */
	int		 ofilter;	/* the query goes to policyd */
	char		 vprefix[32];
	char		*fwd_new;	/* the target Docker gets, from policyd */
	/* ownership: the resource the path addresses (policy/owner.h) */
	int		 okind;		/* OWK_*, 0: none */
	int		 oclaim;	/* node or swarm update */
	int		 ochecked;	/* Docker was asked, policyd judged */
	int		 ophase;	/* pgate_inspect sends Docker's answer */
	char		 oid[POL_PATH_MAX];
	int		 ckind;		/* kind and claim sent in the ophase */
	int		 cclaim;
	struct owner_ref *refs;		/* what a create body refers to */
	size_t		 nrefs;
	size_t		 refi;		/* the next to look up */
	int		 rroute;	/* enum pol_rroute: the answer is
					   filtered by policyd, 0: relayed */
};

enum pgate_verdict {
	PG_FORWARD,		/* send *fwd to Docker */
	PG_INSPECT,		/* send *fwd once policyd accepted the body */
	PG_DENY			/* answer *status with *body */
};

typedef void (*pgate_cb)(void *, int, const char *);

void	 pgate_init(struct event_base *, int);
int	 pgate_active(void);
void	 pgate_policy_msg(struct ipc_msg *);
void	 pgate_chan(int);
enum pgate_verdict pgate_judge(struct pgate_req *, const char *, const char *,
	    const struct approval *, const char *, char **, int *, char **,
	    char *, size_t);
int	 pgate_inspect(struct pgate_req *, const char *, int, uint64_t,
	    const uint8_t[32], pgate_cb, void *);
void	 pgate_forget(struct pgate_req *);
void	 pgate_free(struct pgate_req *);
void	 pgate_count(const struct pgate_req *, int);
void	 pgate_metrics(struct evbuffer *);
char	*pgate_deny_body(const char *, const char *, const char *);
struct ipc_chan *pgate_channel(void);
uint32_t pgate_generation(void);

/* powner.c: the stamped body policyd wrote (seal, size, digest). */
int	 powner_out_check(int, uint64_t, const uint8_t[32]);
int	 powner_query_ok(const char *);
int	 powner_set_target(struct evbuffer *, const char *, const char *);

#endif
