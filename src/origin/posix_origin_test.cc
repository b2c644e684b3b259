// SPDX-License-Identifier: MIT
#include "origin/posix_origin.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <future>

#include "testutil/scratch_dir.h"

namespace origin {
namespace {

namespace fs = std::filesystem;
using util::Code;

class PosixOriginTest : public ::testing::Test {
 protected:
  void SetUp() override {
    fs::create_directories(root_ / "dir");
    std::ofstream(root_ / "dir" / "f") << "hello world";
    fs::create_symlink("dir/f", root_ / "link");
    fs::create_symlink("/etc", root_ / "escape");
    auto opened = OpenPosixOrigin(root_.string(), &pool_);
    ASSERT_TRUE(opened.ok());
    origin_ = std::move(*opened);
  }

  util::Status Read(const std::string& path, const std::string& version, uint64_t pos,
                    std::string* out) {
    std::promise<std::pair<util::Status, size_t>> promise;
    origin_->Read(path, version, pos, {{reinterpret_cast<std::byte*>(out->data()), out->size()}},
                  [&](util::Status s, size_t n) { promise.set_value({std::move(s), n}); });
    auto [status, n] = promise.get_future().get();
    out->resize(n);
    return status;
  }

  testutil::ScratchDir scratch_{"nc-origin"};
  const fs::path root_ = scratch_.path();
  util::ThreadPool pool_{"test-origin", 2};
  std::unique_ptr<Origin> origin_;
};

TEST_F(PosixOriginTest, AttributesListingsAndLinks) {
  auto attr = origin_->GetAttr("dir/f");
  ASSERT_TRUE(attr.ok());
  EXPECT_EQ(attr->type, FileType::kRegular);
  EXPECT_EQ(attr->size, 11u);
  EXPECT_EQ(origin_->GetAttr("link")->type, FileType::kSymlink);
  EXPECT_EQ(*origin_->ReadLink("link"), "dir/f");
  EXPECT_EQ(origin_->GetAttr("")->type, FileType::kDirectory);
  auto entries = origin_->ReadDir("");
  ASSERT_TRUE(entries.ok());
  EXPECT_EQ(entries->size(), 3u);
  EXPECT_EQ(origin_->GetAttr("missing").status().code(), Code::kNotFound);
}

TEST_F(PosixOriginTest, ReadsArePinnedToAVersion) {
  auto attr = *origin_->GetAttr("dir/f");
  std::string out(5, '\0');
  ASSERT_TRUE(Read("dir/f", attr.version, 6, &out).ok());
  EXPECT_EQ(out, "world");
  std::string longer(100, '\0');
  ASSERT_TRUE(Read("dir/f", attr.version, 0, &longer).ok());
  EXPECT_EQ(longer, "hello world");  // Short at EOF.
  std::ofstream(root_ / "dir" / "f") << "HELLO WORLD!";
  auto fresh = *origin_->GetAttr("dir/f");
  EXPECT_NE(fresh.version, attr.version);
  std::string stale(5, '\0');
  EXPECT_EQ(Read("dir/f", attr.version, 0, &stale).code(), Code::kStale);
}

TEST_F(PosixOriginTest, NeverLeavesTheRoot) {
  std::string out(10, '\0');
  EXPECT_FALSE(Read("escape/hostname", "x", 0, &out).ok());
  EXPECT_FALSE(origin_->ReadDir("escape").ok());
  EXPECT_FALSE(origin_->ReadDir("..").ok());
}

TEST_F(PosixOriginTest, MissingSourceIsAClearError) {
  auto opened = OpenPosixOrigin((root_ / "nope").string(), &pool_);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("nope"), std::string::npos);
}

}  // namespace
}  // namespace origin
