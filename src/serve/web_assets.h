// The web UI's files (web/), embedded into the binary at build time (generated web_assets.cpp).
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace hrflow::serve {

struct WebAsset {
  std::string path;  // "index.html", "app.js", "style.css"
  std::string_view mime;
  std::string_view data;
};

const std::vector<WebAsset>& web_assets();

}  // namespace hrflow::serve
