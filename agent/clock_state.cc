#include "agent/clock_state.h"

#include <sys/timex.h>

namespace hoplat {

v1::ClockState ReadClockState() {
  v1::ClockState state;
  struct timex tx = {};
  const int rc = adjtimex(&tx);  // modes = 0: read only, no privilege needed
  state.set_source("adjtimex");
  if (rc < 0) return state;
  state.set_synchronized(rc != TIME_ERROR && !(tx.status & STA_UNSYNC));
  state.set_estimated_error_ns(static_cast<uint64_t>(tx.esterror) * 1000);  // µs -> ns
  return state;
}

}  // namespace hoplat
