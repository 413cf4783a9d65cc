/*
 * sandbox.h: the seccomp allowlist each sandboxed role runs under.
 */
#ifndef PW_SANDBOX_H
#define PW_SANDBOX_H

#include "proc.h"

void	sandbox_apply(enum proc_role);

#endif
