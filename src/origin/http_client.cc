// SPDX-License-Identifier: MIT
#include "origin/http_client.h"

#include <algorithm>
#include <cctype>
#include <future>

#include "util/check.h"

namespace origin {

using util::Code;
using util::Status;

struct HttpClient::Transfer {
  CURL* easy = nullptr;
  HttpRequest request;
  std::function<void(HttpResponse)> done;
  HttpResponse response;
  curl_slist* headers = nullptr;
  char error[CURL_ERROR_SIZE] = {};
  bool aborted_by_sink = false;
};

namespace {

size_t OnHeader(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<HttpClient::Transfer*>(user);
  std::string line(data, size * count);
  if (line.rfind("HTTP/", 0) == 0) {
    transfer->response.headers.clear();  // A new response (after a redirect or 100).
    transfer->response.status = 0;
    return size * count;
  }
  size_t colon = line.find(':');
  if (colon != std::string::npos) {
    std::string name = line.substr(0, colon);
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return std::tolower(c); });
    size_t start = line.find_first_not_of(" \t", colon + 1);
    size_t end = line.find_last_not_of(" \t\r\n");
    transfer->response.headers[name] =
        start == std::string::npos || end < start ? "" : line.substr(start, end - start + 1);
  }
  return size * count;
}

constexpr long kBodyBufferSize = 512 * 1024;  // libcurl's maximum.

size_t OnBody(char* data, size_t size, size_t count, void* user) {
  auto* transfer = static_cast<HttpClient::Transfer*>(user);
  size_t len = size * count;
  if (!transfer->request.on_body) {
    transfer->response.body.append(data, len);
    return len;
  }
  if (transfer->response.status == 0) {
    curl_easy_getinfo(transfer->easy, CURLINFO_RESPONSE_CODE, &transfer->response.status);
  }
  if (!transfer->request.on_body(data, len, transfer->response)) {
    transfer->aborted_by_sink = true;
    return 0;  // Aborts with CURLE_WRITE_ERROR.
  }
  return len;
}

}  // namespace

HttpClient::HttpClient(HttpClientOptions options, util::ThreadPool* completion_pool)
    : options_(std::move(options)), completion_pool_(completion_pool) {
  static std::once_flag global_init;
  std::call_once(global_init, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
  multi_ = curl_multi_init();
  NC_CHECK(multi_ != nullptr);
  curl_multi_setopt(multi_, CURLMOPT_MAX_HOST_CONNECTIONS, static_cast<long>(options_.max_connections));
  curl_multi_setopt(multi_, CURLMOPT_PIPELINING, CURLPIPE_MULTIPLEX);
  for (const std::string& header : options_.headers) {
    common_headers_ = curl_slist_append(common_headers_, header.c_str());
  }
  loop_ = std::thread([this] { Loop(); });
}

HttpClient::~HttpClient() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  curl_multi_wakeup(multi_);
  loop_.join();
  curl_multi_cleanup(multi_);
  curl_slist_free_all(common_headers_);
}

void HttpClient::Submit(HttpRequest request, std::function<void(HttpResponse)> done) {
  auto transfer = std::make_unique<Transfer>();
  transfer->request = std::move(request);
  transfer->done = std::move(done);
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      pending_.push_back(std::move(transfer));
      transfer = nullptr;
    }
  }
  if (transfer) {
    HttpResponse response;
    response.curl_code = CURLE_ABORTED_BY_CALLBACK;
    response.error = "HTTP client is shutting down";
    completion_pool_->Submit([done = std::move(transfer->done), response] { done(response); });
    return;
  }
  curl_multi_wakeup(multi_);
}

HttpResponse HttpClient::Perform(HttpRequest request) {
  std::promise<HttpResponse> promise;
  auto future = promise.get_future();
  Submit(std::move(request), [&promise](HttpResponse response) { promise.set_value(std::move(response)); });
  return future.get();
}

