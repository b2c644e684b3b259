// SPDX-License-Identifier: MIT
#include "origin/http_listing.h"

#include <gtest/gtest.h>

namespace origin {
namespace {

std::vector<std::pair<std::string, FileType>> Names(const std::vector<ListingEntry>& entries) {
  std::vector<std::pair<std::string, FileType>> out;
  for (const auto& e : entries) out.emplace_back(e.name, e.type);
  return out;
}

TEST(HttpListingTest, NginxAutoindexHtml) {
  const std::string page = R"(<html>
<head><title>Index of /d/</title></head>
<body>
<h1>Index of /d/</h1><hr><pre><a href="../">../</a>
<a href="sub/">sub/</a>                                   26-Nov-2026 02:41                   -
<a href="a%20b.txt">a b.txt</a>                           26-Nov-2026 02:41                   3
<a href="hash%23tag%3F.txt">hash#tag?.txt</a>             26-Nov-2026 02:41                   3
<a href="amp&amp;x.txt">amp&amp;x.txt</a>                26-Nov-2026 02:41                   3
</pre><hr></body>
</html>)";
  auto entries = ParseListing(page, "text/html", "http://h/d/");
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(Names(*entries), (std::vector<std::pair<std::string, FileType>>{
                                 {"sub", FileType::kDirectory},
                                 {"a b.txt", FileType::kRegular},
                                 {"hash#tag?.txt", FileType::kRegular},
                                 {"amp&x.txt", FileType::kRegular}}));
}

TEST(HttpListingTest, ApacheModAutoindex) {
  const std::string page = R"(<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">
<html><head><title>Index of /data</title></head><body><h1>Index of /data</h1>
<table><tr><th><a href="?C=N;O=D">Name</a></th><th><a href="?C=M;O=A">Last modified</a></th></tr>
<tr><td><a href="/">Parent Directory</a></td></tr>
<tr><td><a href="file%20one.txt">file one.txt</a></td></tr>
<tr><td><a href="sub/">sub/</a></td></tr>
<tr><td><a href="/data/abs.bin">abs.bin</a></td></tr>
</table></body></html>)";
  auto entries = ParseListing(page, "text/html;charset=UTF-8", "http://h/data/");
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(Names(*entries), (std::vector<std::pair<std::string, FileType>>{
                                 {"file one.txt", FileType::kRegular},
                                 {"sub", FileType::kDirectory},
                                 {"abs.bin", FileType::kRegular}}));
}

TEST(HttpListingTest, PlainLinkListKeepsOnlyRelativeChildren) {
  const std::string page = R"(<ul><li><a href="x.bin">x</a></li>
<li><a href='./y.bin'>y</a></li><li><a href="https://other.example/z">z</a></li>
<li><a href="//cdn.example/w">w</a></li><li><a href="#top">top</a></li>
<li><a href="deep/er/file">deep</a></li><li><a href="x.bin">dup</a></li></ul>)";
  auto entries = ParseListing(page, "text/html", "http://h/");
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(Names(*entries), (std::vector<std::pair<std::string, FileType>>{
                                 {"x.bin", FileType::kRegular}, {"y.bin", FileType::kRegular}}));
}

TEST(HttpListingTest, NginxJson) {
  const std::string json = R"([
{ "name":"sub", "type":"directory", "mtime":"Thu, 26 Nov 2026 02:41:00 GMT" },
{ "name":"f #1.txt", "type":"file", "mtime":"Thu, 26 Nov 2026 02:41:00 GMT", "size":42 }
])";
  auto entries = ParseListing(json, "application/json", "http://h/json/");
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].type, FileType::kDirectory);
  EXPECT_EQ((*entries)[1].name, "f #1.txt");
  EXPECT_TRUE((*entries)[1].has_size);
  EXPECT_EQ((*entries)[1].size, 42u);
}

// Issue 15.5: a JSON listing naming a file twice gave two directory entries of one name.
TEST(HttpListingTest, JsonNameListedTwiceIsOneEntryTheFirst) {
  const std::string json = R"([
{ "name":"a", "type":"file", "size":1 },
{ "name":"b", "type":"file", "size":2 },
{ "name":"a", "type":"directory" }
])";
  auto entries = ParseListing(json, "application/json", "http://h/json/");
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(Names(*entries), (std::vector<std::pair<std::string, FileType>>{
                                 {"a", FileType::kRegular}, {"b", FileType::kRegular}}));
  EXPECT_EQ((*entries)[0].size, 1u);
}

