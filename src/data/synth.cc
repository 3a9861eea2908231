#include "reco/synth.h"

#include <fmt/format.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <memory>
#include <numbers>
#include <string_view>

#include "reco/errno_text.h"
#include "reco/file_util.h"
#include "reco/parallel.h"
#include "reco/progress.h"
#include "reco/random.h"

namespace reco {
namespace {

constexpr std::string_view kFactorsMagic = "reco-synth-factors 1";
constexpr uint32_t kMaxRank = 1024;
constexpr float kMaxCount = 1000.0f;
// Users per parallel work item, and work items per write batch: a batch's
// CSV text is held in memory until it is written in user order.
constexpr uint32_t kBlockUsers = 256;
constexpr uint32_t kBlocksPerBatch = 64;
constexpr size_t kFlushBytes = size_t{8} << 20;

// Independent streams for the parts of the model, so that adding a draw to
// one part never shifts another.
enum Stream : uint64_t { kItemFactors = 1, kItemPopularity = 2, kUserActivity = 3, kUsers = 4 };

uint64_t StreamSeed(uint64_t seed, uint64_t stream, uint64_t index) {
  SplitMix64 base(seed ^ (stream * 0xD1B54A32D192ED03ULL));
  SplitMix64 mixed(base.Next() ^ (index * 0x9E3779B97F4A7C15ULL));
  return mixed.Next();
}

// Uniform in (0, 1): never 0, so logs are finite.
double OpenUniform(SplitMix64& rng) {
  return (static_cast<double>(rng.Next() >> 11) + 0.5) * 0x1.0p-53;
}

// Box-Muller; the second variate is dropped to keep the stream simple.
double Normal(SplitMix64& rng) {
  double r = std::sqrt(-2.0 * std::log(OpenUniform(rng)));
  return r * std::cos(2.0 * std::numbers::pi * OpenUniform(rng));
}

double Gumbel(SplitMix64& rng) { return -std::log(-std::log(OpenUniform(rng))); }

float Dot(const float* a, const float* b, uint32_t n) {
  float s = 0.0f;
  for (uint32_t k = 0; k < n; ++k) s += a[k] * b[k];
  return s;
}

// Walker/Vose alias table: O(1) draws from a fixed discrete distribution.
class AliasTable {
 public:
  explicit AliasTable(const std::vector<double>& weights) {
    const size_t n = weights.size();
    prob_.resize(n);
    alias_.resize(n);
    double total = 0;
    for (double w : weights) total += w;
    std::vector<double> scaled(n);
    std::vector<uint32_t> small, large;
    for (size_t i = 0; i < n; ++i) {
      scaled[i] = weights[i] * static_cast<double>(n) / total;
      (scaled[i] < 1.0 ? small : large).push_back(static_cast<uint32_t>(i));
    }
    while (!small.empty() && !large.empty()) {
      uint32_t s = small.back(), l = large.back();
      small.pop_back();
      prob_[s] = scaled[s];
      alias_[s] = l;
      scaled[l] -= 1.0 - scaled[s];
      if (scaled[l] < 1.0) {
        large.pop_back();
        small.push_back(l);
      }
    }
    // Leftovers are 1 up to rounding.
    for (uint32_t i : large) prob_[i] = 1.0, alias_[i] = i;
    for (uint32_t i : small) prob_[i] = 1.0, alias_[i] = i;
  }

  uint32_t Draw(SplitMix64& rng) const {
    const auto i = static_cast<uint32_t>(rng.Below(prob_.size()));
    return OpenUniform(rng) < prob_[i] ? i : alias_[i];
  }