CURL* HttpClient::NewEasy(Transfer* transfer) {
  CURL* easy = curl_easy_init();
  NC_CHECK(easy != nullptr);
  transfer->easy = easy;
  curl_easy_setopt(easy, CURLOPT_URL, transfer->request.url.c_str());
  curl_easy_setopt(easy, CURLOPT_PRIVATE, transfer);
  curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, transfer->error);
  curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 1L);
  curl_easy_setopt(easy, CURLOPT_MAXREDIRS, 10L);
  curl_easy_setopt(easy, CURLOPT_HTTP_VERSION, CURL_HTTP_VERSION_2TLS);
  curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT, options_.connect_timeout_s);
  // "Stalled": less than 1 byte/s for stall_timeout_s.
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_LIMIT, 1L);
  curl_easy_setopt(easy, CURLOPT_LOW_SPEED_TIME, options_.stall_timeout_s);
  curl_easy_setopt(easy, CURLOPT_ACCEPT_ENCODING, nullptr);  // Byte ranges must be identity.
  if (!options_.ca_file.empty()) curl_easy_setopt(easy, CURLOPT_CAINFO, options_.ca_file.c_str());
  if (options_.insecure) {
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(easy, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (transfer->request.head) curl_easy_setopt(easy, CURLOPT_NOBODY, 1L);
  for (const std::string& header : options_.headers) {
    transfer->headers = curl_slist_append(transfer->headers, header.c_str());
  }
  for (const std::string& header : transfer->request.headers) {
    transfer->headers = curl_slist_append(transfer->headers, header.c_str());
  }
  if (transfer->headers != nullptr) curl_easy_setopt(easy, CURLOPT_HTTPHEADER, transfer->headers);
  curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, OnHeader);
  curl_easy_setopt(easy, CURLOPT_HEADERDATA, transfer);
  // One thread receives for every transfer: at loopback speeds its 16 KiB default buffer makes
  // it spend its time on recv() calls and callbacks rather than on bytes.
  if (transfer->request.on_body) curl_easy_setopt(easy, CURLOPT_BUFFERSIZE, kBodyBufferSize);
  curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, OnBody);
  curl_easy_setopt(easy, CURLOPT_WRITEDATA, transfer);
  return easy;
}

void HttpClient::Loop() noexcept {
  for (;;) {
    std::deque<std::unique_ptr<Transfer>> starting;
    bool stopping;
    {
      std::lock_guard lock(mu_);
      starting.swap(pending_);
      stopping = stopping_;
    }
    for (auto& transfer : starting) {
      active_.push_back(NewEasy(transfer.release()));
      curl_multi_add_handle(multi_, active_.back());
    }
    int running = 0;
    curl_multi_perform(multi_, &running);
    int queued = 0;
    while (CURLMsg* msg = curl_multi_info_read(multi_, &queued)) {
      if (msg->msg != CURLMSG_DONE) continue;
      CURL* easy = msg->easy_handle;
      Transfer* raw = nullptr;
      curl_easy_getinfo(easy, CURLINFO_PRIVATE, &raw);
      std::unique_ptr<Transfer> transfer(raw);
      transfer->response.curl_code = msg->data.result;
      curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &transfer->response.status);
      char* effective = nullptr;
      curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &effective);
      if (effective != nullptr) transfer->response.effective_url = effective;
      if (msg->data.result != CURLE_OK) {
        transfer->response.error = transfer->error[0] != '\0' ? transfer->error
                                                              : curl_easy_strerror(msg->data.result);
      }
      curl_multi_remove_handle(multi_, easy);
      curl_easy_cleanup(easy);
      active_.erase(std::find(active_.begin(), active_.end(), easy));
      curl_slist_free_all(transfer->headers);
      transfer->headers = nullptr;
      completion_pool_->Submit([done = std::move(transfer->done),
                                response = std::move(transfer->response)]() mutable {
        done(std::move(response));
      });
    }
    if (stopping && running == 0) break;
    if (stopping) {
      // Abandon what is still in flight: fail it rather than wait for slow servers.
      for (CURL* easy : active_) {
        Transfer* raw = nullptr;
        curl_easy_getinfo(easy, CURLINFO_PRIVATE, &raw);
        curl_multi_remove_handle(multi_, easy);
        curl_easy_cleanup(easy);
        std::unique_ptr<Transfer> transfer(raw);
        curl_slist_free_all(transfer->headers);
        transfer->response.curl_code = CURLE_ABORTED_BY_CALLBACK;
        transfer->response.error = "HTTP client is shutting down";
        completion_pool_->Submit([done = std::move(transfer->done),
                                  response = std::move(transfer->response)]() mutable {
          done(std::move(response));
        });
      }
      active_.clear();
      break;
    }
    curl_multi_poll(multi_, nullptr, 0, 1000, nullptr);
  }
}

Status StatusOf(const HttpResponse& response, const std::string& what) {
  if (response.curl_code != CURLE_OK) {
    switch (response.curl_code) {
      case CURLE_SSL_CACERT_BADFILE:
      case CURLE_PEER_FAILED_VERIFICATION:
      case CURLE_SSL_CERTPROBLEM:
      case CURLE_URL_MALFORMAT:
      case CURLE_UNSUPPORTED_PROTOCOL:
        return Status::Error(Code::kIOError, what + ": " + response.error);
      default:
        // Timeouts, resets, refused connections, truncated bodies: worth another try.
        return Status::Error(Code::kUnavailable, what + ": " + response.error, /*retryable=*/true);
    }
  }
  long s = response.status;
  if (s >= 200 && s < 300) return Status::Ok();
  std::string message = what + ": HTTP " + std::to_string(s);
  if (s == 404 || s == 410) return Status::Error(Code::kNotFound, message);
  if (s == 401 || s == 403) return Status::Error(Code::kPermissionDenied, message);
  if (s == 412) return Status::Error(Code::kStale, message);
  if (s == 408 || s == 429 || s >= 500) return Status::Error(Code::kUnavailable, message, true);
  return Status::Error(Code::kIOError, message);
}

}  // namespace origin
