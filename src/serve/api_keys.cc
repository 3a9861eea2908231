#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <fstream>
#include <string>

#include "reco/server.h"
#include "reco/text.h"

namespace reco {
namespace {

constexpr size_t kMinKeyBytes = 16;
constexpr size_t kMaxKeyBytes = 256;

std::array<unsigned char, 32> Sha256(std::string_view s) {
  std::array<unsigned char, 32> digest{};
  unsigned int n = 0;
  EVP_Digest(s.data(), s.size(), digest.data(), &n, EVP_sha256(), nullptr);
  return digest;
}

}  // namespace

Status ApiKeys::Add(std::string_view key) {
  if (key.size() < kMinKeyBytes || key.size() > kMaxKeyBytes) {
    return Status::InvalidArgument("an API key must be " + std::to_string(kMinKeyBytes) + ".." +
                                   std::to_string(kMaxKeyBytes) + " characters, got " +
                                   std::to_string(key.size()));
  }
  for (char c : key) {
    if (c <= ' ' || c > '~') {
      return Status::InvalidArgument("an API key must be visible ASCII characters without blanks");
    }
  }
  digests_.push_back(Sha256(key));
  return Status::Ok();
}

Status ApiKeys::AddFromFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(path + ": cannot open the API key file");
  std::string line;
  int number = 0;
  while (std::getline(in, line)) {
    ++number;
    const std::string_view key = Trim(line);
    if (key.empty() || key.front() == '#') continue;
    if (Status st = Add(key); !st.ok()) {
      return st.WithContext(path + ":" + std::to_string(number));
    }
  }
  if (in.bad()) return Status::IOError(path + ": read failed");
  return Status::Ok();
}

Status ApiKeys::AddFromList(std::string_view list, std::string_view what) {
  int index = 0;
  while (!list.empty()) {
    const size_t comma = list.find(',');
    const std::string_view key = Trim(list.substr(0, comma));
    list = comma == std::string_view::npos ? std::string_view() : list.substr(comma + 1);
    ++index;
    if (key.empty()) continue;
    if (Status st = Add(key); !st.ok()) {
      return st.WithContext(std::string(what) + " key " + std::to_string(index));
    }
  }
  return Status::Ok();
}

bool ApiKeys::Verify(std::string_view presented) const {
  const auto digest = Sha256(presented);
  // Every stored digest is compared, so the time does not tell which matched.
  bool match = false;
  for (const auto& stored : digests_) {
    match |= CRYPTO_memcmp(digest.data(), stored.data(), digest.size()) == 0;
  }
  return match;
}

}  // namespace reco
