#ifndef HOPLAT_AGENT_FLAGS_H_
#define HOPLAT_AGENT_FLAGS_H_

#include <cstdint>
#include <map>
#include <set>
#include <string>

#include "absl/flags/declare.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "agent/agent.h"
#include "agent/module_control.h"
#include "common/flags_usage.h"

// hoplat-agent's flags: defined in flags.cc, mapped to the agent's options
// here. main.cc reads the per-invocation ones directly.
ABSL_DECLARE_FLAG(std::string, config);
ABSL_DECLARE_FLAG(std::string, device);
ABSL_DECLARE_FLAG(std::string, collector_netns);
ABSL_DECLARE_FLAG(std::string, replay);
ABSL_DECLARE_FLAG(std::string, record);
ABSL_DECLARE_FLAG(uint64_t, record_count);
ABSL_DECLARE_FLAG(std::string, spool_dir);
ABSL_DECLARE_FLAG(uint64_t, spool_max_bytes);
ABSL_DECLARE_FLAG(absl::Duration, clock_offset);
ABSL_DECLARE_FLAG(double, clock_drift_ppm);

namespace hoplat {

// The flags a config file may set (named like them), and of those, the
// ones SIGHUP applies without a restart: one table in flags.cc.
const std::set<std::string>& SettableFlags();
bool IsReloadable(const std::string& flag);

// --help's headings and the flags under each.
const ProgramUsage& AgentUsage();

// The current value of every settable flag, by name (to tell what a
// reload changed).
std::map<std::string, std::string> SettableFlagValues();

// The agent's options from the flags, checked (one line saying which flag
// is wrong). Leaves `pending` and `module_counters` to the caller.
absl::StatusOr<AgentOptions> AgentOptionsFromFlags();

// The module settings the flags ask for (each unset one is left as it is).
absl::StatusOr<ModuleControl::Config> ModuleConfigFromFlags();

}  // namespace hoplat

#endif  // HOPLAT_AGENT_FLAGS_H_
