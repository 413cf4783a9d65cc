/*
 * filed.h: the host file writer process (filed/filed.c).
 */
#ifndef PW_FILED_H
#define PW_FILED_H

struct child_boot;

int	filed_run(struct child_boot *);

#endif
