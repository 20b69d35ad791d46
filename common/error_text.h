#ifndef HOPLAT_COMMON_ERROR_TEXT_H_
#define HOPLAT_COMMON_ERROR_TEXT_H_

#include <cstddef>
#include <string>

#include "absl/strings/string_view.h"

namespace hoplat {

// A client's input, quoted for an error message: C-escaped, and no more than
// a short prefix of it ("abc..." (10240 bytes)). A status message travels in
// an HTTP/2 header; common gRPC clients drop the whole connection when one
// passes 8 KB, so an error must never echo unbounded input.
std::string QuoteInput(absl::string_view input, size_t max_bytes = 40);

}  // namespace hoplat

#endif  // HOPLAT_COMMON_ERROR_TEXT_H_
