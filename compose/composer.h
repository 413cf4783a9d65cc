/*
 * composer.h: the compose runner process (compose/composer.c).
 */
#ifndef PW_COMPOSER_H
#define PW_COMPOSER_H

#define COMPOSE_AUDIT_MAX	128	/* operation and stack in compose_op */

struct child_boot;

int	composer_run(struct child_boot *);

#endif
