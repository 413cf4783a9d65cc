/*
 * child.c: the common start of every child process (worker, authd, proxy).
 * Runs as root right after exec, before any network byte is seen.
 */
#include "pwbuild.h"

#include <malloc.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "approval.h"
#include "child.h"
#include "ipc.h"
#include "log.h"
#include "sandbox.h"
#include "stats.h"
#include "util.h"
#include "worker.h"

/* libevent's own warnings: stderr is /dev/null here, so log them. */
static void
child_event_log(int severity, const char *msg)
{
	if (severity >= EVENT_LOG_ERR)
		log_error("libevent: %s", msg);
	else if (severity == EVENT_LOG_WARN)
		log_warnx("libevent: %s", msg);
	else
		log_debug("libevent: %s", msg);
}

void
child_boot(enum proc_role role, unsigned slot, struct child_boot *b)
{
	struct ipc_hdr	 hdr;
	struct ipc_msg	 m;
	struct ipc_rd	 rd;
	uint8_t		*buf;
	char		*kv, err[512];
	int		 fd = -1;

	memset(b, 0, sizeof(*b));
	/* No descriptor to the log here: events go to the master. */
	log_to_channel(PROC_IPC_FD);
	event_set_log_callback(child_event_log);
	/*
	 * Before libevent or jansson allocate anything: the worker's
	 * evbuffers hold request heads (tokens), and libevent frees a
	 * drained chain without clearing it; authd's JSON documents hold
	 * enrollment tokens.  Their memory is wiped when freed.
	 */
	/*
	 * Bodies pass through the worker and the proxy in 128 KiB evbuffer
	 * chains.  glibc's defaults would give each its own mmap, or hand
	 * the top of the heap back to the kernel after each one, and then
	 * fault the pages in again for the next: a page fault per 4 KiB
	 * moved.  Keep such chains on the heap and keep up to 1 MiB free
	 * at its top.
	 */
	if (role == PROC_WORKER || role == PROC_PROXY) {
		mallopt(M_MMAP_THRESHOLD, 512 * 1024);
		mallopt(M_TRIM_THRESHOLD, 1024 * 1024);
	}
	if (role == PROC_WORKER)
		event_set_mem_functions(pw_wipe_malloc, pw_wipe_realloc,
		    pw_wipe_free);
	if (role == PROC_WORKER || role == PROC_AUTHD)
		json_set_alloc_funcs(pw_wipe_malloc, pw_wipe_free);
	/* Logs are UTC; a POSIX TZ string means glibc never opens zoneinfo. */
	setenv("TZ", "UTC0", 1);
	tzset();
	if (role == PROC_WORKER) {
		char name[32];
		proc_title("portwingd: worker %u", slot);
		snprintf(name, sizeof(name), "worker[%u]", slot);
		log_procname(name);
	} else {
		proc_title("portwingd: %s", proc_role_name(role));
		log_procname(proc_role_name(role));
	}

	buf = xmalloc(IPC_MAX_CONFIG + 512);
	if (ipc_recv_sync(PROC_IPC_FD, &hdr, buf, IPC_MAX_CONFIG + 512,
	    &fd) == -1)
		fatal("reading configuration from master");
	if (hdr.type != IPC_M_CONFIG || fd == -1)
		fatalx("expected configuration, got type 0x%04x", hdr.type);
	if (stats_map(fd) == -1)
		fatal("mapping the shared counters");
	m.hdr = hdr;
	m.data = buf;
	m.fd = -1;
	ipc_rd_init(&rd, &m);
	kv = ipc_rd_strdup(&rd, IPC_MAX_CONFIG);
	b->gen = ipc_rd_u32(&rd);
	b->slot = ipc_rd_u32(&rd);
	b->pd.uid = ipc_rd_u32(&rd);
	b->pd.gid = ipc_rd_u32(&rd);
	ipc_rd_str(&rd, b->pd.chroot, sizeof(b->pd.chroot));
	if (kv == NULL || ipc_rd_end(&rd) == -1)
		fatalx("malformed configuration message");
	if (b->slot != slot)
		fatalx("slot mismatch (%u != %u)", b->slot, slot);
	if (config_from_kv(&b->cfg, kv, err, sizeof(err)) == -1)
		fatalx("configuration from master: %s", err);
	freezero_str(kv);
	freezero(buf, IPC_MAX_CONFIG + 512);
	log_init(NULL, b->cfg.log_level, b->cfg.log_json);
	tls_global_init();
	approval_init();
	/* jansson seeds its hash from /dev/urandom on first use: do it now. */
	json_object_seed(0);
}

void
child_sandbox(enum proc_role role, struct child_boot *b)
{
	privdrop_apply(&b->pd);
	sandbox_apply(role);
}
