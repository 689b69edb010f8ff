// Following a paged List call (ListJobs, ListJobEvents, ListApiKeys) to its last page, with
// the one guard every caller needs: a server that hands back the token it was given would
// make the loop run forever.
#pragma once

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace jobd::client {

// Calls `call(request)` from request.page_token() on and hands each page to `on_page`
// (returning absl::Status) until a page has no next_page_token. Stops at the first error of
// either; INTERNAL when a page repeats the request's token.
template <typename Request, typename Call, typename OnPage>
absl::Status ForEachPage(Request request, const Call& call, const OnPage& on_page) {
  for (;;) {
    auto page = call(static_cast<const Request&>(request));
    if (!page.ok()) return page.status();
    if (absl::Status s = on_page(*page); !s.ok()) return s;
    if (page->next_page_token().empty()) return absl::OkStatus();
    if (page->next_page_token() == request.page_token()) {
      return absl::InternalError("the server returned the same page token twice");
    }
    request.set_page_token(page->next_page_token());
  }
}

}  // namespace jobd::client
