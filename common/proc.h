/*
 * proc.h: process roles, their titles, how the master starts them, and
 * the privilege drop every child performs before touching network data.
 */
#ifndef PW_PROC_H
#define PW_PROC_H

#include <sys/types.h>

enum proc_role {
	PROC_MASTER = 0,
	PROC_WORKER,
	PROC_AUTHD,
	PROC_PROXY,
	PROC_KEYD,
	PROC_POLICYD,
	PROC_EDGE,
	PROC_FILED,
	PROC_COMPOSER,
	PROC_NROLES
};

#define PROC_IPC_FD	3	/* the child's channel to the master */

const char *proc_role_name(enum proc_role);
int	 proc_role_lookup(const char *);
void	 proc_title_init(int, char **);
void	 proc_title(const char *, ...) __attribute__((__format__(printf, 1, 2)));
pid_t	 proc_spawn(enum proc_role, int, unsigned);

struct privdrop {
	uid_t	uid;
	gid_t	gid;
	char	chroot[256];
};
int	 privdrop_lookup(const char *, const char *, struct privdrop *,
	    char *, size_t);
int	 privdrop_prepare_chroot(const char *, char *, size_t);
void	 privdrop_apply(const struct privdrop *);

#endif
