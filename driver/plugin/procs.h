/* procs: the plugin's table of processes (tgid -> comm, parent, argv), fed by execve records
 * and, for processes it has not seen start, by /proc. Gives argv and the pid_tree chain. */
#ifndef RAMPART_DRIVER_PROCS_H
#define RAMPART_DRIVER_PROCS_H

#include <stddef.h>
#include <stdint.h>

typedef struct procs procs_t;

#define PROCS_TREE_DEPTH 12
#define PROCS_MAX_ARGV   (32 * 1024)
#define PROCS_MAX_ENV    (256 * 1024)

typedef struct {
    uint32_t tgid;
    uint32_t ppid;
    char comm[16];
    char *argv; /* space-separated, never NULL */
    char *exe;  /* as the sensor or /proc/<tgid>/exe gave it, never NULL ("" unknown) */
} proc_t;

/* proc_root: where to read processes from ("/proc"; tests may point elsewhere). */
procs_t *procs_new(const char *proc_root);
void procs_free(procs_t *p);

/* Records a process as an execve record describes it (argv: NUL-separated as in memory). */
void procs_exec(procs_t *p, uint32_t tgid, uint32_t ppid, const char *comm, const char *argv,
                size_t argv_len, const char *exe, size_t exe_len);
/* Sets the exe of a process in the table (a record that carried it). */
void procs_set_exe(procs_t *p, uint32_t tgid, const char *exe, size_t exe_len);
/* The process, from the table or read from /proc on a miss; NULL when gone. */
const proc_t *procs_get(procs_t *p, uint32_t tgid);
/* Makes sure tgid is in the table, from /proc or, when the process is already gone, from
 * what a record says (ppid, comm); a forked child that is gone inherits its parent's argv
 * when it still has the parent's comm (fork without exec). */
void procs_note(procs_t *p, uint32_t tgid, uint32_t ppid, const char *comm);
/* Forgets a process (its exit record). */
void procs_exit(procs_t *p, uint32_t tgid);
/* Writes "tgid.comm<ppid.comm<..." (at most PROCS_TREE_DEPTH links) into out. */
void procs_tree(procs_t *p, uint32_t tgid, char *out, size_t outlen);
/* Reads /proc/<tgid>/cmdline (bounded); space-separated into a malloc'd string, or NULL. */
char *procs_read_cmdline(const procs_t *p, uint32_t tgid);
/* The value of environment variable name (its last occurrence) in /proc/<tgid>/environ (read
 * up to PROCS_MAX_ENV bytes), malloc'd; NULL when absent or the process is gone. */
char *procs_read_env(const procs_t *p, uint32_t tgid, const char *name);
size_t procs_count(const procs_t *p);

/* Turns NUL separators into spaces and drops trailing NULs; returns a malloc'd string. */
char *procs_join_argv(const char *argv, size_t len);

#endif
