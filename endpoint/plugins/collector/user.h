/* user (5052): accounts from /etc/passwd, their password state from /etc/shadow (never the
 * hash itself), groups from /etc/group and the last login from /var/log/lastlog. */
#ifndef RAMPART_COLLECTOR_USER_H
#define RAMPART_COLLECTOR_USER_H

#include <stddef.h>
#include <stdint.h>

#include "asset.h"

/* uid -> name, from a passwd file (no NSS: a collector must not block on LDAP). */
typedef struct {
    struct user_map_entry {
        long uid;
        char *name;
    } * e;
    size_t n;
} user_map_t;

int user_map_load(user_map_t *m, const char *passwd_path);
void user_map_parse(user_map_t *m, const char *text, size_t len);
/* The name of uid, or "" when unknown. */
const char *user_map_name(const user_map_t *m, long uid);
void user_map_dispose(user_map_t *m);

/* One item per passwd line: username, uid, gid, info, home, shell (never the password field). */
void user_parse_passwd(const char *text, size_t len, asset_set_t *out);
/* Adds password_status (ok | locked | empty | no_password), hash_algo, last_change_days,
 * expire_days to the items whose username has a shadow line. */
void user_parse_shadow(const char *text, size_t len, asset_set_t *users);
/* Adds groupname (of the primary gid) and groups (every group the user is in, comma list). */
void user_parse_group(const char *text, size_t len, asset_set_t *users);
/* lastlog records (struct lastlog: int32 time, char line[32], char host[256], indexed by uid):
 * adds last_login_time, last_login_tty and last_login_ip for users that ever logged in. */
#define LASTLOG_RECORD_SIZE 292
void user_parse_lastlog(const unsigned char *data, size_t len, asset_set_t *users);
/* One lastlog record (LASTLOG_RECORD_SIZE bytes) applied to one user. */
void user_apply_lastlog(asset_t *a, const unsigned char *rec);
/* The hash scheme of a crypt(3) string: yescrypt, sha512, sha256, md5, bcrypt, des, ... */
const char *user_hash_algo(const char *hash);

/* Reads the files under root ("" for the real system). */
int user_collect(const char *root, asset_set_t *out);

#endif
