// SPDX-License-Identifier: MIT
#include "cachefiles/cachefiles.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <random>
#include <thread>

#include "cachefiles/metadata.h"
#include "testutil/scratch_dir.h"

namespace cachefiles {
namespace {

namespace fs = std::filesystem;
using util::Code;

constexpr uint64_t kGranule = 4096;

class CachefilesTest : public ::testing::Test {
 protected:
  // Tests decide when the cache directory is created (OpenCache makes it).
  void SetUp() override { fs::remove_all(dir_); }

  std::unique_ptr<fscache::BackendVolume> Volume() {
    auto backend = OpenCache(dir_.string(), kGranule);
    EXPECT_TRUE(backend.ok()) << backend.status().ToString();
    backend_ = std::move(*backend);
    auto volume = backend_->AcquireVolume("posix:/srv/data");
    EXPECT_TRUE(volume.ok()) << volume.status().ToString();
    return std::move(*volume);
  }
  static std::string Pattern(size_t len, int seed) {
    std::mt19937 rng(seed);
    std::string s(len, '\0');
    for (char& c : s) c = static_cast<char>(rng());
    return s;
  }
  static std::span<const std::byte> Bytes(const std::string& s) {
    return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
  }
  static std::span<std::byte> Bytes(std::string& s) {
    return {reinterpret_cast<std::byte*>(s.data()), s.size()};
  }
  // The one object file with the given suffix.
  fs::path Find(const std::string& suffix) {
    for (auto& entry : fs::recursive_directory_iterator(dir_)) {
      if (entry.path().string().ends_with(suffix)) return entry.path();
    }
    return {};
  }

