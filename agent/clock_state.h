#ifndef HOPLAT_AGENT_CLOCK_STATE_H_
#define HOPLAT_AGENT_CLOCK_STATE_H_

#include "hoplat/v1/common.pb.h"

namespace hoplat {

// The kernel's view of this host's clock discipline (adjtimex): synchronised
// or not (STA_UNSYNC, TIME_ERROR), and the estimated error NTP/PTP reported.
v1::ClockState ReadClockState();

}  // namespace hoplat

#endif  // HOPLAT_AGENT_CLOCK_STATE_H_
