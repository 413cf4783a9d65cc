/*
 * pmsg.h: how a policy travels from the master, which reads and validates
 * it, to the processes that apply it (the proxy for rules, policyd for
 * bodies): IPC_M_POLICY with a sealed memfd.  Each receiver loads the
 * same text with the same code, so all three agree on what it means.
 */
#ifndef PW_PMSG_H
#define PW_PMSG_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "ipc.h"
#include "policy.h"

/* What the master resolved from POLICY / POLICY_FILE. */
struct policy_spec {
	char	 source[256];	/* a path, "preset NAME" or "environment" */
	char	*yaml;		/* NULL for "environment" */
	size_t	 ylen;
	char	*env;		/* compatibility variables, NAME=value\n */
	size_t	 elen;
};

/*
 * Fill spec from the settings (and, for POLICY=environment, the
 * process environment's compatibility variables only).  Returns 0 when
 * no policy is configured, 1 with spec filled and the policy loaded into
 * *out (validated: every load error is reported here, at start or on
 * SIGHUP), -1 with err.
 */
int		 policy_spec_resolve(const struct pw_config *, struct policy_spec *,
		    struct policy **, char *, size_t);
void		 policy_spec_free(struct policy_spec *);
int		 policy_msg_send(struct ipc_chan *, uint32_t,
		    const struct policy_spec *);
struct policy	*policy_msg_load(const struct ipc_msg *, uint32_t *, char *,
		    size_t);
char		*pol_memfd_read(int, size_t);
/* The variables policy_from_env reads (Tecnativa, LinuxServer). */
int		 policy_compat_name(const char *);

#endif
