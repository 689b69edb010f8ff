// The process's own figures in Prometheus' standard names (process_cpu_seconds_total,
// process_resident_memory_bytes, ...), read from /proc at each scrape.
#pragma once

#include <vector>

#include <prometheus/metric_family.h>

namespace jobd::metrics {

std::vector<prometheus::MetricFamily> ProcessFamilies();

}  // namespace jobd::metrics
