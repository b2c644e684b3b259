// SPDX-License-Identifier: MIT
#include "origin/http_listing.h"

#include <curl/curl.h>
#include <nlohmann/json.hpp>

#include <cctype>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <set>
#include <sstream>

namespace origin {
namespace {

using util::Code;
using util::Status;

int HexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

std::string DecodeEntities(const std::string& text) {
  static const std::pair<const char*, char> kEntities[] = {
      {"&amp;", '&'}, {"&lt;", '<'}, {"&gt;", '>'}, {"&quot;", '"'}, {"&#39;", '\''}, {"&apos;", '\''}};
  std::string out;
  for (size_t i = 0; i < text.size();) {
    bool replaced = false;
    if (text[i] == '&') {
      for (auto& [entity, ch] : kEntities) {
        if (text.compare(i, std::char_traits<char>::length(entity), entity) == 0) {
          out += ch;
          i += std::char_traits<char>::length(entity);
          replaced = true;
          break;
        }
      }
    }
    if (!replaced) out += text[i++];
  }
  return out;
}

bool ValidName(const std::string& name) {
  return !name.empty() && name != "." && name != ".." && name.find('/') == std::string::npos &&
         name.find('\0') == std::string::npos;
}

// A link that names a direct child: "name", "name/", "./name", or the same with the full
// directory path in front (`dir_path`, as served, ending in '/').
bool ChildOf(std::string href, const std::string& dir_path, ListingEntry* entry) {
  if (href.empty() || href[0] == '?' || href[0] == '#') return false;
  size_t cut = href.find_first_of("?#");
  if (cut != std::string::npos) href.resize(cut);
  if (href.find("://") != std::string::npos || href.rfind("//", 0) == 0) return false;
  if (href.rfind("mailto:", 0) == 0 || href.rfind("javascript:", 0) == 0) return false;
  if (href[0] == '/') {
    if (dir_path.empty() || href.rfind(dir_path, 0) != 0) return false;
    href = href.substr(dir_path.size());
  }
  if (href.rfind("./", 0) == 0) href = href.substr(2);
  bool directory = !href.empty() && href.back() == '/';
  if (directory) href.pop_back();
  std::string name = PercentDecode(href);
  if (!ValidName(name)) return false;
  entry->name = name;
  entry->type = directory ? FileType::kDirectory : FileType::kRegular;
  return true;
}

int MonthIndex(const char* name) {
  static const char* kMonths[] = {"jan", "feb", "mar", "apr", "may", "jun",
                                  "jul", "aug", "sep", "oct", "nov", "dec"};
  for (int i = 0; i < 12; ++i) {
    if (strncasecmp(name, kMonths[i], 3) == 0) return i;
  }
  return -1;
}

bool ValidTm(const std::tm& tm) {
  return tm.tm_mon >= 0 && tm.tm_mday >= 1 && tm.tm_mday <= 31 && tm.tm_hour >= 0 &&
         tm.tm_hour <= 23 && tm.tm_min >= 0 && tm.tm_min <= 59 && tm.tm_sec >= 0 && tm.tm_sec <= 60 &&
         tm.tm_year >= 70;
}

// nginx's JSON "mtime": an HTTP date, "Thu, 26 Nov 2026 04:49:04 GMT" (curl parses those).
bool ParseHttpDate(const std::string& text, int64_t* seconds) {
  time_t t = curl_getdate(text.c_str(), nullptr);
  if (t <= 0) return false;
  *seconds = static_cast<int64_t>(t);
  return true;
}

// The columns a server prints after a link: nginx "26-Nov-2026 04:49   12345" (UTC), Apache
// "2026-11-26 04:49  12K" (tags between columns are dropped first). The mtime is to the minute;
// the size counts only when printed in bytes.
void ParseColumns(const std::string& text, ListingEntry* entry) {
  std::string plain;
  bool in_tag = false;
  for (char c : text) {
    if (c == '<') in_tag = true;
    if (!in_tag) plain += c;
    if (c == '>') in_tag = false, plain += ' ';
  }
  std::istringstream in(plain);
  std::vector<std::string> words;
  for (std::string word; in >> word && words.size() < 8;) words.push_back(word);
  for (size_t i = 0; i + 1 < words.size(); ++i) {
    std::tm tm = {};
    char month[4] = {};
    int consumed = 0;
    bool nginx_date = std::sscanf(words[i].c_str(), "%2d-%3[A-Za-z]-%4d%n", &tm.tm_mday, month,
                                  &tm.tm_year, &consumed) == 3;
    if (nginx_date) {
      tm.tm_mon = MonthIndex(month);
    } else if (std::sscanf(words[i].c_str(), "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                           &consumed) == 3) {
      tm.tm_mon -= 1;
    } else {
      continue;
    }
    if (static_cast<size_t>(consumed) != words[i].size()) continue;
    int after_time = 0;
    if (std::sscanf(words[i + 1].c_str(), "%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &after_time) != 2 ||
        static_cast<size_t>(after_time) != words[i + 1].size()) {
      continue;
    }
    tm.tm_year -= 1900;
    if (!ValidTm(tm)) continue;
    entry->has_mtime = true;
    entry->mtime_s = timegm(&tm);
    entry->mtime_granularity_s = 60;
    if (i + 2 < words.size() && words[i + 2].find_first_not_of("0123456789") == std::string::npos &&
        words[i + 2].size() <= 19) {
      entry->has_size = true;
      entry->size = std::strtoull(words[i + 2].c_str(), nullptr, 10);
    }
    return;
  }
}

util::Result<std::vector<ListingEntry>> ParseJson(const std::string& body, const std::string& url) {
  auto json = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (json.is_discarded() || !json.is_array()) {
    return Status::Error(Code::kIOError, "cannot parse the JSON directory listing at " + url);
  }
  std::vector<ListingEntry> entries;
  std::set<std::string> seen;  // A name listed twice is one file: the first entry wins.
  for (const auto& item : json) {
    if (!item.is_object() || !item.contains("name") || !item["name"].is_string()) {
      return Status::Error(Code::kIOError, "unexpected JSON directory listing at " + url);
    }
    ListingEntry entry;
    entry.name = item["name"].get<std::string>();
    if (!ValidName(entry.name) || !seen.insert(entry.name).second) continue;
    std::string type = item.value("type", "file");
    entry.type = type == "directory" ? FileType::kDirectory
                 : type == "file"    ? FileType::kRegular
                                     : FileType::kOther;
    if (item.contains("size") && item["size"].is_number_unsigned()) {
      entry.has_size = true;
      entry.size = item["size"].get<uint64_t>();
    }
    if (item.contains("mtime") && item["mtime"].is_string()) {
      entry.has_mtime = ParseHttpDate(item["mtime"].get<std::string>(), &entry.mtime_s);
    }
    entries.push_back(std::move(entry));
  }
  return entries;
}

std::string Lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

}  // namespace

std::string PercentDecode(const std::string& text) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size()) {
      int hi = HexValue(text[i + 1]);
      int lo = HexValue(text[i + 2]);
      if (hi >= 0 && lo >= 0) {
        out += static_cast<char>(hi * 16 + lo);
        i += 2;
        continue;
      }
    }
    out += text[i];
  }
  return out;
}

