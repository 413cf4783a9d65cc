/*
 * edge_int.h: what the edge process's files share (edge.c holds the
 * session, etunnel.c the controller's Docker requests).
 */
#ifndef PW_EDGE_INT_H
#define PW_EDGE_INT_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct ipc_chan;
struct ipc_msg;
struct lws;
struct lws_vhost;

/* edge.c */
int		 edge_send(json_t *);		/* takes the reference */
int		 edge_send_text(const char *, size_t);
json_t		*edge_envelope(const char *, json_t *);
size_t		 edge_queued(void);		/* messages waiting */
struct lws_vhost *edge_vhost(void);
struct ipc_chan	*edge_authd(void);		/* NULL while away */
struct ipc_chan	*edge_wproxy(void);		/* the stream channel, or NULL */
const char	*edge_peer(void);		/* the controller's address */

/* Above this many queued messages, streams pause until it falls below
   EDGE_QUEUE_LOW (etunnel.c). */
#define EDGE_QUEUE_HIGH		128
#define EDGE_QUEUE_LOW		32

/* etunnel.c */
struct treq;
/* Who gets an answer: its head, each piece of its body (raw bytes after a
   101), its end; or why it failed.  The request is freed after end and
   fail.  data may return -1 (too large), -2 (too much held). */
struct tops {
	void	(*head)(struct treq *, void *);
	int	(*data)(struct treq *, void *, const unsigned char *, size_t);
	void	(*end)(struct treq *, void *);
	void	(*fail)(struct treq *, void *, const char *);
};
struct treq *tunnel_start(const char *, const char *, const char *,
	    const char *, const struct tops *, void *);
void	 treq_cancel(struct treq *);
int	 treq_status(const struct treq *);
void	 treq_write(struct treq *, const void *, size_t);
int	 treq_hold(struct treq *, const unsigned char *, size_t);
const unsigned char *treq_held(const struct treq *, size_t *);
void	 treq_reason(struct treq *, const char *, char *, size_t);
void	tunnel_init(uint32_t);

/* elogs.c */
void	edge_log_request(json_t *);
void	edge_log_cancel(json_t *);
void	edge_delete_request(json_t *);

/* eexec.c */
void	edge_exec_start(json_t *);
void	edge_exec_input(json_t *);
void	edge_exec_resize(json_t *);
void	edge_exec_end(json_t *);
void	edge_exec_reset(void);
void	tunnel_request(json_t *);
void	tunnel_auth_answer(struct ipc_msg *);
void	tunnel_authd_lost(void);
void	tunnel_reset(const char *);
void	tunnel_resume(void);
int	tunnel_wsi_cb(struct lws *, int, void *, size_t);

#endif
