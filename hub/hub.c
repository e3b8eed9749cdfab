#include "hub/hub.h"

#include <errno.h>

int hub_run(hub_t *hub)
{
    config_dispose(hub_config_options, hub_config_noptions, &hub->cfg);
    return -ENOSYS;
}
