#ifndef HOPLAT_COMMON_BATCH_COLUMNS_H_
#define HOPLAT_COMMON_BATCH_COLUMNS_H_

#include <vector>

#include "absl/status/status.h"
#include "common/observation.h"
#include "hoplat/v1/ingest.pb.h"

namespace hoplat {

// Converts between rows (Observation) and the columnar wire form of
// hoplat.v1.ObservationBatch.
void AppendToBatch(const Observation& o, v1::ObservationBatch* batch);

// Fills *out (cleared first) from the batch's columns. INVALID_ARGUMENT if the
// columns do not all have the same length.
absl::Status ObservationsFromBatch(const v1::ObservationBatch& batch,
                                   std::vector<Observation>* out);

}  // namespace hoplat

#endif  // HOPLAT_COMMON_BATCH_COLUMNS_H_
