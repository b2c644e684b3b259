// SPDX-License-Identifier: MIT
// http_origin.h — an HTTP(S) server's files as the origin. Directories come from index pages
// (http_listing.h) and, where listings are off, from HEAD requests; attributes from HEAD (size,
// Last-Modified, ETag). Reads are ranged GETs pinned to the version they started with: If-Range
// carries the ETag (or Last-Modified), and the reply's Content-Range must match the range and
// the pinned size. A full 200 reply with other validators means the file changed (kStale);
// with the same validators, the server ignores ranges and the body is read from the start.
#pragma once

#include <memory>
#include <string>

#include "origin/http_client.h"
#include "origin/origin.h"
#include "util/thread_pool.h"

namespace origin {

// `url` must be http:// or https://. With `probe`, asks the server once, so an unreachable or
// wrong URL is a clear error at mount time. `completion_pool` is borrowed and must outlive the
// origin.
util::Result<std::unique_ptr<Origin>> OpenHttpOrigin(const std::string& url,
                                                    HttpClientOptions options,
                                                    util::ThreadPool* completion_pool,
                                                    bool probe = true);

bool IsHttpUrl(const std::string& source);

}  // namespace origin
