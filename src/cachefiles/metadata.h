// SPDX-License-Identifier: MIT
// metadata.h — encoding of a cache object's metadata file: a checksummed header followed by an
// append-only journal of granule records. See docs/cache_format.md.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <string_view>

namespace cachefiles {

inline constexpr size_t kRecordSize = 32;

struct MetadataHeader {
  std::string key;
  std::string aux;
  uint64_t granule_size = 0;
  uint64_t object_size = 0;
};

struct GranuleRecord {
  uint64_t index = 0;
  uint32_t len = 0;
  uint64_t data_hash = 0;
};

std::string EncodeHeader(const MetadataHeader& header);
std::string EncodeRecord(const GranuleRecord& record);

// How often and how recently the object was used, for the culler. Appended to the journal when
// a file is closed; the last one counts.
struct AccessRecord {
  uint64_t opens = 0;
  int64_t last_access_ns = 0;  // CLOCK_REALTIME.
  bool pinned = false;
};

std::string EncodeAccess(const AccessRecord& access);

struct DecodedMetadata {
  bool header_ok = false;
  MetadataHeader header;
  std::map<uint64_t, GranuleRecord> granules;  // Last record wins.
  size_t valid_len = 0;   // Bytes up to the first bad record; the rest is a torn tail.
  size_t bad_records = 0;  // 1 if the journal ended in a torn or corrupt record.
  size_t records = 0;      // Good records of either kind (for compaction).
  AccessRecord access;
};

DecodedMetadata DecodeMetadata(std::string_view bytes);

uint64_t HashBytes(const void* data, size_t len);

// A volume's small named records (listings, attributes).
std::string EncodeMetadataRecord(const std::string& key, int64_t stored_at_ns,
                                 const std::string& value);
// False when the bytes are torn, corrupt, or belong to another key.
bool DecodeMetadataRecord(std::string_view bytes, const std::string& key, int64_t* stored_at_ns,
                          std::string* value);

}  // namespace cachefiles
