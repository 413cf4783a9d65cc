/*
 * pcompose.c: the proxy's side of POST /_portwing/compose.  The worker
 * passed the body on as it came; the proxy spooled it into a memfd,
 * which is sealed here and handed to the composer (IPC_P_COMPOSE_RUN).
 * The composer's answer (IPC_C_COMPOSE_DONE) holds the HTTP status, the
 * operation and stack for the compose_op record, and the JSON body in a
 * memfd.  A client that goes away cancels its run.
 */
#include "pwbuild.h"

#include <sys/queue.h>
#include <sys/stat.h>

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "composer.h"
#include "cwire.h"
#include "ipc.h"
#include "log.h"
#include "proxy.h"
#include "util.h"

#define PCOMPOSE_ANSWER_MAX	(160 * 1024 * 1024)	/* output, escaped */

struct pcr {
	TAILQ_ENTRY(pcr)	 entry;
	uint32_t		 id;
	pcr_done		 done;
	void			*arg;
};

static struct {
	struct ipc_chan		*chan;
	uint32_t		 next_id;
	TAILQ_HEAD(, pcr)	 pending;
	int			 inited;
} pc;

static const struct ipc_perm perms_composer[] = {
	{ IPC_C_COMPOSE_DONE, 4 + 4 + 4 + 4 + 8,
	    4 + 4 + 4 + COMPOSE_AUDIT_MAX + 4 + COMPOSE_AUDIT_MAX + 8, 1 },
};

static void
pc_init(void)
{
	if (!pc.inited) {
		TAILQ_INIT(&pc.pending);
		pc.inited = 1;
	}
}

static void
pc_finish(struct pcr *w, const struct pcr_answer *a)
{
	TAILQ_REMOVE(&pc.pending, w, entry);
	w->done(w->arg, a);
	free(w);
}

/* The answer's body, read whole from its memfd; NULL when it cannot be. */
static char *
read_body(int fd, uint64_t len)
{
	struct stat	 st;
	char		*b;
	uint64_t	 off = 0;
	ssize_t		 n;

	if (fd == -1 || len > PCOMPOSE_ANSWER_MAX || fstat(fd, &st) == -1 ||
	    (uint64_t)st.st_size != len)
		return NULL;
	b = xmalloc((size_t)len + 1);
	while (off < len) {
		if ((n = pread(fd, b + off, (size_t)(len - off), (off_t)off)) <=
		    0) {
			free(b);
			return NULL;
		}
		off += (uint64_t)n;
	}
	b[len] = '\0';
	return b;
}

static void
pc_msg(struct ipc_chan *ch, struct ipc_msg *m, void *arg)
{
	struct ipc_rd		 rd;
	struct pcr		*w;
	struct pcr_answer	 a;
	uint64_t		 len;

	memset(&a, 0, sizeof(a));
	ipc_rd_init(&rd, m);
	a.status = (int)ipc_rd_u32(&rd);
	a.success = ipc_rd_u32(&rd) != 0;
	ipc_rd_str(&rd, a.operation, sizeof(a.operation));
	ipc_rd_str(&rd, a.stack, sizeof(a.stack));
	len = ipc_rd_u64(&rd);
	if (ipc_rd_end(&rd) == -1 || a.status < 200 || a.status > 599) {
		log_warnx("the composer sent a malformed answer");
		goto out;
	}
	TAILQ_FOREACH(w, &pc.pending, entry)
		if (w->id == m->hdr.id)
			break;
	if (w == NULL)
		goto out;		/* cancelled */
	if ((a.body = read_body(m->fd, len)) == NULL) {
		a.status = 500;
		a.body = xstrdup("{\"error\":\"cannot read the compose "
		    "runner's answer\"}");
	}
	a.len = strlen(a.body);
	pc_finish(w, &a);
	free(a.body);
out:
	if (m->fd != -1)
		close(m->fd);
}

static void
pc_closed(struct ipc_chan *ch, void *arg)
{
	struct pcr_answer	a;

	if (pc.chan == ch)
		pc.chan = NULL;
	ipc_chan_free(ch);
	memset(&a, 0, sizeof(a));
	a.status = 503;
	a.body = "{\"error\":\"the compose runner stopped during the "
	    "operation; its outcome is unknown\"}";
	a.len = strlen(a.body);
	while (!TAILQ_EMPTY(&pc.pending))
		pc_finish(TAILQ_FIRST(&pc.pending), &a);
}

/* IPC_M_COMPOSE_CHAN: the composer's channel (again after a restart). */
void
pcompose_chan(struct event_base *base, int fd)
{
	pc_init();
	if (pc.chan != NULL)
		pc_closed(pc.chan, NULL);
	pc.chan = ipc_chan_new(base, fd, "composer", perms_composer,
	    nitems(perms_composer), pc_msg, pc_closed, NULL);
}

/*
 * Ask the composer to run the request body held in memfd (sealed here,
 * and handed over).  NULL when it cannot be asked: the caller answers
 * 503.
 */
struct pcr *
pcompose_run(int memfd, uint64_t len, pcr_done done, void *arg)
{
	struct pcr	*w;
	struct ipc_wr	 wr;

	pc_init();
	if (pc.chan == NULL || fcntl(memfd, F_ADD_SEALS, F_SEAL_SHRINK |
	    F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) == -1) {
		close(memfd);
		return NULL;
	}
	w = xcalloc(1, sizeof(*w));
	w->id = ++pc.next_id;
	w->done = done;
	w->arg = arg;
	ipc_wr_init(&wr);
	ipc_wr_u64(&wr, len);
	if (ipc_send(pc.chan, IPC_P_COMPOSE_RUN, 0, w->id, wr.buf, wr.len,
	    memfd) == -1) {
		ipc_wr_free(&wr);
		free(w);
		return NULL;
	}
	ipc_wr_free(&wr);
	TAILQ_INSERT_TAIL(&pc.pending, w, entry);
	return w;
}

/* The client went away: the composer stops the run. */
void
pcompose_cancel(struct pcr *w)
{
	if (pc.chan != NULL)
		(void)ipc_send(pc.chan, IPC_P_COMPOSE_CANCEL, 0, w->id, NULL, 0,
		    -1);
	TAILQ_REMOVE(&pc.pending, w, entry);
	free(w);
}
