#ifndef HOPLAT_COMMON_GRPC_STATUS_H_
#define HOPLAT_COMMON_GRPC_STATUS_H_

#include <string>

#include "absl/status/status.h"
#include "grpcpp/support/status.h"

namespace hoplat {

// absl::Status and grpc::Status share their codes (both are the canonical
// gRPC codes), so a conversion keeps the code and the message.
inline grpc::Status ToGrpcStatus(const absl::Status& s) {
  return grpc::Status(static_cast<grpc::StatusCode>(s.code()), std::string(s.message()));
}

inline absl::Status FromGrpcStatus(const grpc::Status& s) {
  return absl::Status(static_cast<absl::StatusCode>(s.error_code()), s.error_message());
}

}  // namespace hoplat

#endif  // HOPLAT_COMMON_GRPC_STATUS_H_
