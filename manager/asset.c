#include "manager/asset.h"

#include <string.h>

typedef struct {
    int dt;
    const char *name, *key;
} asset_type_t;

/* Elkeid's collector types; the key is the field an operator searches by. */
static const asset_type_t TYPES[] = {
    {5050, "process", "exe"},    {5051, "port", "sport"},     {5052, "user", "username"},
    {5053, "cron", "command"},   {5054, "service", "name"},   {5055, "software", "name"},
    {5056, "container", "name"}, {5057, "integrity", "path"}, {5058, "volume", "name"},
    {5059, "interface", "name"}, {5060, "app", "name"},       {5061, "sysctl", "name"},
    {5062, "kmod", "name"},
};
#define NTYPES (sizeof(TYPES) / sizeof(TYPES[0]))

const char *asset_type_name(int dt)
{
    for (size_t i = 0; i < NTYPES; i++)
        if (TYPES[i].dt == dt)
            return TYPES[i].name;
    return NULL;
}

int asset_type_parse(const char *name)
{
    for (size_t i = 0; name && i < NTYPES; i++)
        if (strcmp(TYPES[i].name, name) == 0)
            return TYPES[i].dt;
    return -1;
}

const char *asset_key_field(int dt)
{
    for (size_t i = 0; i < NTYPES; i++)
        if (TYPES[i].dt == dt)
            return TYPES[i].key;
    return "name";
}

const char *asset_type_names(void)
{
    return "process, port, user, cron, service, software, container, integrity, volume, "
           "interface, app, sysctl, kmod";
}
