// SPDX-License-Identifier: MIT
// http_listing.h — directory listings from web servers' index pages: nginx autoindex (HTML and
// `autoindex_format json`), Apache mod_autoindex, and plain HTML lists of relative links.
// Only links to direct children count (no parents, no absolute or external URLs, no sort or
// query links); names are %-decoded and HTML-entity-decoded.
#pragma once

#include <string>
#include <vector>

#include "origin/origin.h"
#include "util/status.h"

namespace origin {

struct ListingEntry {
  std::string name;
  FileType type = FileType::kRegular;
  bool has_size = false;  // Only sizes printed in bytes count ("12K" does not).
  uint64_t size = 0;
  bool has_mtime = false;
  int64_t mtime_s = 0;             // Seconds since the epoch, UTC, rounded down to...
  int64_t mtime_granularity_s = 1;  // ...this: 1 for JSON, 60 for HTML pages (minutes).
};

// `content_type` is the response's Content-Type (may be empty). A body that is neither valid
// JSON of the nginx shape nor an HTML page with links is an error naming `url`.
util::Result<std::vector<ListingEntry>> ParseListing(const std::string& body,
                                                     const std::string& content_type,
                                                     const std::string& url);

std::string PercentDecode(const std::string& text);
// Encodes one path component for a URL (RFC 3986 unreserved characters stay as they are).
std::string PercentEncodeComponent(const std::string& name);

}  // namespace origin
