/*
 * drydock.h: fixed pieces of the Drydock wire format (reference section 8)
 * shared by workers (the /api routes) and the proxy (inventory and SSE).
 */
#ifndef PW_DRYDOCK_H
#define PW_DRYDOCK_H

#include <stddef.h>

#include <jansson.h>

json_t	*dd_watcher(void);
void	 dd_go_duration(long long, char *, size_t);
const char *dd_arch(void);
int	 dd_valid_id(const char *);

#endif
