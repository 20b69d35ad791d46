#include "collector/store/aggregates_table.h"

#include "absl/strings/str_cat.h"

namespace hoplat {
namespace {

// A LatencyAggregate's columns.
constexpr absl::string_view kColumns =
    "packets, clock_errors, slowest_hash, histogram, unsynchronized, bound_max_ns, bound_sum_ns, "
    "bound_method";

// The columns of kColumns, in that order, from column `first` of the
// current row.
absl::Status ReadAggregateColumns(const Stmt& s, int first, LatencyAggregate* out) {
  out->packets = s.UInt(first);
  out->clock_errors = s.UInt(first + 1);
  out->slowest_hash = s.UInt(first + 2);
  out->unsynchronized = s.UInt(first + 4);
  out->bound_max_ns = s.Int(first + 5);
  out->bound_sum_ns = s.UInt(first + 6);
  const int64_t method = s.Int(first + 7);
  if (method < 0 || method > static_cast<int64_t>(ClockMethod::kPassiveTwoWay)) {
    return absl::DataLossError(absl::StrCat("aggregate row with clock method ", method));
  }
  out->bound_method = static_cast<ClockMethod>(method);
  return out->latency.Deserialize(s.Blob(first + 3));
}

}  // namespace

absl::Status MergeMinuteRows(Db* db, const std::vector<MinuteRows>& minutes) {
  Stmt get(db, absl::StrCat("SELECT ", kColumns,
                            " FROM aggregates WHERE kind = ? AND key = ? AND minute = ?"));
  Stmt put(db, absl::StrCat("INSERT OR REPLACE INTO aggregates(kind, key, minute, ", kColumns,
                            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"));
  for (const MinuteRows& m : minutes) {
    for (const auto& [key, agg] : m.rows) {
      LatencyAggregate merged = agg;
      get.Bind(1, static_cast<int>(key.kind)).Bind(2, key.text).Bind(3, m.minute);
      absl::Status status;
      if (get.Step(&status)) {
        LatencyAggregate old;
        absl::Status d = ReadAggregateColumns(get, 0, &old);
        get.Reset();
        if (!d.ok()) return d;
        merged = old;
        merged.Merge(agg);
      } else if (!status.ok()) {
        return status;
      }
      const std::string hist = merged.latency.Serialize();
      put.Bind(1, static_cast<int>(key.kind))
          .Bind(2, key.text)
          .Bind(3, m.minute)
          .Bind(4, merged.packets)
          .Bind(5, merged.clock_errors)
          .Bind(6, merged.slowest_hash)
          .BindBlob(7, hist)
          .Bind(8, merged.unsynchronized)
          .Bind(9, merged.bound_max_ns)
          .Bind(10, merged.bound_sum_ns)
          .Bind(11, static_cast<int64_t>(merged.bound_method));
      if (absl::Status s = put.Run(); !s.ok()) return s;
    }
  }
  return absl::OkStatus();
}

absl::Status ReplaceMinuteRows(Db* db, const MinuteRows& minute) {
  Stmt del(db, "DELETE FROM aggregates WHERE kind = ? AND minute = ?");
  for (AggKind kind : kAllAggKinds) {
    if (absl::Status s = del.Bind(1, static_cast<int>(kind)).Bind(2, minute.minute).Run();
        !s.ok()) {
      return s;
    }
  }
  return MergeMinuteRows(db, {minute});
}

absl::Status ForEachAggregate(Db* db, AggKind kind, const std::string* key, int64_t from_minute,
                              int64_t to_minute,
                              const std::function<void(const std::string&,
                                                       const LatencyAggregate&)>& fn) {
  Stmt rows(db, absl::StrCat("SELECT key, ", kColumns, " FROM aggregates WHERE kind = ?1 AND ",
                             key != nullptr ? "key = ?4 AND " : "", "minute >= ?2 AND minute < ?3"));
  rows.Bind(1, static_cast<int>(kind)).Bind(2, from_minute).Bind(3, to_minute);
  if (key != nullptr) rows.Bind(4, *key);
  absl::Status status;
  std::string current_key;
  while (rows.Step(&status)) {
    LatencyAggregate agg;
    if (absl::Status d = ReadAggregateColumns(rows, 1, &agg); !d.ok()) {
      rows.Reset();
      return d;
    }
    current_key.assign(rows.Text(0).data(), rows.Text(0).size());
    fn(current_key, agg);
  }
  return status;
}

absl::Status DeleteAggregatesBefore(Db* db, AggKind kind, int64_t before_minute) {
  Stmt del(db, "DELETE FROM aggregates WHERE kind = ? AND minute < ?");
  return del.Bind(1, static_cast<int>(kind)).Bind(2, before_minute).Run();
}

}  // namespace hoplat
