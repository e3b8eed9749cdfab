/* asset: the asset data types (Elkeid's 5050-5062) the manager keeps as per-host snapshots,
 * their names in the API and the field that names an item of each type (what the fleet-wide
 * search matches: a package name, a listening port, a user name, ...). */
#ifndef RAMPART_MGR_ASSET_H
#define RAMPART_MGR_ASSET_H

#include <stdbool.h>

/* Name of the asset type of data_type dt ("process", "port", ...), or NULL. */
const char *asset_type_name(int dt);
/* data_type of an asset type name, or -1. */
int asset_type_parse(const char *name);
/* The payload field naming an item of type dt ("exe", "sport", "username", "name", ...). */
const char *asset_key_field(int dt);
/* Every known name, comma separated (for messages). */
const char *asset_type_names(void);

#endif
