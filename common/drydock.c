/*
 * drydock.c: the watcher descriptor Drydock recognises as "the controller
 * runs the Docker watcher through this agent", Go-style durations, and the
 * Go architecture name of this host.
 */
#include "pwbuild.h"

#include <sys/utsname.h>

#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "drydock.h"

/*
 * Drydock treats the watcher as its own Docker transport only with
 * type "docker" and transport/execution/events exactly as below
 * (app/agent/controller-docker-transport.ts).
 */
json_t *
dd_watcher(void)
{
	return json_pack("{s:s, s:s, s:{s:[s,s], s:s, s:s, s:s, s:s}}",
	    "type", "docker", "name", "docker", "configuration",
	    "capabilities", "container-sync", "labels",
	    "description", "Watches Docker containers for updates via Docker "
	    "Engine API", "events", "portwing", "execution", "controller",
	    "transport", "docker-api");
}

/* 300 -> "5m0s", 30 -> "30s", 3600 -> "1h0m0s", as Go prints durations. */
void
dd_go_duration(long long s, char *out, size_t sz)
{
	if (s >= 3600)
		snprintf(out, sz, "%lldh%lldm%llds", s / 3600, (s % 3600) / 60,
		    s % 60);
	else if (s >= 60)
		snprintf(out, sz, "%lldm%llds", s / 60, s % 60);
	else
		snprintf(out, sz, "%llds", s);
}

/* uname -m in Go's GOARCH spelling, which Drydock expects. */
const char *
dd_arch(void)
{
	static char	arch[72];
	struct utsname	u;

	if (arch[0] != '\0')
		return arch;
	if (uname(&u) == -1)
		snprintf(arch, sizeof(arch), "amd64");
	else if (strcmp(u.machine, "x86_64") == 0)
		snprintf(arch, sizeof(arch), "amd64");
	else if (strcmp(u.machine, "aarch64") == 0)
		snprintf(arch, sizeof(arch), "arm64");
	else if (strncmp(u.machine, "armv", 4) == 0)
		snprintf(arch, sizeof(arch), "arm");
	else if (strcmp(u.machine, "i686") == 0 || strcmp(u.machine, "i386") == 0)
		snprintf(arch, sizeof(arch), "386");
	else
		snprintf(arch, sizeof(arch), "%s", u.machine);
	return arch;
}

/*
 * The reference's container id rule (7.4): ^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,127}$.
 * Every route that puts a client's id into a Docker path checks it.
 */
int
dd_valid_id(const char *id)
{
	size_t	n = strlen(id), i;

	if (n == 0 || n > 128 || !isalnum((unsigned char)id[0]))
		return 0;
	for (i = 1; i < n; i++)
		if (!isalnum((unsigned char)id[i]) && !strchr("_.-", id[i]))
			return 0;
	return 1;
}
