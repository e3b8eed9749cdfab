/* users: uid -> user name, cached (the host's passwd database; "" for unknown uids). */
#ifndef RAMPART_DRIVER_USERS_H
#define RAMPART_DRIVER_USERS_H

#include <stdint.h>

typedef struct users users_t;

users_t *users_new(void);
void users_free(users_t *u);
/* The name of uid, or "" when there is none; valid until users_free. */
const char *users_name(users_t *u, uint32_t uid);

#endif