 private:
  std::vector<double> prob_;
  std::vector<uint32_t> alias_;
};

// w_i = rank^-exponent, ranks 1..n a seeded permutation of the indices.
std::vector<double> PowerLawWeights(uint32_t n, double exponent, uint64_t seed) {
  std::vector<uint32_t> rank(n);
  for (uint32_t i = 0; i < n; ++i) rank[i] = i + 1;
  SplitMix64 rng(seed);
  Shuffle(std::span<uint32_t>(rank), rng);
  std::vector<double> w(n);
  for (uint32_t i = 0; i < n; ++i) w[i] = std::pow(static_cast<double>(rank[i]), -exponent);
  return w;
}

// Per-user counts n_u = min(cap, floor + lambda * w_u), lambda found by
// bisection so that they sum to `total`; the rounding remainder is handed
// out one by one. Preconditions (checked by the caller): users * floor <=
// total <= users * cap.
std::vector<uint32_t> UserCounts(const std::vector<double>& w, uint32_t floor_count, uint32_t cap,
                                 uint64_t total) {
  const size_t n = w.size();
  auto sum_at = [&](double lambda) {
    double s = 0;
    for (double wu : w) s += std::min<double>(cap, floor_count + lambda * wu);
    return s;
  };
  double lo = 0, hi = 1;
  while (sum_at(hi) < static_cast<double>(total) && hi < 1e300) hi *= 2;
  for (int it = 0; it < 100; ++it) {
    double mid = 0.5 * (lo + hi);
    (sum_at(mid) < static_cast<double>(total) ? lo : hi) = mid;
  }
  std::vector<uint32_t> counts(n);
  uint64_t assigned = 0;
  for (size_t u = 0; u < n; ++u) {
    double c = std::min<double>(cap, floor_count + lo * w[u]);
    counts[u] = static_cast<uint32_t>(std::floor(c));
    assigned += counts[u];
  }
  // assigned <= total since lo is below the solution; hand out the rest to
  // the heaviest users first would need a sort, and one each in index order
  // is as good for a data set this size.
  while (assigned < total) {
    for (size_t u = 0; u < n && assigned < total; ++u) {
      if (counts[u] < cap) {
        ++counts[u];
        ++assigned;
      }
    }
  }
  while (assigned > total) {  // only from rounding at the cap, never in practice
    for (size_t u = 0; u < n && assigned > total; ++u) {
      if (counts[u] > floor_count) {
        --counts[u];
        --assigned;
      }
    }
  }
  return counts;
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using FilePtr = std::unique_ptr<std::FILE, FileCloser>;

template <typename T>
void AppendNumber(std::string* out, T v) {
  char buf[32];
  out->append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

// The fixed part of the model, shared read-only by the workers.
struct Model {
  const SynthOptions* opts;
  uint32_t cap;
  float sigma;                      // std dev of a factor entry
  std::vector<float> item_factors;  // items x rank, unscaled: a = x . y
  std::vector<float> log_popularity;
  std::unique_ptr<AliasTable> popularity;
  std::vector<uint32_t> counts;  // per user
};

// Per-worker scratch, sized by the items: reused for every user.
struct Scratch {
  std::vector<uint32_t> stamp;  // items; user+1 when the item is a candidate of user
  std::vector<uint32_t> slot;   // items; its index in `candidates`
  std::vector<uint32_t> candidates;
  std::vector<uint32_t> draws;  // per candidate, how often it was drawn
  std::vector<std::pair<float, uint32_t>> keyed;
  std::vector<float> x;
  std::vector<int64_t> times;
  uint32_t exact_users = 0;
  uint32_t max_count = 0;
};

// Appends user u's factor line (when `factors` is set) and CSV records.
void GenerateUser(const Model& m, uint32_t u, Scratch& s, std::string* csv, std::string* factors) {
  const SynthOptions& o = *m.opts;
  const uint32_t r = o.rank;
  const uint32_t n = m.counts[u];
  SplitMix64 rng(StreamSeed(o.seed, kUsers, u));
  s.x.resize(r);
  for (uint32_t k = 0; k < r; ++k) s.x[k] = m.sigma * static_cast<float>(Normal(rng));
  if (factors != nullptr) {
    *factors += "user ";
    AppendNumber(factors, u);
    for (float v : s.x) {
      *factors += ' ';
      AppendNumber(factors, v);
    }
    *factors += '\n';
  }
  const auto beta = static_cast<float>(o.affinity);
  auto affinity = [&](uint32_t i) {
    return Dot(s.x.data(), m.item_factors.data() + static_cast<size_t>(i) * r, r);
  };

  // Candidates by popularity, deduplicated; a candidate drawn c times gets
  // log c added to its key so that the choice tends to w * exp(beta a).
  s.keyed.clear();
  const uint64_t target = static_cast<uint64_t>(n) * o.candidates_per_pick;
  bool exact = target * 2 >= o.items;
  if (!exact) {
    s.candidates.clear();
    s.draws.clear();
    for (uint64_t d = 0; s.candidates.size() < target; ++d) {
      if (d >= o.items) {  // the popular head is saturated: score everything
        exact = true;
        break;
      }
      uint32_t i = m.popularity->Draw(rng);
      if (s.stamp[i] != u + 1) {
        s.stamp[i] = u + 1;
        s.slot[i] = static_cast<uint32_t>(s.candidates.size());
        s.candidates.push_back(i);
        s.draws.push_back(1);
      } else {
        ++s.draws[s.slot[i]];
      }
    }
    if (!exact) {
      for (size_t c = 0; c < s.candidates.size(); ++c) {
        uint32_t i = s.candidates[c];
        float key = std::log(static_cast<float>(s.draws[c])) + beta * affinity(i) +
                    static_cast<float>(Gumbel(rng));
        s.keyed.emplace_back(key, i);
      }
    }
  }
  if (exact) {
    // Gumbel-top-n over all items: exact sampling without replacement.
    ++s.exact_users;
    s.keyed.clear();
    for (uint32_t i = 0; i < o.items; ++i) {
      float key = m.log_popularity[i] + beta * affinity(i) + static_cast<float>(Gumbel(rng));
      s.keyed.emplace_back(key, i);
    }
  }
  auto better = [](const std::pair<float, uint32_t>& a, const std::pair<float, uint32_t>& b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  };
  std::nth_element(s.keyed.begin(), s.keyed.begin() + n, s.keyed.end(), better);
  s.keyed.resize(n);
  // nth_element's order is the library's; fix it, then shuffle with our RNG.
  std::sort(s.keyed.begin(), s.keyed.end(),
            [](const auto& a, const auto& b) { return a.second < b.second; });
  Shuffle(std::span<std::pair<float, uint32_t>>(s.keyed), rng);

  s.times.resize(n);
  const uint64_t span = static_cast<uint64_t>(o.end_time - o.start_time);
  for (int64_t& t : s.times) t = o.start_time + static_cast<int64_t>(rng.Below(span));
  std::sort(s.times.begin(), s.times.end());

  for (uint32_t k = 0; k < n; ++k) {
    const uint32_t i = s.keyed[k].second;
    const float a = affinity(i);
    float value;
    if (o.implicit) {
      double e = -std::log(OpenUniform(rng));
      value = std::min(kMaxCount, 1.0f + static_cast<float>(std::floor(e * std::exp(a))));
    } else {
      double stars = 2.5 + 1.25 * a + 0.5 * Normal(rng);
      value = static_cast<float>(std::clamp(std::round(stars), 1.0, 5.0));
    }
    AppendNumber(csv, u);
    *csv += ',';
    AppendNumber(csv, i);
    *csv += ',';
    AppendNumber(csv, value);
    *csv += ',';
    AppendNumber(csv, s.times[k]);
    *csv += '\n';
  }
  s.max_count = std::max(s.max_count, n);
}

// Streams the item rows of the factors file (written before any user row).
Status WriteItemFactors(const Model& m, AtomicFileWriter* file) {
  const SynthOptions& o = *m.opts;
  std::string out;
  for (uint32_t i = 0; i < o.items; ++i) {
    out += "item ";
    AppendNumber(&out, i);
    out += ' ';
    AppendNumber(&out, m.log_popularity[i]);
    const float* y = m.item_factors.data() + static_cast<size_t>(i) * o.rank;
    for (uint32_t k = 0; k < o.rank; ++k) {
      out += ' ';
      AppendNumber(&out, static_cast<float>(o.affinity) * y[k]);
    }
    out += '\n';
    if (out.size() >= kFlushBytes) {
      RECO_RETURN_IF_ERROR(file->Append(out));
      out.clear();
    }
  }
  return file->Append(out);
}

}  // namespace

Status CheckSynthOptions(const SynthOptions& o) {
  auto bad = [](std::string msg) { return Status::InvalidArgument(std::move(msg)); };
  if (o.users == 0) return bad("--users must be positive");
  if (o.items == 0) return bad("--items must be positive");
  if (o.users == std::numeric_limits<uint32_t>::max()) return bad("--users is too large");
  if (o.rank == 0 || o.rank > kMaxRank) {
    return bad(fmt::format("--rank must be in 1..{}, got {}", kMaxRank, o.rank));
  }
  if (o.min_per_user == 0) return bad("--min-per-user must be positive");
  const uint32_t cap = o.max_per_user == 0 ? o.items : o.max_per_user;
  if (cap > o.items) {
    return bad(fmt::format("--max-per-user {} exceeds the {} items", cap, o.items));
  }
  if (o.min_per_user > cap) {
    return bad(
        fmt::format("--min-per-user {} exceeds the per-user maximum {} (items or "
                    "--max-per-user)",
                    o.min_per_user, cap));
  }
  const uint64_t lo = uint64_t{o.users} * o.min_per_user;
  const uint64_t hi = uint64_t{o.users} * cap;
  if (o.interactions < lo || o.interactions > hi) {
    return bad(fmt::format(
        "--interactions must be between users x min-per-user = {} and users x max-per-user = {} "
        "(distinct items per user), got {}",
        lo, hi, o.interactions));
  }
  // The loader indexes records with uint32.
  if (o.interactions >= std::numeric_limits<uint32_t>::max() - 1) {
    return bad("--interactions must be below 2^32 - 2 (the loader's limit)");
  }
  auto finite_nonneg = [](double v) { return std::isfinite(v) && v >= 0; };
  if (!finite_nonneg(o.zipf_exponent) || o.zipf_exponent > 10) {
    return bad("--zipf-exponent must be in [0, 10]");
  }
  if (!finite_nonneg(o.activity_exponent) || o.activity_exponent > 10) {
    return bad("--activity-exponent must be in [0, 10]");
  }
  if (!finite_nonneg(o.affinity) || o.affinity > 100) return bad("--affinity must be in [0, 100]");
  if (o.candidates_per_pick == 0 || o.candidates_per_pick > 1000) {
    return bad("--candidates-per-pick must be in 1..1000");
  }
  if (o.end_time <= o.start_time) return bad("the end time must be after the start time");
  return Status::Ok();
}

Status GenerateSynthetic(const SynthOptions& o, const std::string& out_path,
                         const std::string& factors_path, SynthReport* report) {
  RECO_RETURN_IF_ERROR(CheckSynthOptions(o));
  if (out_path.empty()) return Status::InvalidArgument("no output file given");
  if (out_path == factors_path) {
    return Status::InvalidArgument("the interactions and factors files must differ");
  }
  const auto start = std::chrono::steady_clock::now();

  Model m;
  m.opts = &o;
  m.cap = o.max_per_user == 0 ? o.items : o.max_per_user;
  // Entries of variance 1/sqrt(rank) make x . y of variance 1 at any rank.
  m.sigma = static_cast<float>(std::pow(static_cast<double>(o.rank), -0.25));
  {
    SplitMix64 rng(StreamSeed(o.seed, kItemFactors, 0));
    m.item_factors.resize(static_cast<size_t>(o.items) * o.rank);
    for (float& v : m.item_factors) v = m.sigma * static_cast<float>(Normal(rng));
  }
  {
    std::vector<double> w =
        PowerLawWeights(o.items, o.zipf_exponent, StreamSeed(o.seed, kItemPopularity, 0));
    double total = 0;
    for (double v : w) total += v;
    m.log_popularity.resize(o.items);
    for (uint32_t i = 0; i < o.items; ++i) {
      m.log_popularity[i] = static_cast<float>(std::log(w[i] / total));
    }
    m.popularity = std::make_unique<AliasTable>(w);
  }
  m.counts = UserCounts(
      PowerLawWeights(o.users, o.activity_exponent, StreamSeed(o.seed, kUserActivity, 0)),
      o.min_per_user, m.cap, o.interactions);

  AtomicFileWriter out;
  RECO_RETURN_IF_ERROR(out.Open(out_path));
  std::unique_ptr<AtomicFileWriter> factors_out;
  if (!factors_path.empty()) {
    factors_out = std::make_unique<AtomicFileWriter>();
    RECO_RETURN_IF_ERROR(factors_out->Open(factors_path));
    std::string head =
        fmt::format("{}\nusers {} items {} rank {} affinity {} zipf_exponent {} seed {}\n",
                    kFactorsMagic, o.users, o.items, o.rank, o.affinity, o.zipf_exponent, o.seed);
    RECO_RETURN_IF_ERROR(factors_out->Append(head));
    RECO_RETURN_IF_ERROR(WriteItemFactors(m, factors_out.get()));
  }
  RECO_RETURN_IF_ERROR(out.Append("user_id,item_id,rating,timestamp\n"));

  const int threads = ResolveThreads(o.threads);
  std::vector<Scratch> scratch(static_cast<size_t>(threads));
  for (Scratch& s : scratch) {
    s.stamp.assign(o.items, 0);
    s.slot.assign(o.items, 0);
  }
  std::vector<std::string> csv(kBlocksPerBatch), factor_text(kBlocksPerBatch);
  std::unique_ptr<ProgressBar> bar;
  if (o.progress) bar = std::make_unique<ProgressBar>("synth", o.interactions);
  uint64_t written = 0;
  const uint64_t batch_users = uint64_t{kBlockUsers} * kBlocksPerBatch;
  for (uint64_t first = 0; first < o.users; first += batch_users) {
    const uint64_t last = std::min<uint64_t>(o.users, first + batch_users);
    const uint64_t blocks = (last - first + kBlockUsers - 1) / kBlockUsers;
    ParallelFor(blocks, threads, 1, [&](uint64_t b, uint64_t e, int w) {
      for (uint64_t blk = b; blk < e; ++blk) {
        csv[blk].clear();
        factor_text[blk].clear();
        const uint64_t ub = first + blk * kBlockUsers;
        const uint64_t ue = std::min(last, ub + kBlockUsers);
        for (uint64_t u = ub; u < ue; ++u) {
          GenerateUser(m, static_cast<uint32_t>(u), scratch[static_cast<size_t>(w)], &csv[blk],
                       factors_out ? &factor_text[blk] : nullptr);
        }
      }
    });
    for (uint64_t blk = 0; blk < blocks; ++blk) {
      RECO_RETURN_IF_ERROR(out.Append(csv[blk]));
      if (factors_out) RECO_RETURN_IF_ERROR(factors_out->Append(factor_text[blk]));
      // Big batches would otherwise keep their peak capacity for the whole run.
      if (csv[blk].capacity() > kFlushBytes) std::string().swap(csv[blk]);
      if (factor_text[blk].capacity() > kFlushBytes) std::string().swap(factor_text[blk]);
    }
    for (uint64_t u = first; u < last; ++u) written += m.counts[u];
    if (bar) bar->Update(written);
  }
  if (bar) bar->Finish();
  const uint64_t bytes = out.bytes_appended();
  RECO_RETURN_IF_ERROR(out.Commit());
  if (factors_out) RECO_RETURN_IF_ERROR(factors_out->Commit());
  if (report != nullptr) {
    *report = SynthReport();
    report->interactions = written;
    report->bytes = bytes;
    for (const Scratch& s : scratch) {
      report->exact_users += s.exact_users;
      report->max_user_interactions = std::max(report->max_user_interactions, s.max_count);
    }
    report->seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return Status::Ok();
}

float PlantedModel::Score(uint32_t user, uint32_t item) const {
  return item_bias[item] + Dot(user_factors.data() + static_cast<size_t>(user) * rank,
                               item_factors.data() + static_cast<size_t>(item) * rank, rank);
}

namespace {

// Reads the factors file line by line with strict, size-checked parsing.
class FactorsParser {
 public:
  FactorsParser(std::string path, std::FILE* f) : path_(std::move(path)), file_(f) {}

  Status Error(const std::string& reason) const {
    return Status::Corruption(fmt::format("{}:{}: {}", path_, line_number_, reason));
  }

  // False at end of file.
  Result<bool> NextLine() {
    line_.clear();
    for (;;) {
      int c = getc_unlocked(file_);
      if (c == EOF) {
        if (std::ferror(file_)) {
          return Status::IOError(fmt::format("{}: read failed: {}", path_, ErrnoText(errno)));
        }
        if (line_.empty()) return false;
        break;
      }
      if (c == '\n') break;
      if (line_.size() >= kMaxLine) return Error("line too long");
      line_ += static_cast<char>(c);
    }
    ++line_number_;
    rest_ = line_;
    return true;
  }

  std::string_view NextToken() {
    while (!rest_.empty() && rest_.front() == ' ') rest_.remove_prefix(1);
    size_t end = rest_.find(' ');
    std::string_view tok = rest_.substr(0, end);
    rest_.remove_prefix(end == std::string_view::npos ? rest_.size() : end);
    return tok;
  }

  template <typename T>
  Status Number(const char* what, T* out) {
    std::string_view tok = NextToken();
    auto [ptr, ec] = std::from_chars(tok.data(), tok.data() + tok.size(), *out);
    if (tok.empty() || ec != std::errc() || ptr != tok.data() + tok.size()) {
      return Error(fmt::format("expected {} , got \"{}\"", what, tok.substr(0, 40)));
    }
    if constexpr (std::is_floating_point_v<T>) {
      if (!std::isfinite(*out)) return Error(fmt::format("{} is not finite", what));
    }
    return Status::Ok();
  }

  Status Word(std::string_view want) {
    std::string_view tok = NextToken();
    if (tok != want) {
      return Error(fmt::format("expected \"{}\", got \"{}\"", want, tok.substr(0, 40)));
    }
    return Status::Ok();
  }

  Status End() {
    while (!rest_.empty() && rest_.front() == ' ') rest_.remove_prefix(1);
    if (!rest_.empty()) return Error("unexpected trailing fields");
    return Status::Ok();
  }

  const std::string& line() const { return line_; }

 private:
  static constexpr size_t kMaxLine = 1 << 16;
  std::string path_;
  std::FILE* file_;
  std::string line_;
  std::string_view rest_;
  uint64_t line_number_ = 0;
};

}  // namespace

Result<PlantedModel> LoadPlantedModel(const std::string& path) {
  FilePtr file(std::fopen(path.c_str(), "rb"));
  if (!file) {
    if (errno == ENOENT) return Status::NotFound(fmt::format("{}: no such file", path));
    return Status::IOError(fmt::format("{}: cannot open: {}", path, ErrnoText(errno)));
  }
  FactorsParser p(path, file.get());
  RECO_ASSIGN_OR_RETURN(bool have, p.NextLine());
  if (!have || p.line() != kFactorsMagic) {
    return p.Error(fmt::format("not a synthetic factors file (expected \"{}\")", kFactorsMagic));
  }
  RECO_ASSIGN_OR_RETURN(have, p.NextLine());
  if (!have) return p.Error("missing the sizes line");
  PlantedModel m;
  RECO_RETURN_IF_ERROR(p.Word("users"));
  RECO_RETURN_IF_ERROR(p.Number("the user count", &m.users));
  RECO_RETURN_IF_ERROR(p.Word("items"));
  RECO_RETURN_IF_ERROR(p.Number("the item count", &m.items));
  RECO_RETURN_IF_ERROR(p.Word("rank"));
  RECO_RETURN_IF_ERROR(p.Number("the rank", &m.rank));
  if (m.rank == 0 || m.rank > kMaxRank) return p.Error("rank out of range");
  // Sizes are checked against the file before anything is allocated: every
  // factor takes at least two bytes (a digit and a separator).
  struct stat st;
  const uint64_t file_size =
      ::fstat(fileno(file.get()), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  const uint64_t floats = (uint64_t{m.users} + m.items) * (m.rank + 1);
  if (floats * 2 > file_size) {
    return p.Error(fmt::format("{} users and {} items of rank {} cannot fit in {} bytes", m.users,
                               m.items, m.rank, file_size));
  }
  m.item_factors.resize(static_cast<size_t>(m.items) * m.rank);
  m.item_bias.resize(m.items);
  m.user_factors.resize(static_cast<size_t>(m.users) * m.rank);
  auto rows = [&](const char* kind, uint32_t count, bool bias, float* factors) -> Status {
    for (uint32_t r = 0; r < count; ++r) {
      RECO_ASSIGN_OR_RETURN(bool more, p.NextLine());
      if (!more) return p.Error(fmt::format("file ends before {} {}", kind, r));
      RECO_RETURN_IF_ERROR(p.Word(kind));
      uint32_t id;
      RECO_RETURN_IF_ERROR(p.Number("an id", &id));
      if (id != r) return p.Error(fmt::format("expected {} {}, got {}", kind, r, id));
      if (bias) RECO_RETURN_IF_ERROR(p.Number("a bias", &m.item_bias[r]));
      for (uint32_t k = 0; k < m.rank; ++k) {
        RECO_RETURN_IF_ERROR(p.Number("a factor", &factors[static_cast<size_t>(r) * m.rank + k]));
      }
      RECO_RETURN_IF_ERROR(p.End());
    }
    return Status::Ok();
  };
  RECO_RETURN_IF_ERROR(rows("item", m.items, true, m.item_factors.data()));
  RECO_RETURN_IF_ERROR(rows("user", m.users, false, m.user_factors.data()));
  RECO_ASSIGN_OR_RETURN(bool extra, p.NextLine());
  if (extra) return p.Error("unexpected line after the last user");
  return m;
}

}  // namespace reco
