#include "users.h"

#include <pwd.h>
#include <stdlib.h>

#include "common/xalloc.h"
#include "u64map.h"

struct users {
    u64map_t *map;
};

users_t *users_new(void)
{
    users_t *u = xcalloc(1, sizeof(*u));
    u->map = u64map_new();
    return u;
}

void users_free(users_t *u)
{
    if (!u)
        return;
    u64map_free(u->map, free);
    free(u);
}

const char *users_name(users_t *u, uint32_t uid)
{
    char *name = u64map_get(u->map, uid);
    if (name)
        return name;
    struct passwd pw, *res = NULL;
    char buf[2048];
    if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
        name = xstrdup(res->pw_name);
    else
        name = xstrdup("");
    if (u64map_len(u->map) > 4096) {
        u64map_free(u->map, free);
        u->map = u64map_new();
    }
    u64map_put(u->map, uid, name);
    return name;
}
