/* rampart-pki: makes the certificate authority and the certificates of Rampart's mutual TLS
 * (common/pki: EC P-256, SHA-256). Used at install time and by the local trial.
 *
 *   rampart-pki init  --dir D [--days N] [--ca-days N] [--host NAME ...] [--ip ADDR ...]
 *       Writes D/ca.pem, D/ca.key (0600), D/server.pem, D/server.key (0600): a CA
 *       "Rampart CA" and a server certificate CN=agent-center for DNS:localhost,
 *       IP:127.0.0.1 and every --host / --ip given. Refuses to run when D/ca.pem or
 *       D/ca.key already exists (a second CA would cut off every agent issued by the first).
 *   rampart-pki issue --dir D --cn NAME [--client | --server] [--host NAME ...] [--ip ADDR ...]
 *                     [--out PREFIX] [--days N] [--force]
 *       Signs a certificate with D/ca.pem + D/ca.key and writes PREFIX.pem and PREFIX.key
 *       (0600); PREFIX defaults to D/NAME. --client (the default) is for an agent, whose
 *       CN is its agent id; --server for an AgentCenter. Existing files are kept unless
 *       --force is given.
 *   rampart-pki show FILE.pem
 *       Prints the certificate's subject CN.
 *
 * --days defaults to 825 for leaves and 3650 for the CA. Exit status: 0 done, 1 failed,
 * 2 usage error. D is created (0700) when missing. */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/pki.h"
#include "common/xalloc.h"

#define CA_CN "Rampart CA"

typedef struct {
    const char *dir, *cn, *out;
    int days, ca_days;
    pki_kind_t kind;
    bool force;
    const char *sans[PKI_SANS_MAX + 1];
    size_t nsans;
    char *owned[PKI_SANS_MAX];
} args_t;

static void usage(void)
{
    fprintf(stderr,
            "usage: rampart-pki init --dir D [--days N] [--ca-days N] [--host NAME] [--ip ADDR]\n"
            "       rampart-pki issue --dir D --cn NAME [--client|--server] [--host NAME]\n"
            "                         [--ip ADDR] [--out PREFIX] [--days N] [--force]\n"
            "       rampart-pki show FILE.pem\n");
}

static int add_san(args_t *a, const char *prefix, const char *v)
{
    /* init adds localhost and 127.0.0.1 to these. */
    if (a->nsans >= PKI_SANS_MAX - 2) {
        fprintf(stderr, "rampart-pki: at most %d --host/--ip\n", PKI_SANS_MAX - 2);
        return -1;
    }
    a->owned[a->nsans] = xasprintf("%s:%s", prefix, v);
    a->sans[a->nsans] = a->owned[a->nsans];
    a->nsans++;
    a->sans[a->nsans] = NULL;
    return 0;
}

static int parse_days(const char *s, int *out)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*end || v < 1 || v > 36500) {
        fprintf(stderr, "rampart-pki: days must be 1..36500\n");
        return -1;
    }
    *out = (int)v;
    return 0;
}

