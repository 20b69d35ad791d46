#include "common/observation_codec.h"

#include <cstring>

#include "absl/status/status.h"

namespace hoplat {
namespace {

// 1: the core fields. 2: then residence_ns (as its difference from
// exit - arrival, zero unless the wall clock moved), ttl and gso_segs.
// 3: then queue_ns.
constexpr uint8_t kVersion = 3;

void PutVarint(uint64_t v, std::string* out) {
  while (v >= 0x80) {
    out->push_back(static_cast<char>((v & 0x7f) | 0x80));
    v >>= 7;
  }
  out->push_back(static_cast<char>(v));
}

uint64_t ZigZag(int64_t v) {
  return (static_cast<uint64_t>(v) << 1) ^ static_cast<uint64_t>(v >> 63);
}
int64_t UnZigZag(uint64_t v) {
  return static_cast<int64_t>(v >> 1) ^ -static_cast<int64_t>(v & 1);
}

class Reader {
 public:
  explicit Reader(absl::string_view data) : p_(data.data()), end_(data.data() + data.size()) {}

  bool Varint(uint64_t* v) {
    uint64_t result = 0;
    for (int shift = 0; shift <= 63; shift += 7) {
      if (p_ == end_) return false;
      const uint8_t byte = static_cast<uint8_t>(*p_++);
      result |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) {
        *v = result;
        return true;
      }
    }
    return false;  // more than 10 bytes
  }
  bool Varint32(uint32_t* v) {
    uint64_t wide;
    if (!Varint(&wide) || wide > UINT32_MAX) return false;
    *v = static_cast<uint32_t>(wide);
    return true;
  }
  bool Fixed64(uint64_t* v) {
    if (end_ - p_ < 8) return false;
    uint64_t x = 0;
    for (int i = 7; i >= 0; --i) x = (x << 8) | static_cast<uint8_t>(p_[i]);
    p_ += 8;
    *v = x;
    return true;
  }
  bool Byte(uint8_t* v) {
    if (p_ == end_) return false;
    *v = static_cast<uint8_t>(*p_++);
    return true;
  }
  size_t remaining() const { return static_cast<size_t>(end_ - p_); }

 private:
  const char* p_;
  const char* end_;
};

// *core_size (if given): where the version 1 columns end.
std::string Encode(absl::Span<const Observation> obs, uint8_t version, size_t* core_size) {
  std::string out;
  out.reserve(2 + obs.size() * 23);
  out.push_back(static_cast<char>(version));
  PutVarint(obs.size(), &out);
  for (const Observation& o : obs) {
    char le[8];
    for (int i = 0; i < 8; ++i) le[i] = static_cast<char>(o.hash >> (8 * i));
    out.append(le, 8);
  }
  uint64_t prev = 0;
  for (size_t i = 0; i < obs.size(); ++i) {
    if (i == 0) {
      PutVarint(obs[i].arrival_ns, &out);
    } else {
      PutVarint(ZigZag(static_cast<int64_t>(obs[i].arrival_ns - prev)), &out);
    }
    prev = obs[i].arrival_ns;
  }
  for (const Observation& o : obs) {
    PutVarint(ZigZag(static_cast<int64_t>(o.exit_ns - o.arrival_ns)), &out);
  }
  for (const Observation& o : obs) PutVarint(o.ifindex_in, &out);
  for (const Observation& o : obs) PutVarint(o.ifindex_out, &out);
  for (const Observation& o : obs) PutVarint(o.length, &out);
  for (const Observation& o : obs) PutVarint(o.flags, &out);
  if (core_size != nullptr) *core_size = out.size();
  if (version >= 2) {
    for (const Observation& o : obs) {
      PutVarint(ZigZag(static_cast<int64_t>(o.residence_ns - (o.exit_ns - o.arrival_ns))), &out);
    }
    for (const Observation& o : obs) PutVarint(o.ttl, &out);
    for (const Observation& o : obs) PutVarint(o.gso_segs, &out);
  }
  if (version >= 3) {
    for (const Observation& o : obs) PutVarint(o.queue_ns, &out);
  }
  return out;
}

}  // namespace

