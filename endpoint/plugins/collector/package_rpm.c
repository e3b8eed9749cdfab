/* The rpm half of the software kind (5055): the rpm database read through librpm, built only
 * when librpm's development files are there (package.h says what is left out otherwise).
 * librpm has process-wide state (its macros and configuration); the collector is one thread,
 * so it is read here with the database path pushed as a macro and popped afterwards. */
#include "package.h"

#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#ifdef RAMPART_HAVE_RPM
#include <rpm/header.h>
#include <rpm/rpmdb.h>
#include <rpm/rpmlib.h>
#include <rpm/rpmlog.h>
#include <rpm/rpmmacro.h>
#include <rpm/rpmtag.h>
#include <rpm/rpmts.h>

bool package_rpm_supported(void)
{
    return true;
}

int package_collect_rpm(const char *root, const char *dbpath, asset_set_t *out)
{
    static bool configured; /* librpm reads its configuration once per process */
    if (!configured) {
        if (rpmReadConfigFiles(NULL, NULL) != 0)
            return -EIO;
        rpmSetVerbosity(RPMLOG_CRIT); /* our log says what failed, not librpm's stderr */
        configured = true;
    }
    rpmPushMacro(NULL, "_dbpath", NULL, dbpath, RMIL_CMDLINE);
    rpmts ts = rpmtsCreate();
    if (root && *root)
        rpmtsSetRootDir(ts, root);
    int rc = 0;
    rpmdbMatchIterator mi = rpmtsInitIterator(ts, RPMDBI_PACKAGES, NULL, 0);
    if (!mi) {
        rc = -EIO;
        goto cleanup;
    }
    Header h;
    while ((h = rpmdbNextIterator(mi)) != NULL) {
        const char *name = headerGetString(h, RPMTAG_NAME);
        if (!name || !*name || strcmp(name, "gpg-pubkey") == 0) /* keys, not software */
            continue;
        asset_t *a = asset_set_add(out);
        asset_add(a, "name", name);
        char *evr = headerGetAsString(h, RPMTAG_EVR);
        asset_add(a, "sversion", evr ? evr : "");
        free(evr);
        asset_add(a, "source", "rpm");
        asset_add(a, "arch", headerGetString(h, RPMTAG_ARCH));
        asset_add(a, "status", "installed");
        asset_add(a, "vendor", headerGetString(h, RPMTAG_VENDOR));
        asset_addf(a, "size_kib", "%" PRIu64, headerGetNumber(h, RPMTAG_SIZE) / 1024);
        asset_add(a, "section", headerGetString(h, RPMTAG_GROUP));
        asset_add(a, "origin", headerGetString(h, RPMTAG_SOURCERPM));
    }
    rpmdbFreeIterator(mi);
cleanup:
    rpmtsFree(ts);
    rpmPopMacro(NULL, "_dbpath");
    return rc;
}

#else

bool package_rpm_supported(void)
{
    return false;
}

int package_collect_rpm(const char *root, const char *dbpath, asset_set_t *out)
{
    (void)root;
    (void)dbpath;
    (void)out;
    return -ENOTSUP;
}

#endif
