// SPDX-License-Identifier: MIT
// http_client.h — HTTP(S) requests over libcurl's multi interface: one loop thread drives every
// transfer, so connections are reused across requests (and multiplexed with HTTP/2 where the
// server offers it), and many range requests can be in flight at once.
//
// Completions run on the caller's thread pool, never on the loop thread, so a slow completion
// cannot stall other transfers. Request headers may carry credentials: they are never logged.
#pragma once

#include <curl/curl.h>

#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "util/status.h"
#include "util/thread_pool.h"

namespace origin {

struct HttpClientOptions {
  int max_connections = 8;         // Per host.
  long connect_timeout_s = 10;
  long stall_timeout_s = 30;       // A transfer with no progress for this long fails.
  std::string ca_file;             // Empty: the system's CA store.
  bool insecure = false;           // Skip TLS verification (only when asked).
  std::vector<std::string> headers;  // "Name: value", sent with every request.
};

struct HttpResponse {
  CURLcode curl_code = CURLE_OK;
  long status = 0;
  std::map<std::string, std::string> headers;  // Lower-case names, of the final response.
  std::string effective_url;
  std::string error;  // curl's message when curl_code != CURLE_OK.
  std::string body;   // Only when the request had no body sink.
};

struct HttpRequest {
  std::string url;
  bool head = false;
  std::vector<std::string> headers;
  // Receives the body in pieces; returns false to abort the transfer. Null: kept in `body`.
  std::function<bool(const char* data, size_t len, const HttpResponse& so_far)> on_body;
};

class HttpClient {
 public:
  struct Transfer;  // Defined in http_client.cc.
  // `completion_pool` is borrowed; it must outlive the client.
  HttpClient(HttpClientOptions options, util::ThreadPool* completion_pool);
  ~HttpClient();  // Fails transfers still in flight with CURLE_ABORTED_BY_CALLBACK.
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // `done` is called exactly once, on the completion pool.
  void Submit(HttpRequest request, std::function<void(HttpResponse)> done);
  // Blocks until the response is complete. REQUIRES: not called on the completion pool.
  HttpResponse Perform(HttpRequest request);

 private:
  void Loop() noexcept;
  CURL* NewEasy(Transfer* transfer);

  const HttpClientOptions options_;
  util::ThreadPool* const completion_pool_;
  CURLM* multi_ = nullptr;
  curl_slist* common_headers_ = nullptr;
  std::mutex mu_;
  std::deque<std::unique_ptr<Transfer>> pending_;  // Protected by mu_.
  bool stopping_ = false;                          // Protected by mu_.
  std::vector<CURL*> active_;  // Loop thread only: transfers added to multi_.
  std::thread loop_;
};

// Maps a finished transfer to a Status: curl errors and 5xx are retryable, 404 is kNotFound.
util::Status StatusOf(const HttpResponse& response, const std::string& what);

}  // namespace origin