static int parse_args(int argc, char **argv, args_t *a)
{
    static const struct option lo[] = {{"dir", required_argument, NULL, 'd'},
                                       {"days", required_argument, NULL, 'n'},
                                       {"ca-days", required_argument, NULL, 'N'},
                                       {"host", required_argument, NULL, 'h'},
                                       {"ip", required_argument, NULL, 'i'},
                                       {"cn", required_argument, NULL, 'c'},
                                       {"out", required_argument, NULL, 'o'},
                                       {"client", no_argument, NULL, 'C'},
                                       {"server", no_argument, NULL, 'S'},
                                       {"force", no_argument, NULL, 'f'},
                                       {NULL, 0, NULL, 0}};
    int opt;
    optind = 2; /* argv[1] is the command */
    while ((opt = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        int rc = 0;
        switch (opt) {
        case 'd':
            a->dir = optarg;
            break;
        case 'n':
            rc = parse_days(optarg, &a->days);
            break;
        case 'N':
            rc = parse_days(optarg, &a->ca_days);
            break;
        case 'h':
            rc = add_san(a, "DNS", optarg);
            break;
        case 'i':
            rc = add_san(a, "IP", optarg);
            break;
        case 'c':
            a->cn = optarg;
            break;
        case 'o':
            a->out = optarg;
            break;
        case 'C':
            a->kind = PKI_CLIENT;
            break;
        case 'S':
            a->kind = PKI_SERVER;
            break;
        case 'f':
            a->force = true;
            break;
        default:
            rc = -1;
        }
        if (rc < 0)
            return -1;
    }
    if (optind != argc || !a->dir) {
        fprintf(stderr, "rampart-pki: --dir is required\n");
        return -1;
    }
    return 0;
}

/* Writes PREFIX.pem (0644) and PREFIX.key (0600). */
static int save_pair(const char *prefix, const char *cert, const char *key, bool overwrite)
{
    char cp[PATH_MAX], kp[PATH_MAX];
    if (snprintf(cp, sizeof(cp), "%s.pem", prefix) >= (int)sizeof(cp) ||
        snprintf(kp, sizeof(kp), "%s.key", prefix) >= (int)sizeof(kp))
        return -ENAMETOOLONG;
    if (!overwrite && (access(cp, F_OK) == 0 || access(kp, F_OK) == 0)) {
        fprintf(stderr, "rampart-pki: %s or %s exists (use --force to replace)\n", cp, kp);
        return -EEXIST;
    }
    const char *failed = kp;
    int rc = pki_save_file(kp, key, 0600, overwrite);
    if (rc == 0) {
        failed = cp;
        rc = pki_save_file(cp, cert, 0644, overwrite);
    }
    if (rc < 0)
        fprintf(stderr, "rampart-pki: writing %s: %s\n", failed, strerror(-rc));
    else
        printf("wrote %s %s\n", cp, kp);
    return rc;
}

static int make_dir(const char *dir)
{
    if (mkdir(dir, 0700) < 0 && errno != EEXIST) {
        fprintf(stderr, "rampart-pki: mkdir %s: %s\n", dir, strerror(errno));
        return -1;
    }
    return 0;
}

static int cmd_init(args_t *a)
{
    char cap[PATH_MAX], kp[PATH_MAX], sp[PATH_MAX];
    snprintf(cap, sizeof(cap), "%s/ca.pem", a->dir);
    snprintf(kp, sizeof(kp), "%s/ca.key", a->dir);
    snprintf(sp, sizeof(sp), "%s/server", a->dir);
    if (access(cap, F_OK) == 0 || access(kp, F_OK) == 0) {
        fprintf(stderr, "rampart-pki: a CA already exists in %s; refusing to replace it\n", a->dir);
        return 1;
    }
    if (make_dir(a->dir) < 0)
        return 1;
    /* localhost and 127.0.0.1 first, then the operator's names. */
    const char *sans[PKI_SANS_MAX + 3] = {"DNS:localhost", "IP:127.0.0.1"};
    for (size_t i = 0; i < a->nsans; i++)
        sans[2 + i] = a->sans[i];
    char *ca_cert = NULL, *ca_key = NULL, *cert = NULL, *key = NULL;
    int rc = pki_ca_new(CA_CN, a->ca_days, &ca_cert, &ca_key);
    if (rc == 0)
        rc = pki_issue(ca_cert, ca_key, "agent-center", sans, PKI_SERVER, a->days, &cert, &key);
    if (rc < 0) {
        fprintf(stderr, "rampart-pki: %s\n",
                rc == -EINVAL ? "invalid --host or --ip" : "certificate creation failed");
        goto cleanup;
    }
    /* The key first and without overwrite: two concurrent inits cannot both win. */
    if ((rc = pki_save_file(kp, ca_key, 0600, false)) < 0 ||
        (rc = pki_save_file(cap, ca_cert, 0644, false)) < 0) {
        fprintf(stderr, "rampart-pki: writing the CA in %s: %s\n", a->dir, strerror(-rc));
        goto cleanup;
    }
    printf("wrote %s %s\n", cap, kp);
    rc = save_pair(sp, cert, key, true);
cleanup:
    free(ca_cert);
    free(ca_key);
    free(cert);
    free(key);
    return rc < 0 ? 1 : 0;
}

static int cmd_issue(args_t *a)
{
    if (!a->cn) {
        fprintf(stderr, "rampart-pki: issue needs --cn\n");
        return 2;
    }
    char cap[PATH_MAX], kp[PATH_MAX], prefix[PATH_MAX];
    snprintf(cap, sizeof(cap), "%s/ca.pem", a->dir);
    snprintf(kp, sizeof(kp), "%s/ca.key", a->dir);
    snprintf(prefix, sizeof(prefix), "%s/%s", a->dir, a->cn);
    if (!a->out && strchr(a->cn, '/')) {
        fprintf(stderr, "rampart-pki: --cn with '/' needs --out\n");
        return 2;
    }
    char *ca_cert = NULL, *ca_key = NULL, *cert = NULL, *key = NULL;
    int rc = pki_load_file(cap, &ca_cert);
    if (rc == 0)
        rc = pki_load_file(kp, &ca_key);
    if (rc < 0) {
        fprintf(stderr, "rampart-pki: reading the CA in %s: %s\n", a->dir, strerror(-rc));
        goto cleanup;
    }
    rc = pki_issue(ca_cert, ca_key, a->cn, a->sans, a->kind, a->days, &cert, &key);
    if (rc < 0) {
        fprintf(stderr, "rampart-pki: cannot issue: %s\n",
                rc == -EINVAL ? "bad CA files, --cn, --host or --ip" : "OpenSSL failed");
        goto cleanup;
    }
    rc = save_pair(a->out ? a->out : prefix, cert, key, a->force);
cleanup:
    free(ca_cert);
    free(ca_key);
    free(cert);
    free(key);
    return rc < 0 ? 1 : 0;
}

static int cmd_show(const char *path)
{
    char *pem = NULL, cn[PKI_CN_MAX * 4 + 1];
    int rc = pki_load_file(path, &pem);
    if (rc == 0)
        rc = pki_cert_cn(pem, cn, sizeof(cn));
    free(pem);
    if (rc < 0) {
        fprintf(stderr, "rampart-pki: %s: %s\n", path, strerror(-rc));
        return 1;
    }
    printf("%s\n", cn);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage();
        return 2;
    }
    if (strcmp(argv[1], "show") == 0) {
        if (argc != 3) {
            usage();
            return 2;
        }
        return cmd_show(argv[2]);
    }
    args_t a = {.days = 825, .ca_days = 3650, .kind = PKI_CLIENT};
    int rc = 2;
    bool init = strcmp(argv[1], "init") == 0, issue = strcmp(argv[1], "issue") == 0;
    if (!init && !issue)
        usage();
    else if (parse_args(argc, argv, &a) < 0)
        usage();
    else
        rc = init ? cmd_init(&a) : cmd_issue(&a);
    for (size_t i = 0; i < a.nsans; i++)
        free(a.owned[i]);
    return rc;
}
