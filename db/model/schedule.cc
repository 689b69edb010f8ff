#include "db/model/schedule.h"

namespace jobd {

const char* OverlapPolicyName(OverlapPolicy policy) {
  switch (policy) {
    case OverlapPolicy::kSkip:
      return "skip";
    case OverlapPolicy::kBufferOne:
      return "buffer_one";
    case OverlapPolicy::kAllowAll:
      return "allow_all";
    case OverlapPolicy::kCancelOther:
      return "cancel_other";
  }
  return "skip";
}

}  // namespace jobd
