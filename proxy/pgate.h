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

#endif
