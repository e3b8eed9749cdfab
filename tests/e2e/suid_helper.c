/* The privilege-escalation step of the end-to-end test: installed set-uid root and run as an
 * unprivileged user, it drops its effective uid to the caller's (keeping root as the saved
 * uid), then takes root back with setresuid(0, 0, 0) — the transition a set-uid exploit makes
 * and the driver reports as a privilege change (604). Prints the uids it ends with. */
#define _GNU_SOURCE
#include <stdio.h>
#include <sys/types.h>
#include <unistd.h>

int main(void)
{
    uid_t r = getuid();
    if (setresuid(r, r, 0) != 0) {
        perror("suid_helper: setresuid(ruid, ruid, 0)");
        return 1;
    }
    if (setresuid(0, 0, 0) != 0) {
        perror("suid_helper: setresuid(0, 0, 0)");
        return 1;
    }
    printf("uid=%u euid=%u\n", (unsigned)getuid(), (unsigned)geteuid());
    return 0;
}
