/*
 * sdnotify.h: the master's side of systemd's service protocol: readiness,
 * reload and stop notices, STATUS lines, watchdog pings, and adopting a
 * socket passed by socket activation.  Built on libsystemd when configure
 * found it (--with-systemd); without it every notice is a no-op and a
 * passed socket is refused with an error that says why.
 */
#ifndef PW_SDNOTIFY_H
#define PW_SDNOTIFY_H

#include <stddef.h>
#include <stdint.h>

void		 sdn_init(void);
int		 sdn_enabled(void);		/* NOTIFY_SOCKET names us */
uint64_t	 sdn_watchdog_usec(void);	/* 0: no watchdog asked for */
void		 sdn_ready(const char *);	/* READY=1 with a STATUS */
void		 sdn_reloading(void);		/* RELOADING=1, MONOTONIC_USEC */
void		 sdn_stopping(const char *);	/* STOPPING=1 with a STATUS */
void		 sdn_status(const char *);	/* STATUS= when it changed */
void		 sdn_watchdog(void);		/* WATCHDOG=1 */
int		 sdn_listen_fd(int *, char *, size_t);

#endif
