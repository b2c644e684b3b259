// SPDX-License-Identifier: MIT
#include "origin/posix_origin.h"

#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
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

// Issue 19.4: the old Read check passed a version that never matched, so it could not fail,
// and GetAttr / ReadLink followed a directory swapped for a symlink out of the root.
TEST_F(PosixOriginTest, NeverLeavesTheRoot) {
  testutil::ScratchDir outside_dir{"nc-outside"};
  const fs::path outside = outside_dir.path();
  std::ofstream(outside / "secret") << "outside the origin";
  fs::create_symlink("secret", outside / "secret-link");
  fs::create_symlink(outside, root_ / "out");
  // The outside file's real version, so a read that got there would succeed.
  auto outside_origin = OpenPosixOrigin(outside.string(), &pool_);
  ASSERT_TRUE(outside_origin.ok());
  auto secret = (*outside_origin)->GetAttr("secret");
  ASSERT_TRUE(secret.ok());

  std::string out(64, '\0');
  EXPECT_FALSE(Read("out/secret", secret->version, 0, &out).ok());
  EXPECT_EQ(out.find("outside"), std::string::npos);
  EXPECT_FALSE(origin_->GetAttr("out/secret").ok());
  EXPECT_FALSE(origin_->ReadLink("out/secret-link").ok());
  EXPECT_FALSE(origin_->ReadDir("out").ok());
  EXPECT_FALSE(origin_->ReadDir("..").ok());
  EXPECT_FALSE(origin_->GetAttr("../" + outside.filename().string() + "/secret").ok());
  // The link itself is inside and is seen as a link.
  EXPECT_EQ(origin_->GetAttr("out")->type, FileType::kSymlink);
}

// Issue 15.13: a FIFO in place of a file held an origin thread in open() for good.
TEST_F(PosixOriginTest, AFifoInPlaceOfAFileFailsTheReadAndHoldsNoThread) {
  ASSERT_EQ(::mkfifo((root_ / "fifo").c_str(), 0644), 0);
  auto attr = origin_->GetAttr("fifo");
  ASSERT_TRUE(attr.ok());
  EXPECT_EQ(attr->type, FileType::kOther);
  std::promise<util::Status> promise;
  auto future = promise.get_future();
  std::string buf(16, '\0');
  origin_->Read("fifo", attr->version, 0, {{reinterpret_cast<std::byte*>(buf.data()), buf.size()}},
                [&](util::Status s, size_t) { promise.set_value(std::move(s)); });
  // A bound, not a timing assertion: without the fix the read never completes.
  ASSERT_EQ(future.wait_for(std::chrono::seconds(60)), std::future_status::ready);
  EXPECT_FALSE(future.get().ok());
}

// Issue 15.5: the origin's ENAMETOOLONG reached readers as EIO.
TEST_F(PosixOriginTest, ANameTooLongIsSaidSo) {
  EXPECT_EQ(origin_->GetAttr(std::string(300, 'n')).status().code(), Code::kNameTooLong);
  EXPECT_EQ(origin_->GetAttr("dir/" + std::string(300, 'n')).status().code(), Code::kNameTooLong);
}

TEST_F(PosixOriginTest, MissingSourceIsAClearError) {
  auto opened = OpenPosixOrigin((root_ / "nope").string(), &pool_);
  ASSERT_FALSE(opened.ok());
  EXPECT_NE(opened.status().message().find("nope"), std::string::npos);
}

}  // namespace
}  // namespace origin