std::string PercentEncodeComponent(const std::string& name) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : name) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

util::Result<std::vector<ListingEntry>> ParseListing(const std::string& body,
                                                     const std::string& content_type,
                                                     const std::string& url) {
  std::string type = Lower(content_type);
  size_t first = body.find_first_not_of(" \t\r\n");
  if (type.find("json") != std::string::npos || (first != std::string::npos && body[first] == '[')) {
    return ParseJson(body, url);
  }
  // The directory's own path as the server sees it, for links written absolute (Apache can).
  std::string dir_path;
  size_t scheme = url.find("://");
  size_t path_start = scheme == std::string::npos ? std::string::npos : url.find('/', scheme + 3);
  if (path_start != std::string::npos) dir_path = PercentDecode(url.substr(path_start));

  std::string lower = Lower(body);
  std::vector<ListingEntry> entries;
  std::set<std::string> seen;
  size_t anchors = 0;
  for (size_t at = lower.find("<a"); at != std::string::npos; at = lower.find("<a", at + 2)) {
    size_t tag_end = lower.find('>', at);
    if (tag_end == std::string::npos) break;
    size_t href = lower.find("href", at);
    if (href == std::string::npos || href > tag_end) continue;
    size_t eq = lower.find('=', href);
    if (eq == std::string::npos || eq > tag_end) continue;
    size_t start = lower.find_first_not_of(" \t\r\n", eq + 1);
    if (start == std::string::npos || start >= tag_end) continue;
    std::string value;
    if (body[start] == '"' || body[start] == '\'') {
      size_t close = body.find(body[start], start + 1);
      if (close == std::string::npos) continue;
      value = body.substr(start + 1, close - start - 1);
    } else {
      size_t close = lower.find_first_of(" \t\r\n>", start);
      value = body.substr(start, close - start);
    }
    ++anchors;
    ListingEntry entry;
    if (ChildOf(DecodeEntities(value), dir_path, &entry) && seen.insert(entry.name).second) {
      size_t link_end = lower.find("</a>", tag_end);
      if (link_end != std::string::npos) {
        size_t next = std::min(lower.find("<a", link_end), lower.find('\n', link_end));
        if (next == std::string::npos) next = body.size();
        if (next > link_end + 4) ParseColumns(body.substr(link_end + 4, next - link_end - 4), &entry);
      }
      entries.push_back(std::move(entry));
    }
  }
  bool looks_like_html = lower.find("<html") != std::string::npos ||
                         lower.find("<body") != std::string::npos ||
                         lower.find("<pre") != std::string::npos || anchors > 0;
  if (!looks_like_html || (anchors == 0 && lower.find("index of") == std::string::npos)) {
    return Status::Error(Code::kIOError, "cannot parse the directory listing at " + url +
                                             " (no index page: is directory listing enabled?)");
  }
  return entries;
}

}  // namespace origin
