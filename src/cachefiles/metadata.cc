// SPDX-License-Identifier: MIT
#include "cachefiles/metadata.h"

#include <xxhash.h>

#include <bit>
#include <cstring>

namespace cachefiles {
namespace {

constexpr char kMagic[8] = {'N', 'C', 'M', 'E', 'T', 'A', '0', '1'};
constexpr uint32_t kFormatVersion = 1;
constexpr uint32_t kRecordMagic = 0x5247434e;  // "NCGR" little-endian.
constexpr uint32_t kAccessMagic = 0x4341434e;  // "NCAC" little-endian.
constexpr size_t kFixedHeader = 8 + 4 + 4 + 4 + 4 + 8 + 8;
constexpr size_t kMaxKeyOrAux = 64 * 1024;

template <typename T>
void Put(std::string* out, T value) {
  char bytes[sizeof(T)];
  std::memcpy(bytes, &value, sizeof(T));  // Little-endian hosts only (checked in the header).
  out->append(bytes, sizeof(T));
}

template <typename T>
T Get(std::string_view bytes, size_t at) {
  T value;
  std::memcpy(&value, bytes.data() + at, sizeof(T));
  return value;
}

static_assert(std::endian::native == std::endian::little, "on-disk format is little-endian");

}  // namespace

uint64_t HashBytes(const void* data, size_t len) { return XXH3_64bits(data, len); }

std::string EncodeHeader(const MetadataHeader& header) {
  std::string out(kMagic, sizeof(kMagic));
  Put<uint32_t>(&out, kFormatVersion);
  Put<uint32_t>(&out, static_cast<uint32_t>(header.key.size()));
  Put<uint32_t>(&out, static_cast<uint32_t>(header.aux.size()));
  Put<uint32_t>(&out, 0);
  Put<uint64_t>(&out, header.granule_size);
  Put<uint64_t>(&out, header.object_size);
  out += header.key;
  out += header.aux;
  Put<uint64_t>(&out, HashBytes(out.data(), out.size()));
  return out;
}

std::string EncodeRecord(const GranuleRecord& record) {
  std::string out;
  Put<uint32_t>(&out, kRecordMagic);
  Put<uint32_t>(&out, record.len);
  Put<uint64_t>(&out, record.index);
  Put<uint64_t>(&out, record.data_hash);
  Put<uint64_t>(&out, HashBytes(out.data(), out.size()));
  return out;
}

std::string EncodeMetadataRecord(const std::string& key, int64_t stored_at_ns,
                                 const std::string& value) {
  std::string out("NCMDAT01", 8);
  Put<uint32_t>(&out, static_cast<uint32_t>(key.size()));
  out += key;
  Put<int64_t>(&out, stored_at_ns);
  Put<uint32_t>(&out, static_cast<uint32_t>(value.size()));
  out += value;
  Put<uint64_t>(&out, HashBytes(out.data(), out.size()));
  return out;
}

bool DecodeMetadataRecord(std::string_view bytes, const std::string& key, int64_t* stored_at_ns,
                          std::string* value) {
  if (bytes.size() < 8 + 4 + 8 + 4 + 8 || bytes.substr(0, 8) != "NCMDAT01") return false;
  if (Get<uint64_t>(bytes, bytes.size() - 8) != HashBytes(bytes.data(), bytes.size() - 8)) {
    return false;
  }
  uint32_t key_len = Get<uint32_t>(bytes, 8);
  if (12 + key_len + 12 > bytes.size() - 8 || bytes.substr(12, key_len) != key) return false;
  *stored_at_ns = Get<int64_t>(bytes, 12 + key_len);
  uint32_t value_len = Get<uint32_t>(bytes, 20 + key_len);
  if (24 + key_len + value_len != bytes.size() - 8) return false;
  value->assign(bytes.substr(24 + key_len, value_len));
  return true;
}

std::string EncodeAccess(const AccessRecord& access) {
  std::string out;
  Put<uint32_t>(&out, kAccessMagic);
  Put<uint32_t>(&out, access.pinned ? 1 : 0);  // Flags.
  Put<uint64_t>(&out, access.opens);
  Put<int64_t>(&out, access.last_access_ns);
  Put<uint64_t>(&out, HashBytes(out.data(), out.size()));
  return out;
}

DecodedMetadata DecodeMetadata(std::string_view bytes) {
  DecodedMetadata result;
  if (bytes.size() < kFixedHeader + 8 || std::memcmp(bytes.data(), kMagic, 8) != 0) return result;
  if (Get<uint32_t>(bytes, 8) != kFormatVersion) return result;
  uint32_t key_len = Get<uint32_t>(bytes, 12);
  uint32_t aux_len = Get<uint32_t>(bytes, 16);
  if (key_len > kMaxKeyOrAux || aux_len > kMaxKeyOrAux) return result;
  size_t header_len = kFixedHeader + key_len + aux_len;
  if (bytes.size() < header_len + 8) return result;
  if (Get<uint64_t>(bytes, header_len) != HashBytes(bytes.data(), header_len)) return result;
  result.header.granule_size = Get<uint64_t>(bytes, 24);
  result.header.object_size = Get<uint64_t>(bytes, 32);
  result.header.key.assign(bytes.substr(kFixedHeader, key_len));
  result.header.aux.assign(bytes.substr(kFixedHeader + key_len, aux_len));
  result.header_ok = true;
  size_t at = header_len + 8;
  while (at + kRecordSize <= bytes.size()) {
    uint32_t magic = Get<uint32_t>(bytes, at);
    bool good = (magic == kRecordMagic || magic == kAccessMagic) &&
                Get<uint64_t>(bytes, at + 24) == HashBytes(bytes.data() + at, 24);
    if (!good) break;
    ++result.records;
    if (magic == kAccessMagic) {
      result.access.pinned = (Get<uint32_t>(bytes, at + 4) & 1) != 0;
      result.access.opens = Get<uint64_t>(bytes, at + 8);
      result.access.last_access_ns = Get<int64_t>(bytes, at + 16);
      at += kRecordSize;
      continue;
    }
    GranuleRecord record;
    record.len = Get<uint32_t>(bytes, at + 4);
    record.index = Get<uint64_t>(bytes, at + 8);
    record.data_hash = Get<uint64_t>(bytes, at + 16);
    result.granules[record.index] = record;
    at += kRecordSize;
  }
  result.valid_len = at;
  result.bad_records = at == bytes.size() ? 0 : 1;
  return result;
}

}  // namespace cachefiles
