/* programs.h: the watched syscalls, listed once for both sides.
 *
 * X(name, events, call): the kernel side makes a program rs_x_<name> on the tracepoint
 * syscalls:sys_exit_<name> that runs `call` (sensor.bpf.c); the plugin attaches it while one of
 * the `events` (bits of enum rs_ev) is switched on (driver/plugin/sensor.c). `call` is only
 * expanded on the kernel side. */
#ifndef RAMPART_DRIVER_PROGRAMS_H
#define RAMPART_DRIVER_PROGRAMS_H

#include "events.h"

#define RS_EVB(x) (1u << RS_EV_##x)
/* the credential calls also keep the per-process credentials 611 compares with */
#define RS_EVB_CRED (RS_EVB(PRIV) | RS_EVB(PRIV_ESC))

#define RS_SYSCALL_PROGRAMS(X)                                                                     \
    X(connect, RS_EVB(CONNECT), on_connect(regs, ret))                                             \
    X(accept, RS_EVB(ACCEPT), on_accept(regs, ret))                                                \
    X(accept4, RS_EVB(ACCEPT), on_accept(regs, ret))                                               \
    X(bind, RS_EVB(BIND), on_bind(regs, ret))                                                      \
    X(sendto, RS_EVB(DNS), on_send(regs, ret, RS_SYS_SENDTO))                                      \
    X(sendmsg, RS_EVB(DNS), on_send(regs, ret, RS_SYS_SENDMSG))                                    \
    X(sendmmsg, RS_EVB(DNS), on_send(regs, ret, RS_SYS_SENDMMSG))                                  \
    X(open, RS_EVB(CREATE), on_open(regs, ret, RS_SYS_OPEN))                                       \
    X(creat, RS_EVB(CREATE), on_open(regs, ret, RS_SYS_CREAT))                                     \
    X(openat, RS_EVB(CREATE), on_open(regs, ret, RS_SYS_OPENAT))                                   \
    X(openat2, RS_EVB(CREATE), on_open(regs, ret, RS_SYS_OPENAT2))                                 \
    X(rename, RS_EVB(RENAME), on_two_paths(regs, ret, RS_SYS_RENAME))                              \
    X(renameat, RS_EVB(RENAME), on_two_paths(regs, ret, RS_SYS_RENAMEAT))                          \
    X(renameat2, RS_EVB(RENAME), on_two_paths(regs, ret, RS_SYS_RENAMEAT2))                        \
    X(link, RS_EVB(LINK), on_two_paths(regs, ret, RS_SYS_LINK))                                    \
    X(linkat, RS_EVB(LINK), on_two_paths(regs, ret, RS_SYS_LINKAT))                                \
    X(unlink, RS_EVB(UNLINK), on_unlink(regs, ret, RS_SYS_UNLINK))                                 \
    X(unlinkat, RS_EVB(UNLINK), on_unlink(regs, ret, RS_SYS_UNLINKAT))                             \
    X(ptrace, RS_EVB(PTRACE), on_ptrace(regs, ret))                                                \
    X(memfd_create, RS_EVB(MEMFD), on_memfd(regs, ret))                                            \
    X(init_module, RS_EVB(MODULE), on_module(regs, ret, RS_SYS_INIT_MODULE))                       \
    X(finit_module, RS_EVB(MODULE), on_module(regs, ret, RS_SYS_FINIT_MODULE))                     \
    X(setuid, RS_EVB_CRED, on_cred(regs, ret, RS_SYS_SETUID))                                      \
    X(setreuid, RS_EVB_CRED, on_cred(regs, ret, RS_SYS_SETREUID))                                  \
    X(setresuid, RS_EVB_CRED, on_cred(regs, ret, RS_SYS_SETRESUID))                                \
    X(setfsuid, RS_EVB_CRED, on_cred(regs, ret, RS_SYS_SETFSUID))                                  \
    X(capset, RS_EVB_CRED, on_cred(regs, ret, RS_SYS_CAPSET))                                      \
    X(mount, RS_EVB(MOUNT), on_mount(regs, ret))                                                   \
    X(prctl, RS_EVB(PRCTL), on_prctl(regs, ret))                                                   \
    X(setsid, RS_EVB(SETSID), on_setsid(ret))                                                      \
    X(kill, RS_EVB(KILL), on_kill(regs, ret))

#endif
