// The embedded stream log (log.h) as a StreamProducer / StreamConsumer.
//
// Producer: records are buffered per partition and written as one checksummed batch per partition
// every few MiB (or on flush()), each partition fsynced once per such cycle (stream.log.fsync=batch),
// after every record (always) or never. acknowledged() counts records whose cycle is written and
// synced. A failed write cuts the log back to the last acknowledged record and the producer stops with
// that error. One producer process per log (flock).
// Consumer: one consumer per group (flock on the group), assigned every partition; positions start at
// the group's committed positions, or at the oldest record kept.
#pragma once

#include <memory>
#include <string>

#include "stream/log.h"
#include "stream/stream.h"

namespace hrflow::stream {

Result<std::unique_ptr<StreamProducer>> open_local_producer(const LogOptions& options);
Result<std::unique_ptr<StreamConsumer>> open_local_consumer(const LogOptions& options, const std::string& group);

}  // namespace hrflow::stream
