// The dashboard's files (web/), compiled into jobd by server/http/embed_assets.cmake: the
// binary serves them with no files beside it and no network.
#pragma once

#include <cstddef>

#include "absl/strings/string_view.h"

namespace jobd::http {

struct DashboardAsset {
  const char* path;  // "/index.html"
  const char* data;
  size_t size;
  const char* content_type;
};

// "/" is "/index.html"; null when there is no such file.
const DashboardAsset* FindDashboardAsset(absl::string_view path);

}  // namespace jobd::http
