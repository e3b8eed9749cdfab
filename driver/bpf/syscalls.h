/* syscalls.h: the numbers of the syscalls whose handlers tell variants apart or report the
 * number (x86_64; other architectures need their own table). */
#ifndef RAMPART_DRIVER_SYSCALLS_H
#define RAMPART_DRIVER_SYSCALLS_H

#if defined(__TARGET_ARCH_x86) || defined(__x86_64__)
#define RS_SYS_OPEN         2
#define RS_SYS_SENDTO       44
#define RS_SYS_SENDMSG      46
#define RS_SYS_RENAME       82
#define RS_SYS_CREAT        85
#define RS_SYS_LINK         86
#define RS_SYS_UNLINK       87
#define RS_SYS_SETUID       105
#define RS_SYS_SETREUID     113
#define RS_SYS_SETRESUID    117
#define RS_SYS_SETFSUID     122
#define RS_SYS_CAPSET       126
#define RS_SYS_INIT_MODULE  175
#define RS_SYS_OPENAT       257
#define RS_SYS_UNLINKAT     263
#define RS_SYS_RENAMEAT     264
#define RS_SYS_LINKAT       265
#define RS_SYS_SENDMMSG     307
#define RS_SYS_FINIT_MODULE 313
#define RS_SYS_RENAMEAT2    316
#define RS_SYS_OPENAT2      437
#else
#error "rampart driver: syscall table for this architecture not written yet"
#endif

#endif
