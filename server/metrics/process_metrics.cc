#include "server/metrics/process_metrics.h"

#include <dirent.h>
#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

#include <sys/resource.h>

namespace jobd::metrics {
namespace {

prometheus::MetricFamily One(const char* name, const char* help, prometheus::MetricType type,
                             double value) {
  prometheus::MetricFamily family;
  family.name = name;
  family.help = help;
  family.type = type;
  prometheus::ClientMetric metric;
  if (type == prometheus::MetricType::Counter) {
    metric.counter.value = value;
  } else {
    metric.gauge.value = value;
  }
  family.metric.push_back(metric);
  return family;
}

int OpenFds() {
  int count = 0;
  if (DIR* dir = opendir("/proc/self/fd")) {
    while (dirent* entry = readdir(dir)) count += entry->d_name[0] != '.' ? 1 : 0;
    closedir(dir);
    --count;  // the directory's own descriptor
  }
  return count;
}

}  // namespace

std::vector<prometheus::MetricFamily> ProcessFamilies() {
  // /proc/self/stat: fields after the command (which may hold spaces) in its parentheses.
  std::ifstream stat_file("/proc/self/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  const size_t command_end = stat.rfind(')');
  std::istringstream fields(command_end == std::string::npos || command_end + 2 > stat.size()
                                ? std::string()
                                : stat.substr(command_end + 2));
  std::string field;
  double utime = 0, stime = 0, start_ticks = 0, vsize = 0, rss_pages = 0;
  for (int i = 3; fields >> field; ++i) {  // field 3 is the state
    if (i == 14) utime = std::stod(field);
    if (i == 15) stime = std::stod(field);
    if (i == 22) start_ticks = std::stod(field);
    if (i == 23) vsize = std::stod(field);
    if (i == 24) rss_pages = std::stod(field);
  }
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  double boot_time = 0;
  std::ifstream proc_stat("/proc/stat");
  for (std::string line; std::getline(proc_stat, line);) {
    if (line.rfind("btime ", 0) == 0) boot_time = std::stod(line.substr(6));
  }
  rlimit files{};
  getrlimit(RLIMIT_NOFILE, &files);
  using prometheus::MetricType;
  return {
      One("process_cpu_seconds_total", "User and system CPU time spent", MetricType::Counter,
          (utime + stime) / ticks),
      One("process_resident_memory_bytes", "Resident memory size", MetricType::Gauge,
          rss_pages * static_cast<double>(sysconf(_SC_PAGESIZE))),
      One("process_virtual_memory_bytes", "Virtual memory size", MetricType::Gauge, vsize),
      One("process_start_time_seconds", "Start time since the Unix epoch", MetricType::Gauge,
          boot_time + start_ticks / ticks),
      One("process_open_fds", "Open file descriptors", MetricType::Gauge, OpenFds()),
      One("process_max_fds", "Most open file descriptors allowed", MetricType::Gauge,
          static_cast<double>(files.rlim_cur)),
  };
}

}  // namespace jobd::metrics
