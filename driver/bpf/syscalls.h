/* syscalls.h: the syscall numbers the sensor watches (x86_64; other architectures need their
 * own table). */
#ifndef RAMPART_DRIVER_SYSCALLS_H
#define RAMPART_DRIVER_SYSCALLS_H

#if defined(__TARGET_ARCH_x86) || defined(__x86_64__)
#define RS_SYS_OPEN         2
#define RS_SYS_CONNECT      42
#define RS_SYS_ACCEPT       43
#define RS_SYS_SENDTO       44
#define RS_SYS_SENDMSG      46
#define RS_SYS_BIND         49
#define RS_SYS_KILL         62
#define RS_SYS_RENAME       82
#define RS_SYS_CREAT        85
#define RS_SYS_LINK         86
#define RS_SYS_UNLINK       87
#define RS_SYS_PTRACE       101
#define RS_SYS_SETUID       105
#define RS_SYS_SETSID       112
#define RS_SYS_SETREUID     113
#define RS_SYS_SETRESUID    117
#define RS_SYS_SETFSUID     122
#define RS_SYS_CAPSET       126
#define RS_SYS_PRCTL        157
#define RS_SYS_MOUNT        165
#define RS_SYS_INIT_MODULE  175
#define RS_SYS_OPENAT       257
#define RS_SYS_UNLINKAT     263
#define RS_SYS_RENAMEAT     264
#define RS_SYS_LINKAT       265
#define RS_SYS_ACCEPT4      288
#define RS_SYS_SENDMMSG     307
#define RS_SYS_FINIT_MODULE 313
#define RS_SYS_RENAMEAT2    316
#define RS_SYS_MEMFD_CREATE 319
#define RS_SYS_OPENAT2      437
#else
#error "rampart driver: syscall table for this architecture not written yet"
#endif

#endif
