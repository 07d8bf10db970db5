#ifndef AGORA_CZEROMQ_SHIM_H
#define AGORA_CZEROMQ_SHIM_H

#include <zmq.h>
#include <sys/eventfd.h>

/// Size of the first frame of a socket-monitor event: uint16 event id, uint32 value.
#define AGORA_ZMQ_MONITOR_EVENT_FRAME_SIZE 6

#endif