TEST(HttpListingTest, SizesAndMtimesFromTheColumnsAfterEachLink) {
  const std::string nginx = R"(<html><body><pre><a href="../">../</a>
<a href="sub/">sub/</a>                                   26-Nov-2026 02:41                   -
<a href="a.txt">a.txt</a>                                 26-Nov-2026 02:41               12345
<a href="nodate.txt">nodate.txt</a>
</pre></body></html>)";
  auto entries = ParseListing(nginx, "text/html", "http://h/d/");
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 3u);
  const int64_t minute = 1795660860;  // 2026-11-26 02:41:00 UTC.
  EXPECT_TRUE((*entries)[0].has_mtime);
  EXPECT_FALSE((*entries)[0].has_size);  // "-"
  EXPECT_EQ((*entries)[1].mtime_s, minute);
  EXPECT_EQ((*entries)[1].mtime_granularity_s, 60);
  EXPECT_TRUE((*entries)[1].has_size);
  EXPECT_EQ((*entries)[1].size, 12345u);
  EXPECT_FALSE((*entries)[2].has_mtime);  // The next line's columns are not this link's.
  EXPECT_FALSE((*entries)[2].has_size);

  // Apache: columns in table cells; rounded sizes ("12K") are no sizes.
  const std::string apache = R"(<html><body><table>
<tr><td><a href="big.bin">big.bin</a></td><td align="right">2026-11-26 02:41  </td><td align="right"> 12K</td></tr>
<tr><td><a href="small.txt">small.txt</a></td><td align="right">2026-11-26 02:41  </td><td align="right">310</td></tr>
</table></body></html>)";
  entries = ParseListing(apache, "text/html", "http://h/d/");
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_EQ((*entries)[0].mtime_s, minute);
  EXPECT_FALSE((*entries)[0].has_size);
  EXPECT_TRUE((*entries)[1].has_size);
  EXPECT_EQ((*entries)[1].size, 310u);
}

TEST(HttpListingTest, JsonMtimeToTheSecond) {
  auto entries = ParseListing(
      R"([{ "name":"f", "type":"file", "mtime":"Thu, 26 Nov 2026 02:41:07 GMT", "size":1 },
          { "name":"g", "type":"file", "mtime":"yesterday", "size":1 }])",
      "application/json", "http://h/");
  ASSERT_TRUE(entries.ok());
  ASSERT_EQ(entries->size(), 2u);
  EXPECT_TRUE((*entries)[0].has_mtime);
  EXPECT_EQ((*entries)[0].mtime_s, 1795660867);
  EXPECT_EQ((*entries)[0].mtime_granularity_s, 1);
  EXPECT_FALSE((*entries)[1].has_mtime);
}

TEST(HttpListingTest, EmptyNginxDirectoryIsEmptyNotAnError) {
  auto entries = ParseListing("<html><body><pre><a href=\"../\">../</a>\n</pre></body></html>",
                              "text/html", "http://h/e/");
  ASSERT_TRUE(entries.ok());
  EXPECT_TRUE(entries->empty());
}

TEST(HttpListingTest, UnparseableListingIsAnErrorNamingTheUrl) {
  for (auto [body, type] : std::vector<std::pair<std::string, std::string>>{
           {"just some text", "text/plain"},
           {"[not json", "application/json"},
           {"<html><body>Welcome!</body></html>", "text/html"},
           {R"([{"nom": 1}])", "application/json"}}) {
    auto entries = ParseListing(body, type, "http://h/x/");
    ASSERT_FALSE(entries.ok()) << body;
    EXPECT_NE(entries.status().message().find("http://h/x/"), std::string::npos);
  }
}

TEST(HttpListingTest, PercentCoding) {
  EXPECT_EQ(PercentEncodeComponent("a b#?%/é"), "a%20b%23%3F%25%2F%C3%A9");
  EXPECT_EQ(PercentDecode("a%20b%23%3F%25%2F%C3%A9"), "a b#?%/é");
  EXPECT_EQ(PercentDecode("bad%zz%4"), "bad%zz%4");
}

}  // namespace
}  // namespace origin
