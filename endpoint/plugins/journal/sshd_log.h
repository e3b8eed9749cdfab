/* sshd_log: parses sshd's log messages into SSH login events (data_type 4000), and splits
 * syslog file lines (auth.log) into program, pid and message. Pure functions over text: no
 * I/O, bounded, tolerant (an unknown or malformed message is simply not an event). */
#ifndef RAMPART_JOURNAL_SSHD_LOG_H
#define RAMPART_JOURNAL_SSHD_LOG_H

#include <stdbool.h>
#include <stddef.h>

#define SSHD_FIELD_MAX 256

typedef struct {
    bool success;   /* status: true for Accepted */
    bool invalid;   /* the user does not exist on the host */
    char types[64]; /* password, publickey, keyboard-interactive/pam, none,
                       invalid_user, preauth_closed, preauth_disconnected, ... */
    char user[SSHD_FIELD_MAX];
    char sip[64];
    int sport;
    char extra[SSHD_FIELD_MAX]; /* e.g. "ED25519 SHA256:..." for a public key */
} sshd_event_t;

/* One sshd message (the part after "sshd[pid]: "). true when it is a login event. */
bool sshd_parse_message(const char *msg, size_t len, sshd_event_t *out);

/* Splits a syslog line: "Nov 23 10:00:01 host sshd[123]: message" or the RFC 3339 form
 * "2024-11-23T10:00:01.123456+00:00 host sshd[123]: message". program points into line
 * (length in *plen), pid is -1 when absent, msg points at the message. false when the line
 * has no "program[pid]: " or "program: " part. */
bool sshd_split_syslog(const char *line, size_t len, const char **program, size_t *plen, int *pid,
                       const char **msg, size_t *msglen);

/* True for the programs whose messages are sshd's: "sshd" and OpenSSH 9.8's "sshd-session". */
bool sshd_is_program(const char *program, size_t plen);

#endif
