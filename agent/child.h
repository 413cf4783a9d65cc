/*
 * child.h: the prologue every child role runs after exec: read the
 * configuration the master sends, initialise libraries while files can
 * still be opened, then drop privileges and install the sandbox.
 */
#ifndef PW_CHILD_H
#define PW_CHILD_H

#include <stdint.h>

#include "config.h"
#include "proc.h"

struct child_boot {
	struct pw_config	cfg;
	uint32_t		gen;
	uint32_t		slot;
	struct privdrop		pd;
};

void	child_boot(enum proc_role, unsigned, struct child_boot *);
void	child_sandbox(enum proc_role, struct child_boot *);

/* Role entry points. */
int	worker_run(struct child_boot *);
int	authd_run(struct child_boot *);
int	proxy_run(struct child_boot *);
int	keyd_run(struct child_boot *);
int	policyd_run(struct child_boot *);
int	edge_run(struct child_boot *);
int	master_run(int, char **);

#endif