std::string EncodeObservations(absl::Span<const Observation> obs, size_t* core_size) {
  return Encode(obs, kVersion, core_size);
}

std::string EncodeCoreFields(absl::Span<const Observation> obs) { return Encode(obs, 1, nullptr); }

std::string CoreFieldsOf(absl::string_view encoded, size_t core_size) {
  // Versions 2 and 3 start with the version 1 layout: only the version byte differs.
  std::string core(encoded.substr(0, core_size));
  if (!core.empty()) core[0] = 1;
  return core;
}

absl::Status DecodeObservations(absl::string_view data, std::vector<Observation>* out) {
  Reader r(data);
  uint8_t version;
  uint64_t n;
  if (!r.Byte(&version)) return absl::DataLossError("observation block: empty");
  if (version < 1 || version > kVersion) {
    return absl::DataLossError("observation block: unknown version " + std::to_string(version));
  }
  // Every observation takes at least 8 + 6 bytes: bound n before allocating.
  if (!r.Varint(&n) || n > r.remaining() / 14) {
    return absl::DataLossError("observation block: bad count");
  }
  const size_t base = out->size();
  out->resize(base + n);
  Observation* o = out->data() + base;
  bool ok = true;
  for (uint64_t i = 0; ok && i < n; ++i) ok = r.Fixed64(&o[i].hash);
  uint64_t prev = 0;
  for (uint64_t i = 0; ok && i < n; ++i) {
    uint64_t v = 0;
    ok = r.Varint(&v);
    prev = i == 0 ? v : prev + static_cast<uint64_t>(UnZigZag(v));
    o[i].arrival_ns = prev;
  }
  for (uint64_t i = 0; ok && i < n; ++i) {
    uint64_t v = 0;
    ok = r.Varint(&v);
    o[i].exit_ns = o[i].arrival_ns + static_cast<uint64_t>(UnZigZag(v));
  }
  for (uint64_t i = 0; ok && i < n; ++i) ok = r.Varint32(&o[i].ifindex_in);
  for (uint64_t i = 0; ok && i < n; ++i) ok = r.Varint32(&o[i].ifindex_out);
  for (uint64_t i = 0; ok && i < n; ++i) ok = r.Varint32(&o[i].length);
  for (uint64_t i = 0; ok && i < n; ++i) ok = r.Varint32(&o[i].flags);
  if (version >= 2) {
    for (uint64_t i = 0; ok && i < n; ++i) {
      uint64_t v = 0;
      ok = r.Varint(&v);
      o[i].residence_ns = (o[i].exit_ns - o[i].arrival_ns) + static_cast<uint64_t>(UnZigZag(v));
    }
    for (uint64_t i = 0; ok && i < n; ++i) ok = r.Varint32(&o[i].ttl);
    for (uint64_t i = 0; ok && i < n; ++i) ok = r.Varint32(&o[i].gso_segs);
    if (version >= 3) {
      for (uint64_t i = 0; ok && i < n; ++i) ok = r.Varint(&o[i].queue_ns);
    } else {
      // Stored before queue times were: the flag (the module's, kept by an
      // older collector) claims none.
      for (uint64_t i = 0; i < n; ++i) {
        o[i].queue_ns = 0;
        o[i].flags &= ~Observation::kFlagHandoff;
      }
    }
  } else {
    for (uint64_t i = 0; i < n; ++i) {
      o[i].residence_ns = 0;
      o[i].ttl = 0;
      o[i].gso_segs = 1;
      o[i].queue_ns = 0;
      o[i].flags &= ~Observation::kFlagHandoff;
    }
  }
  if (ok && r.remaining() != 0) ok = false;
  if (!ok) {
    out->resize(base);
    return absl::DataLossError("observation block: truncated or malformed");
  }
  return absl::OkStatus();
}

}  // namespace hoplat
