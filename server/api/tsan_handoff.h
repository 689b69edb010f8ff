// Happens-before edges that ThreadSanitizer cannot see because they run through Debian's
// uninstrumented libgrpc: what one thread did before handing a reactor to gRPC (Finish,
// StartWrite) is ordered before what gRPC's thread does in the reaction it calls back
// (OnDone, OnWriteDone). No code outside TSan builds (JOBD_TSAN).
#pragma once

#ifdef JOBD_TSAN
#include <sanitizer/tsan_interface.h>
#endif

namespace jobd::api {

// Before handing `reactor` to gRPC.
inline void HandOffToGrpc(const void* reactor) {
#ifdef JOBD_TSAN
  __tsan_release(const_cast<void*>(reactor));
#else
  (void)reactor;
#endif
}

// First thing in a reaction of `reactor`.
inline void TakeBackFromGrpc(const void* reactor) {
#ifdef JOBD_TSAN
  __tsan_acquire(const_cast<void*>(reactor));
#else
  (void)reactor;
#endif
}

}  // namespace jobd::api
