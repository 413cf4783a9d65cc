/*
 * approval.h: authd's permission for one Docker request, bound to it.
 *
 * authd mints an approval for a request it has authenticated; the worker
 * carries it to the proxy with the request; the proxy recomputes the MAC
 * over the method and target it is about to send and refuses anything that
 * does not match, has expired, was issued to another worker, or was used
 * before.  The MAC key comes from the master and only authd and the proxy
 * hold it, so a compromised worker can neither forge nor alter approvals.
 */
#ifndef PW_APPROVAL_H
#define PW_APPROVAL_H

#include <stddef.h>
#include <stdint.h>

#define APPROVAL_PRINCIPAL_MAX	64
#define APPROVAL_POLICY_MAX	64
#define APPROVAL_ACTOR_MAX	64	/* the client address authd judged */
#define APPROVAL_TTL_MS		30000
#define APPROVAL_WINDOW		4096	/* out-of-order slack, in sequence numbers */

#define APPROVAL_F_BODY		0x01	/* body_digest binds the request body */

struct approval {
	uint32_t	gen;		/* authd generation that minted it */
	uint32_t	worker;		/* worker slot it was issued to */
	uint64_t	seq;		/* unique per generation, increasing */
	uint64_t	expires_ms;	/* CLOCK_MONOTONIC */
	uint32_t	flags;
	char		principal[APPROVAL_PRINCIPAL_MAX];
	char		policy[APPROVAL_POLICY_MAX];
	char		actor[APPROVAL_ACTOR_MAX];
	uint8_t		body_digest[32];
	uint8_t		mac[32];
};

struct ipc_wr;
struct ipc_rd;

void	approval_init(void);
void	approval_sign(struct approval *, const uint8_t *, const char *,
	    const char *);
int	approval_check_mac(const struct approval *, const uint8_t *,
	    const char *, const char *);
struct ipc_msg;
void	approval_key_answer(struct ipc_msg *, uint8_t *);
void	approval_put(struct ipc_wr *, const struct approval *);
void	approval_get(struct ipc_rd *, struct approval *);

/* The proxy's memory of which approvals were used (single use). */
struct approval_replay {
	struct {
		uint32_t	gen;
		uint64_t	top;
		uint64_t	bits[APPROVAL_WINDOW / 64];
		int		used;
	}		gens[8];
};
void	approval_replay_init(struct approval_replay *);
int	approval_replay_check(struct approval_replay *, uint32_t, uint64_t);

#endif
