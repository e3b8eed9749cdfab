#include "hub/proctable.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

static uint64_t key_of(uint64_t agent_hash, int32_t pid)
{
    return lru_hash_more(agent_hash, &pid, sizeof(pid));
}

proctable_t *proctable_new(size_t capacity)
{
    proctable_t *pt = xcalloc(1, sizeof(*pt));
    pt->lru = lru_new(capacity ? capacity : 1, sizeof(proc_t));
    return pt;
}

void proctable_free(proctable_t *pt)
{
    if (!pt)
        return;
    lru_free(pt->lru);
    free(pt);
}

proc_t *proctable_get(proctable_t *pt, uint64_t agent_hash, int32_t pid)
{
    if (pid < 0)
        return NULL;
    proc_t *p = lru_get(pt->lru, key_of(agent_hash, pid));
    return p && p->agent_hash == agent_hash && p->pid == pid ? p : NULL;
}

static void copy(char *dst, size_t size, const char *src)
{
    size_t n = strlen(src);
    if (n >= size)
        n = size - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

proc_t *proctable_upsert(proctable_t *pt, uint64_t agent_hash, int32_t pid, int32_t ppid,
                         const char *exe, const char *comm, const char *argv, const char *uid,
                         int64_t ts_ms, bool exec)
{
    if (pid < 0)
        return NULL;
    bool created;
    proc_t *p = lru_put(pt->lru, key_of(agent_hash, pid), &created, NULL);
    if (!created &&
        (p->agent_hash != agent_hash || p->pid != pid || (exec && ppid >= 0 && p->ppid != ppid))) {
        /* a hash collision or a reused pid: start the record afresh */
        memset(p, 0, sizeof(*p));
        created = true;
    }
    if (created) {
        p->agent_hash = agent_hash;
        p->pid = pid;
        p->ppid = -1;
        p->start_ms = ts_ms;
        snprintf(p->pid_str, sizeof(p->pid_str), "%d", pid);
    }
    if (ppid >= 0)
        p->ppid = ppid;
    bool fill = exec || created;
    if (exe && (fill || !p->exe[0]))
        copy(p->exe, sizeof(p->exe), exe);
    if (comm && (fill || !p->comm[0]))
        copy(p->comm, sizeof(p->comm), comm);
    if (argv && (fill || !p->argv[0]))
        copy(p->argv, sizeof(p->argv), argv);
    if (uid && (fill || !p->uid[0]))
        copy(p->uid, sizeof(p->uid), uid);
    return p;
}

void proctable_exit(proctable_t *pt, uint64_t agent_hash, int32_t pid)
{
    if (proctable_get(pt, agent_hash, pid))
        lru_del(pt->lru, key_of(agent_hash, pid));
}

size_t proctable_ancestors(proctable_t *pt, uint64_t agent_hash, int32_t ppid, proc_t **out,
                           size_t max)
{
    size_t n = 0;
    int32_t next = ppid;
    while (n < max && next > 0) {
        /* peek: walking the chain must not reorder the table under the caller's pointers */
        proc_t *p = lru_peek(pt->lru, key_of(agent_hash, next));
        if (!p || p->agent_hash != agent_hash || p->pid != next)
            break;
        bool loop = false;
        for (size_t i = 0; i < n; i++)
            loop = loop || out[i] == p;
        if (loop)
            break;
        out[n++] = p;
        next = p->ppid;
    }
    return n;
}

size_t proctable_count(const proctable_t *pt)
{
    return lru_count(pt->lru);
}

int32_t proctable_parse_pid(const char *s)
{
    if (!s || !*s)
        return -1;
    int64_t v = 0;
    for (; *s; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        v = v * 10 + (*s - '0');
        if (v > INT32_MAX)
            return -1;
    }
    return (int32_t)v;
}
