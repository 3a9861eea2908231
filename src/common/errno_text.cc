#include "reco/errno_text.h"

#include <system_error>

namespace reco {

std::string ErrnoText(int err) {
  // generic_category().message() is strerror_r underneath: no shared buffer.
  std::string text = std::generic_category().message(err);
  if (text.empty()) text = "errno " + std::to_string(err);
  return text;
}

Status ErrnoStatus(std::string_view what, int err) {
  std::string message(what);
  message += ": ";
  message += ErrnoText(err);
  return Status::IOError(std::move(message));
}

}  // namespace reco
