#include "server/core/metrics.h"

namespace jobd::core {

Metrics& NoMetrics() {
  static Metrics* none = new Metrics();
  return *none;
}

}  // namespace jobd::core
