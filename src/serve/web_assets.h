// The web UI's files (web/), embedded into the binary at build time (cmake/embed.cmake).
#pragma once

#include "common/embedded.h"

namespace hrflow::serve {

const EmbeddedFiles& web_files();  // "index.html", "app.js", "style.css"

}  // namespace hrflow::serve