  testutil::ScratchDir scratch_{"nc-cachefiles"};
  fs::path dir_ = scratch_.path();
  std::unique_ptr<fscache::Backend> backend_;
};

TEST_F(CachefilesTest, DataSurvivesReopenAndIsByteExact) {
  const uint64_t size = 3 * kGranule + 100;  // Not a multiple of the granule.
  std::string content = Pattern(size, 1);
  {
    auto volume = Volume();
    auto object = std::move(*volume->OpenObject("dir/file", "v1", size));
    ASSERT_TRUE(object->Write(0, Bytes(content)).ok());
    EXPECT_EQ(object->Usage().bytes_present, size);
  }
  auto volume = Volume();
  auto object = std::move(*volume->OpenObject("dir/file", "v1", size));
  EXPECT_EQ(object->Usage().bytes_present, size);
  auto occupancy = object->Query(0, size);
  EXPECT_TRUE(occupancy.present);
  EXPECT_GE(occupancy.len, size);
  std::string back(size, '\0');
  ASSERT_TRUE(object->Read(0, Bytes(back)).ok());
  EXPECT_EQ(back, content);
}

TEST_F(CachefilesTest, OneReadFillsPiecesThatSplitGranulesAnywhere) {
  const uint64_t size = 5 * kGranule + 333;
  std::string content = Pattern(size, 11);
  auto volume = Volume();
  auto object = std::move(*volume->OpenObject("f", "v1", size));
  ASSERT_TRUE(object->Write(0, Bytes(content)).ok());
  // Piece boundaries that do not fall on granule boundaries: each granule's checksum must be
  // computed across the pieces it spans.
  std::string back(size, '\0');
  std::vector<std::span<std::byte>> pieces;
  for (uint64_t at = 0, step = 1000; at < size; at += step, step = step * 3 % 7919 + 1) {
    pieces.push_back(Bytes(back).subspan(at, std::min(step, size - at)));
  }
  ASSERT_TRUE(object->ReadV(0, pieces).ok());
  EXPECT_EQ(back, content);
  // Reads that are not whole granules, or reach uncached ones, are refused.
  std::string partial(kGranule / 2, '\0');
  EXPECT_EQ(object->Read(0, Bytes(partial)).code(), Code::kInvalidArgument);
  auto other = std::move(*volume->OpenObject("g", "v1", 2 * kGranule));
  ASSERT_TRUE(other->Write(0, Bytes(content).subspan(0, kGranule)).ok());
  std::string two(2 * kGranule, '\0');
  EXPECT_EQ(other->Read(0, Bytes(two)).code(), Code::kNoCache);
}

TEST_F(CachefilesTest, ConcurrentReadersOfACorruptObjectDiscardItOnce) {
  const uint64_t size = 16 * kGranule;
  std::string content = Pattern(size, 12);
  {
    auto object = std::move(*Volume()->OpenObject("f", "v1", size));
    ASSERT_TRUE(object->Write(0, Bytes(content)).ok());
  }
  {
    std::fstream f(Find(".data"), std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(9 * kGranule + 5);
    f.put(static_cast<char>(content[9 * kGranule + 5] ^ 1));
  }
  auto object = std::move(*Volume()->OpenObject("f", "v1", size));
  std::atomic<int> good{0}, corrupt{0}, gone{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 4; ++t) {
    readers.emplace_back([&, t] {
      for (uint64_t index = t; index < 16; index += 2) {
        std::string back(kGranule, '\0');
        util::Status status = object->Read(index * kGranule, Bytes(back));
        if (status.ok()) {
          EXPECT_EQ(back, content.substr(index * kGranule, kGranule));  // Never wrong bytes.
          ++good;
        } else if (status.code() == Code::kCorruption) {
          EXPECT_EQ(index, 9u);
          ++corrupt;
        } else {
          EXPECT_EQ(status.code(), Code::kNoCache);
          ++gone;
        }
      }
    });
  }
  for (auto& reader : readers) reader.join();
  EXPECT_GE(corrupt.load(), 1);
  EXPECT_EQ(good + corrupt + gone, 30);  // 8 + 8 + 7 + 7 reads.
  EXPECT_EQ(object->Usage().bytes_present, 0u);
}

TEST_F(CachefilesTest, ChangedVersionDiscardsData) {
  std::string content = Pattern(kGranule, 2);
  {
    auto object = std::move(*Volume()->OpenObject("f", "v1", kGranule));
    ASSERT_TRUE(object->Write(0, Bytes(content)).ok());
  }
  auto object = std::move(*Volume()->OpenObject("f", "v2", kGranule));
  EXPECT_EQ(object->Usage().bytes_present, 0u);
  EXPECT_FALSE(object->Query(0, kGranule).present);
}

ino_t InodeOf(const fs::path& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 ? st.st_ino : 0;
}

// Caching a file creates its two files and deletes none; rewrites keep the same inodes (ext4
// allocates inodes slowly around recently deleted ones). Torn rewrites read as absent or reset.
TEST_F(CachefilesTest, MetadataIsRewrittenInPlaceAndATornRecordIsAbsent) {
  std::string content = Pattern(2 * kGranule, 7);
  auto volume = Volume();
  ino_t meta_inode = 0;
  {
    auto object = std::move(*volume->OpenObject("f", "v1", 2 * kGranule));
    ASSERT_TRUE(object->Write(0, Bytes(content)).ok());
    meta_inode = InodeOf(Find(".meta"));
    ASSERT_NE(meta_inode, 0u);
  }
  {
    auto object = std::move(*volume->OpenObject("f", "v2", 2 * kGranule));  // Reset: rewritten.
    EXPECT_EQ(object->Usage().bytes_present, 0u);
    EXPECT_EQ(InodeOf(Find(".meta")), meta_inode);
  }
  ASSERT_TRUE(volume->PutMetadata("attr:f", {"first", 1}).ok());
  fs::path record;
  for (auto& entry : fs::recursive_directory_iterator(dir_)) {
    if (entry.is_regular_file() && entry.path().parent_path().parent_path().filename() == "meta") record = entry.path();
  }
  ASSERT_FALSE(record.empty());
  const ino_t record_inode = InodeOf(record);
  ASSERT_TRUE(volume->PutMetadata("attr:f", {"second value", 2}).ok());
  EXPECT_EQ(InodeOf(record), record_inode);
  ASSERT_EQ(volume->GetMetadata("attr:f")->value, "second value");
  for (auto& entry : fs::recursive_directory_iterator(dir_)) {
    EXPECT_FALSE(entry.path().string().ends_with(".tmp")) << entry.path();
  }
  // A crash mid-write leaves a prefix: no record, not a wrong one.
  fs::resize_file(record, fs::file_size(record) - 3);
  EXPECT_FALSE(volume->GetMetadata("attr:f").has_value());
  // A torn object header resets the object.
  fs::resize_file(Find(".meta"), 10);
  auto object = std::move(*volume->OpenObject("f", "v2", 2 * kGranule));
  EXPECT_EQ(object->Usage().bytes_present, 0u);
  ASSERT_TRUE(object->Write(0, Bytes(content)).ok());
  std::string back(2 * kGranule, '\0');
  ASSERT_TRUE(object->Read(0, Bytes(back)).ok());
  EXPECT_EQ(back, content);
}

TEST_F(CachefilesTest, PartialGranuleIsNeverRecorded) {
  auto object = std::move(*Volume()->OpenObject("f", "v1", 4 * kGranule));
  std::string half = Pattern(kGranule + kGranule / 2, 3);
  ASSERT_TRUE(object->Write(0, Bytes(half)).ok());
  EXPECT_EQ(object->Usage().bytes_present, kGranule);
  EXPECT_FALSE(object->Query(kGranule, kGranule).present);
}

TEST_F(CachefilesTest, CorruptDataIsDetectedAndDiscarded) {
  std::string content = Pattern(2 * kGranule, 4);
  {
    auto object = std::move(*Volume()->OpenObject("f", "v1", 2 * kGranule));
    ASSERT_TRUE(object->Write(0, Bytes(content)).ok());
  }
  // Flip one byte of the data file behind netcache's back.
  fs::path data = Find(".data");
  ASSERT_FALSE(data.empty());
  {
    std::fstream f(data, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(kGranule + 17);
    f.put(static_cast<char>(content[kGranule + 17] ^ 0x40));
  }
  auto object = std::move(*Volume()->OpenObject("f", "v1", 2 * kGranule));
  std::string back(2 * kGranule, '\0');
  EXPECT_EQ(object->Read(0, Bytes(back)).code(), Code::kCorruption);
  EXPECT_EQ(object->Usage().bytes_present, 0u);  // Whole object discarded.
  EXPECT_FALSE(object->Query(0, kGranule).present);
}

// Pages of `path` in the page cache (mincore over a mapping of it).
size_t ResidentPages(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return SIZE_MAX;
  size_t size = fs::file_size(path);
  void* map = ::mmap(nullptr, size, PROT_READ, MAP_SHARED, fd, 0);
  ::close(fd);
  if (map == MAP_FAILED) return SIZE_MAX;
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  std::vector<unsigned char> resident((size + page - 1) / page);
  size_t count = SIZE_MAX;
  if (::mincore(map, size, resident.data()) == 0) {
    count = static_cast<size_t>(std::count_if(resident.begin(), resident.end(), [](unsigned char r) { return r & 1; }));
  }
  ::munmap(map, size);
  return count;
}

// Drops the file's pages from the page cache (written back first).
void DropPages(const fs::path& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  ASSERT_GE(fd, 0);
  ASSERT_EQ(::fdatasync(fd), 0);
  ASSERT_EQ(::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED), 0);
  ::close(fd);
}

TEST_F(CachefilesTest, ARandomReadersWritesStayInThePageCacheAndAStreamsBypassIt) {
  const uint64_t size = 4 * 1024 * 1024;  // Large enough for direct I/O.
  std::string content = Pattern(size, 22);
  auto volume = Volume();
  auto object = std::move(*volume->OpenObject("f", "v1", size));
  auto* raw = static_cast<std::byte*>(::operator new(size, std::align_val_t(4096)));
  std::memcpy(raw, content.data(), size);
  const uint64_t half = size / 2;
  // Folio-like buffers, as downloads are: the stream's half is written O_DIRECT, the random
  // reader's through the page cache, where its next reads will find it.
  std::span<const std::byte> stream_half(raw, half), random_half(raw + half, half);
  ASSERT_TRUE(object->WriteV(0, {stream_half}, fscache::WriteHint::kStreamed).ok());
  fs::path data = Find(".data");
  EXPECT_EQ(ResidentPages(data), 0u) << "a stream's cache write went through the page cache";
  ASSERT_TRUE(object->WriteV(half, {random_half}, fscache::WriteHint::kRereadSoon).ok());
  const size_t page = static_cast<size_t>(::sysconf(_SC_PAGESIZE));
  EXPECT_EQ(ResidentPages(data), half / page) << "a random reader's cache write bypassed memory";
  std::string back(size, '\0');
  ASSERT_TRUE(object->Read(0, Bytes(back)).ok());
  EXPECT_EQ(back, content);
  ::operator delete(raw, std::align_val_t(4096));
}

TEST_F(CachefilesTest, StreamingHitsBypassThePageCacheAndStillCatchCorruption) {
  const uint64_t size = 2 * 1024 * 1024;  // A stream's readahead reads at least 1 MiB at once.
  std::string content = Pattern(size, 21);
  auto volume = Volume();
  auto object = std::move(*volume->OpenObject("f", "v1", size));
  ASSERT_TRUE(object->Write(0, Bytes(content)).ok());
  fs::path data = Find(".data");
  DropPages(data);
  ASSERT_EQ(ResidentPages(data), 0u);

  // Folio-like buffers: page-aligned, whole pages. The read fills them and not the page cache.
  auto* raw = static_cast<std::byte*>(::operator new(size, std::align_val_t(4096)));
  std::span<std::byte> aligned(raw, size);
  ASSERT_TRUE(object->ReadV(0, {aligned.subspan(0, 3 * kGranule), aligned.subspan(3 * kGranule)}).ok());
  EXPECT_EQ(std::memcmp(raw, content.data(), size), 0);
  EXPECT_EQ(ResidentPages(data), 0u) << "a streaming cache hit went through the page cache";

  // A small read (random access) goes through the page cache, where the kernel's readahead
  // serves its neighbours; unaligned buffers read correctly too.
  std::memset(raw, 0, 16 * kGranule);
  ASSERT_TRUE(object->ReadV(0, {aligned.subspan(0, 16 * kGranule)}).ok());
  EXPECT_EQ(std::memcmp(raw, content.data(), 16 * kGranule), 0);
  EXPECT_GT(ResidentPages(data), 0u);
  std::string back(size, '\0');
  ASSERT_TRUE(object->Read(0, Bytes(back)).ok());
  EXPECT_EQ(back, content);

  // A byte changed through the page cache (not yet on disk) is seen by the direct read.
  DropPages(data);
  {
    std::fstream f(data, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(size - kGranule + 3);
    f.put(static_cast<char>(content[size - kGranule + 3] ^ 0x01));
  }
  EXPECT_EQ(object->ReadV(0, {aligned}).code(), Code::kCorruption);
  EXPECT_EQ(object->Usage().bytes_present, 0u);
  ::operator delete(raw, std::align_val_t(4096));
}

TEST_F(CachefilesTest, LargeObjectsAreWrittenAroundThePageCache) {
  const uint64_t size = 2 * 1024 * 1024 + 1000;  // Ends in a short granule.
  std::string content = Pattern(size, 22);
  auto volume = Volume();
  auto object = std::move(*volume->OpenObject("f", "v1", size));
  const uint64_t padded = (size + 4095) / 4096 * 4096;
  auto* raw = static_cast<std::byte*>(::operator new(padded, std::align_val_t(4096)));
  std::memcpy(raw, content.data(), size);
  std::vector<std::span<const std::byte>> pieces;  // As the folios of a download hand them over.
  for (uint64_t at = 0; at < size; at += kGranule) {
    pieces.emplace_back(raw + at, std::min<uint64_t>(kGranule, size - at));
  }
  ASSERT_TRUE(object->WriteV(0, pieces).ok());
  fs::path data = Find(".data");
  // The aligned granules went straight to the disk; only the short last one went buffered.
  EXPECT_LE(ResidentPages(data), 1u);
  EXPECT_EQ(fs::file_size(data), size);
  EXPECT_EQ(object->Usage().bytes_present, size);
  std::string back(size, '\0');
  ASSERT_TRUE(object->Read(0, Bytes(back)).ok());
  EXPECT_EQ(back, content);
  object.reset();
  volume.reset();

  DropPages(data);  // From the disk, after a reopen.
  auto reopened = std::move(*Volume()->OpenObject("f", "v1", size));
  EXPECT_EQ(reopened->Usage().bytes_present, size);
  std::fill(back.begin(), back.end(), '\0');
  ASSERT_TRUE(reopened->Read(0, Bytes(back)).ok());
  EXPECT_EQ(back, content);
  ::operator delete(raw, std::align_val_t(4096));
}

TEST_F(CachefilesTest, LargeObjectsDataFilesHaveTheirSizeFromTheStart) {
  // So that cache writes never move the end of the file (ext4 serializes those).
  const uint64_t size = 3 * 1024 * 1024 + 7;
  auto volume = Volume();
  auto object = std::move(*volume->OpenObject("f", "v1", size));
  fs::path data = Find(".data");
  EXPECT_EQ(fs::file_size(data), size);
  struct stat st;
  ASSERT_EQ(::stat(data.c_str(), &st), 0);
  EXPECT_LT(st.st_blocks * 512, 64 * 1024) << "a hole, not allocated space";
  ASSERT_TRUE(object->Resize(2 * 1024 * 1024).ok());
  EXPECT_EQ(fs::file_size(data), 2u * 1024 * 1024);
  ASSERT_TRUE(object->Invalidate("v2", size + 4096).ok());
  EXPECT_EQ(fs::file_size(data), size + 4096);
  ASSERT_TRUE(object->Invalidate("v3", 5000).ok());  // Small: grows with its writes.
  EXPECT_EQ(fs::file_size(data), 0u);
}

TEST_F(CachefilesTest, SizingIsOnlyASpeedUp) {
  // A filesystem that refuses a file that large (FAT's 4 GiB, here a file size limit): the
  // object still opens, and what fits is cached.
  auto volume = Volume();
  struct rlimit old_limit;
  ASSERT_EQ(::getrlimit(RLIMIT_FSIZE, &old_limit), 0);
  auto old_handler = ::signal(SIGXFSZ, SIG_IGN);
  struct rlimit limit = old_limit;
  limit.rlim_cur = 2 * 1024 * 1024;
  ASSERT_EQ(::setrlimit(RLIMIT_FSIZE, &limit), 0);
  const uint64_t size = 3 * 1024 * 1024;
  auto opened = volume->OpenObject("f", "v1", size);
  std::string content = Pattern(1024 * 1024, 23);
  util::Status written = opened.ok() ? (*opened)->Write(0, Bytes(content)) : opened.status();
  ::setrlimit(RLIMIT_FSIZE, &old_limit);
  ::signal(SIGXFSZ, old_handler);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  ASSERT_TRUE(written.ok()) << written.ToString();
  std::string back(content.size(), '\0');
  ASSERT_TRUE((*opened)->Read(0, Bytes(back)).ok());
  EXPECT_EQ(back, content);
}

TEST_F(CachefilesTest, TruncatedDataFileIsDetected) {
  std::string content = Pattern(2 * kGranule, 5);
  {
    auto object = std::move(*Volume()->OpenObject("f", "v1", 2 * kGranule));
    ASSERT_TRUE(object->Write(0, Bytes(content)).ok());
  }
  fs::resize_file(Find(".data"), kGranule + 10);  // A torn data write.
  auto object = std::move(*Volume()->OpenObject("f", "v1", 2 * kGranule));
  std::string first(kGranule, '\0');
  ASSERT_TRUE(object->Read(0, Bytes(first)).ok());
  EXPECT_EQ(first, content.substr(0, kGranule));
  std::string second(kGranule, '\0');
  EXPECT_EQ(object->Read(kGranule, Bytes(second)).code(), Code::kCorruption);
}

TEST_F(CachefilesTest, TornJournalTailKeepsEarlierRecords) {
  std::string content = Pattern(3 * kGranule, 6);
  {
    auto object = std::move(*Volume()->OpenObject("f", "v1", 3 * kGranule));
    ASSERT_TRUE(object->Write(0, Bytes(content).subspan(0, kGranule)).ok());
    ASSERT_TRUE(object->Write(kGranule, Bytes(content).subspan(kGranule, kGranule)).ok());
  }
  fs::path meta = Find(".meta");
  fs::resize_file(meta, fs::file_size(meta) - 7);  // A crash in the middle of the last append.
  {
    auto object = std::move(*Volume()->OpenObject("f", "v1", 3 * kGranule));
    EXPECT_EQ(object->Usage().bytes_present, kGranule);
    EXPECT_TRUE(object->Query(0, kGranule).present);
    EXPECT_FALSE(object->Query(kGranule, kGranule).present);
    // New records go after the good ones, not after the torn bytes.
    ASSERT_TRUE(object->Write(2 * kGranule, Bytes(content).subspan(2 * kGranule)).ok());
  }
  auto object = std::move(*Volume()->OpenObject("f", "v1", 3 * kGranule));
  EXPECT_EQ(object->Usage().bytes_present, 2 * kGranule);
  std::string back(kGranule, '\0');
  ASSERT_TRUE(object->Read(2 * kGranule, Bytes(back)).ok());
  EXPECT_EQ(back, content.substr(2 * kGranule));
}

TEST_F(CachefilesTest, CorruptHeaderResetsTheObject) {
  std::string content = Pattern(kGranule, 7);
  {
    auto object = std::move(*Volume()->OpenObject("f", "v1", kGranule));
    ASSERT_TRUE(object->Write(0, Bytes(content)).ok());
  }
  fs::path meta = Find(".meta");
  {
    std::fstream f(meta, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(30);
    f.put('Z');
  }
  auto object = std::move(*Volume()->OpenObject("f", "v1", kGranule));
  EXPECT_EQ(object->Usage().bytes_present, 0u);
}

TEST_F(CachefilesTest, RemoteNamesNeverBecomePaths) {
  auto volume = Volume();
  std::string content = Pattern(kGranule, 8);
  auto object = std::move(*volume->OpenObject("../../../../etc/evil", "v1", kGranule));
  ASSERT_TRUE(object->Write(0, Bytes(content)).ok());
  for (auto& entry : fs::recursive_directory_iterator(dir_)) {
    EXPECT_EQ(entry.path().string().find("evil"), std::string::npos) << entry.path();
  }
  EXPECT_FALSE(fs::exists("/etc/evil.data"));
}

TEST_F(CachefilesTest, SecondOwnerOfAnOriginGetsItsOwnVolume) {
  std::string content = Pattern(kGranule, 11);
  auto first = Volume();
  auto first_object = std::move(*first->OpenObject("f", "v1", kGranule));
  ASSERT_TRUE(first_object->Write(0, Bytes(content)).ok());
  auto other = OpenCache(dir_.string(), kGranule);
  ASSERT_TRUE(other.ok());
  auto second = (*other)->AcquireVolume("posix:/srv/data");
  ASSERT_TRUE(second.ok()) << second.status().ToString();
  // A volume of its own: it sees nothing of the first one's data, and writes its own files.
  auto second_object = std::move(*(*second)->OpenObject("f", "v1", kGranule));
  EXPECT_EQ(second_object->Usage().bytes_present, 0u);
  ASSERT_TRUE(second_object->Write(0, Bytes(content)).ok());
  EXPECT_EQ(first_object->Usage().bytes_present, kGranule);
  size_t volumes = 0;
  for (auto& entry : fs::directory_iterator(dir_)) volumes += entry.path().filename().string().rfind("v-", 0) == 0;
  EXPECT_EQ(volumes, 2u);
  // Once the first owner is gone, the next one gets the first slot, with its data.
  first_object.reset();
  first.reset();
  backend_.reset();
  auto again = OpenCache(dir_.string(), kGranule);
  auto third = std::move(*(*again)->AcquireVolume("posix:/srv/data"));
  EXPECT_EQ(std::move(*third->OpenObject("f", "v1", kGranule))->Usage().bytes_present, kGranule);
}

TEST_F(CachefilesTest, UnusableCacheDirectoryIsAClearError) {
  fs::create_directories(dir_);
  std::ofstream(dir_ / "file") << "x";
  auto backend = OpenCache((dir_ / "file" / "cache").string(), kGranule);
  ASSERT_FALSE(backend.ok());
  EXPECT_NE(backend.status().message().find("cache directory"), std::string::npos);
}

// Issue 15.6: cache files were opened through symlinks: one planted in the cache directory made
// a root daemon truncate and overwrite a root-owned 0600 file, and create another.
TEST_F(CachefilesTest, PlantedSymlinksInTheCacheAreNeverFollowed) {
  const std::string content = Pattern(2 * kGranule, 30);
  {
    auto volume = Volume();
    auto object = std::move(*volume->OpenObject("f", "v1", content.size()));
    ASSERT_TRUE(object->Write(0, Bytes(content)).ok());
    ASSERT_TRUE(volume->PutMetadata("attr:f", {"value", 1}).ok());
  }
  backend_.reset();
  testutil::ScratchDir outside_dir{"nc-victim"};
  const fs::path victim = outside_dir.path() / "precious";
  std::ofstream(victim) << "precious bytes";
  fs::permissions(victim, fs::perms::owner_read | fs::perms::owner_write);
  // Every kind of file the cache opens, replaced by a link to the victim (or to where a new
  // file would be made), and a fan-out directory by a link to the victim's directory.
  int planted = 0;
  std::vector<fs::path> files;
  for (auto& entry : fs::recursive_directory_iterator(dir_)) {
    if (entry.is_regular_file()) files.push_back(entry.path());
  }
  for (const fs::path& file : files) {
    if (file.filename() == "lock") continue;
    fs::remove(file);
    fs::create_symlink(file.filename() == "volume.key" ? outside_dir.path() / "made" : victim, file);
    ++planted;
  }
  ASSERT_GE(planted, 4);  // .data, .meta, a metadata record, volume.key.
  auto volume = Volume();
  auto object = volume->OpenObject("f", "v1", content.size());
  if (object.ok()) {
    EXPECT_EQ((*object)->Usage().bytes_present, 0u);
    (void)(*object)->Write(0, Bytes(content));
  }
  (void)volume->PutMetadata("attr:f", {"other", 2});
  EXPECT_FALSE(volume->GetMetadata("attr:f").has_value());
  std::ifstream in(victim);
  std::string after((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(after, "precious bytes");
  EXPECT_FALSE(fs::exists(outside_dir.path() / "made"));
}

TEST_F(CachefilesTest, ACacheDirectoryOthersCouldPlantFilesInIsRefused) {
  fs::create_directories(dir_);
  fs::permissions(dir_, fs::perms::all);  // 0777, as a careless mkdir in /tmp might leave it.
  auto open = OpenCache(dir_.string(), kGranule);
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.status().message().find("writable by other users"), std::string::npos)
      << open.status().ToString();
  fs::permissions(dir_, fs::perms::owner_all);
  ASSERT_EQ(::chown(dir_.c_str(), 12345, 12345), 0);  // Made by someone else first.
  open = OpenCache(dir_.string(), kGranule);
  ASSERT_FALSE(open.ok());
  EXPECT_NE(open.status().message().find("belongs to uid 12345"), std::string::npos)
      << open.status().ToString();
  ASSERT_EQ(::chown(dir_.c_str(), ::geteuid(), ::getegid()), 0);
  EXPECT_TRUE(OpenCache(dir_.string(), kGranule).ok());
  // A new one is made private.
  fs::remove_all(dir_);
  ASSERT_TRUE(OpenCache(dir_.string(), kGranule).ok());
  EXPECT_EQ(fs::status(dir_).permissions(), fs::perms::owner_all);
}

TEST(MetadataTest, RecordsRoundTripAndStopAtTheFirstBadOne) {
  MetadataHeader header{"key", "aux", 4096, 10000};
  std::string bytes = EncodeHeader(header);
  bytes += EncodeRecord({0, 4096, 111});
  bytes += EncodeRecord({2, 1808, 222});
  std::string bad = EncodeRecord({1, 4096, 333});
  bad[9] ^= 1;
  bytes += bad;
  bytes += EncodeRecord({1, 4096, 444});  // After a bad record: not trusted.
  DecodedMetadata decoded = DecodeMetadata(bytes);
  ASSERT_TRUE(decoded.header_ok);
  EXPECT_EQ(decoded.header.key, "key");
  EXPECT_EQ(decoded.header.aux, "aux");
  EXPECT_EQ(decoded.header.object_size, 10000u);
  ASSERT_EQ(decoded.granules.size(), 2u);
  EXPECT_EQ(decoded.granules[2].data_hash, 222u);
  EXPECT_EQ(decoded.bad_records, 1u);
}

}  // namespace
}  // namespace cachefiles

namespace cachefiles {
namespace {

TEST_F(CachefilesTest, ResizeKeepsWholeGranulesBelowBothSizes) {
  const uint64_t size = 4 * kGranule + 10;
  std::string content = Pattern(size, 9);
  {
    auto object = std::move(*Volume()->OpenObject("f", "v1", size));
    ASSERT_TRUE(object->Write(0, Bytes(content)).ok());
    ASSERT_TRUE(object->Resize(2 * kGranule + 5).ok());  // Cuts through granule 2.
    EXPECT_EQ(object->Usage().bytes_present, 2 * kGranule);
  }
  // The resized object is what a reopen at the new size finds.
  auto object = std::move(*Volume()->OpenObject("f", "v1", 2 * kGranule + 5));
  EXPECT_EQ(object->Usage().bytes_present, 2 * kGranule);
  EXPECT_TRUE(object->Query(0, 2 * kGranule).present);
  EXPECT_FALSE(object->Query(2 * kGranule, kGranule).present);
  std::string back(2 * kGranule, '\0');
  ASSERT_TRUE(object->Read(0, Bytes(back)).ok());
  EXPECT_EQ(back, content.substr(0, 2 * kGranule));
  // Growing keeps what is there and records the new size.
  ASSERT_TRUE(object->Resize(10 * kGranule).ok());
  EXPECT_EQ(object->Usage().bytes_present, 2 * kGranule);
}

}  // namespace
}  // namespace cachefiles

namespace cachefiles {
namespace {

TEST_F(CachefilesTest, PiecesAreWrittenAsOneAndASplitGranuleEndsTheWrite) {
  std::string content = Pattern(4 * kGranule, 12);
  auto object = std::move(*Volume()->OpenObject("f", "v1", 4 * kGranule));
  std::span<const std::byte> all = Bytes(content);
  // Two whole granules in two pieces: both stored, in one write.
  ASSERT_TRUE(object->WriteV(0, {all.subspan(0, kGranule), all.subspan(kGranule, kGranule)}).ok());
  EXPECT_EQ(object->Usage().bytes_present, 2 * kGranule);
  // A granule split between pieces: stored up to the split, never half of one.
  ASSERT_TRUE(object->WriteV(2 * kGranule, {all.subspan(2 * kGranule, kGranule + 100),
                                            all.subspan(3 * kGranule + 100, kGranule - 100)}).ok());
  EXPECT_EQ(object->Usage().bytes_present, 3 * kGranule);
  EXPECT_FALSE(object->Query(3 * kGranule, kGranule).present);
  std::string back(3 * kGranule, '\0');
  ASSERT_TRUE(object->Read(0, Bytes(back)).ok());
  EXPECT_EQ(back, content.substr(0, 3 * kGranule));
}

}  // namespace
}  // namespace cachefiles
