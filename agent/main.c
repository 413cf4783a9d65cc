/*
 * main.c: portwingd's entry point.  Without -x it is the master; the
 * master starts every other role by re-executing this binary as
 * "portwingd -x ROLE SLOT" with its channel on descriptor 3.
 */
#include "pwbuild.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "child.h"
#include "composer.h"
#include "filed.h"
#include "ipc_msg.h"
#include "log.h"
#include "proc.h"
#include "util.h"

int
main(int argc, char **argv)
{
	struct child_boot	 boot;
	long long		 slot;
	int			 role;

	proc_title_init(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "-x") == 0) {
		if (argc != 4 || (role = proc_role_lookup(argv[2])) < 0 ||
		    role == PROC_MASTER ||
		    pw_strtonum(argv[3], 0, IPC_EDGE_SLOT, &slot) == -1) {
			fprintf(stderr, "portwingd: -x is for internal use\n");
			return 2;
		}
		log_init(argv[2], LOG_LVL_INFO, 0);
		child_boot((enum proc_role)role, (unsigned)slot, &boot);
		switch (role) {
		case PROC_WORKER:
			return worker_run(&boot);
		case PROC_AUTHD:
			return authd_run(&boot);
		case PROC_PROXY:
			return proxy_run(&boot);
		case PROC_KEYD:
			return keyd_run(&boot);
		case PROC_POLICYD:
			return policyd_run(&boot);
		case PROC_EDGE:
			return edge_run(&boot);
		case PROC_FILED:
			return filed_run(&boot);
		case PROC_COMPOSER:
			return composer_run(&boot);
		}
		return 2;
	}
	return master_run(argc, argv);
}
