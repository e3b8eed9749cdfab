/* transfer_paths: names and numbers that go with proto/rampart.proto.
 *
 * The gRPC method path of the agent stream (package "grpc", identical to Elkeid's agents),
 * the plugin pipe constants, and the data_type numbers the platform uses. Numbers 1-1010,
 * 5050-5062 and 5100 are Elkeid's (docs/ElkeidData); types Rampart adds get numbers outside
 * Elkeid's ranges and are listed here with a comment. */
#ifndef RAMPART_PROTO_TRANSFER_PATHS_H
#define RAMPART_PROTO_TRANSFER_PATHS_H

/* Method path of `rpc Transfer(stream PackagedData) returns (stream Command)`. */
#define RAMPART_GRPC_TRANSFER_METHOD "/grpc.Transfer/Transfer"

/* Plugin pipes: the plugin reads Task frames on fd 3 and writes Record frames on fd 4; a
 * frame is a 4-byte little-endian length followed by that many bytes of protobuf. */
#define RAMPART_PLUGIN_TASK_FD   3
#define RAMPART_PLUGIN_RECORD_FD 4
#define RAMPART_PLUGIN_FRAME_HDR 4

typedef enum {
    /* Kernel sensor (driver plugin); Elkeid's driver table. */
    RAMPART_DT_WRITE = 1,
    RAMPART_DT_OPEN = 2,
    RAMPART_DT_MPROTECT = 10,
    RAMPART_DT_NANOSLEEP = 35,
    RAMPART_DT_CONNECT = 42,
    RAMPART_DT_ACCEPT = 43,
    RAMPART_DT_BIND = 49,
    RAMPART_DT_EXECVE = 59,
    RAMPART_DT_EXIT = 60,
    RAMPART_DT_KILL = 62,
    RAMPART_DT_RENAME = 82,
    RAMPART_DT_LINK = 86,
    RAMPART_DT_PTRACE = 101,
    RAMPART_DT_SETSID = 112,
    RAMPART_DT_PRCTL = 157,
    RAMPART_DT_MOUNT = 165,
    RAMPART_DT_TKILL = 200,
    RAMPART_DT_EXIT_GROUP = 231,
    RAMPART_DT_MEMFD_CREATE = 356,
    RAMPART_DT_DNS_QUERY = 601,
    RAMPART_DT_FILE_CREATE = 602,
    RAMPART_DT_MODULE_LOAD = 603,
    RAMPART_DT_UPDATE_CRED = 604,
    RAMPART_DT_UNLINK = 605,
    RAMPART_DT_RMDIR = 606,
    RAMPART_DT_USERMODEHELPER = 607,
    RAMPART_DT_FILE_WRITE = 608,
    RAMPART_DT_FILE_READ = 609,
    RAMPART_DT_USB_EVENT = 610,
    RAMPART_DT_PRIVILEGE_ESCALATION = 611,
    RAMPART_DT_PORT_SCAN = 612,
    RAMPART_DT_PROC_FOPS_HOOK = 700,
    RAMPART_DT_SYSCALL_HOOK = 701,
    RAMPART_DT_HIDDEN_MODULE = 702,
    RAMPART_DT_IDT_HOOK = 703,

    /* Agent. */
    RAMPART_DT_AGENT_HEARTBEAT = 1000,
    RAMPART_DT_PLUGIN_HEARTBEAT = 1001,
    RAMPART_DT_AGENT_ERROR_LOG = 1010,

    /* Asset inventory (collector plugin). */
    RAMPART_DT_ASSET_PROCESSES = 5050,
    RAMPART_DT_ASSET_LISTENING_PORTS = 5051,
    RAMPART_DT_ASSET_USERS = 5052,
    RAMPART_DT_ASSET_CRON = 5053,
    RAMPART_DT_ASSET_SYSTEMD_SERVICES = 5054,
    RAMPART_DT_ASSET_PACKAGES = 5055,
    RAMPART_DT_ASSET_CONTAINERS = 5056,
    RAMPART_DT_ASSET_NET_INTERFACES = 5059,
    RAMPART_DT_ASSET_KERNEL_MODULES = 5062,

    /* Answer to a Task: fields token, status (succeed|failed), msg. */
    RAMPART_DT_TASK_RESULT = 5100,
} rampart_data_type_t;

#endif
