#ifndef HOPLAT_COMMON_INGEST_METADATA_H_
#define HOPLAT_COMMON_INGEST_METADATA_H_

namespace hoplat {

// Trailing metadata of an Ingest.Stream the collector ended because a batch
// is bad in itself (undecodable, or failing validation): the batch's seq.
// Resending it cannot help, so the agent drops and counts it. Failures that
// are not the batch's fault (a full or damaged database) never carry it.
inline constexpr char kRefusedBatchMetadata[] = "hoplat-refused-batch";

}  // namespace hoplat

#endif  // HOPLAT_COMMON_INGEST_METADATA_H_
