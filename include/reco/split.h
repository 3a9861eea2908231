// Train/test splits of interaction records, reproducible bit for bit.
//
// Randomness comes from SplitMix64 with our own Fisher-Yates and an unbiased
// bounded draw, never from std::shuffle or std::uniform_int_distribution
// (whose algorithms differ between standard libraries), so a seed names the
// same split on every platform.
//
// The per-user splits follow Microsoft Recommenders' python_chrono_split and
// python_stratified_split (recommenders/datasets/python_splitters.py): a user
// with n records keeps round(train_ratio * n) of them in train, where round
// is numpy's round-half-to-even on the double product (0.75 * 2 = 1.5 -> 2,
// 0.75 * 6 = 4.5 -> 4, 0.75 * 10 = 7.5 -> 8). The rows chosen by the
// stratified split differ from theirs (different RNG); the counts do not.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "reco/interactions.h"
#include "reco/random.h"
#include "reco/status.h"

namespace reco {

// Both halves keep the input's relative record order.
struct TrainTest {
  std::vector<Interaction> train;
  std::vector<Interaction> test;
};

// train_ratio must lie strictly between 0 and 1 (as in Recommenders).

// floor(train_ratio * n) records drawn uniformly go to train, like
// Recommenders' python_random_split (sklearn's train_test_split).
Result<TrainTest> RandomSplit(const std::vector<Interaction>& records, double train_ratio,
                              uint64_t seed);

// Per user: the earliest round(train_ratio * n) records by timestamp go to
// train, the rest to test. Equal timestamps keep input order (pandas' stable
// multi-column sort does the same).
Result<TrainTest> ChronologicalSplit(const std::vector<Interaction>& records, double train_ratio);

// Per user: round(train_ratio * n) records drawn uniformly go to train. Users
// are visited in index order with one RNG stream.
Result<TrainTest> StratifiedSplit(const std::vector<Interaction>& records, double train_ratio,
                                  uint64_t seed);

// Drops records of users with fewer than min_user records and of items with
// fewer than min_item records. One pass (the default) counts both on the
// input and keeps a record only if its user and its item pass; with
// min_item <= 1 this is exactly Recommenders' min_rating_filter_pandas(
// filter_by="user"). iterate=true repeats until nothing changes (the k-core,
// like Recommenders' filter_k_core), since one pass can leave a user below
// min_user after its items were removed. 0 behaves as 1 (no filter).
std::vector<Interaction> FilterByMinCount(const std::vector<Interaction>& records,
                                          uint32_t min_user, uint32_t min_item,
                                          bool iterate = false);

// Test records whose user or whose item has no record in train: rating
// metrics cannot score them (no learned factors).
size_t CountColdTestRecords(const std::vector<Interaction>& train,
                            const std::vector<Interaction>& test);
// Removes those records from *test and returns how many were removed.
size_t RemoveColdTestRecords(const std::vector<Interaction>& train, std::vector<Interaction>* test);

// One entry point for the CLI: filter, then split.
enum class SplitMethod { kRandom, kChronological, kStratified };
std::string_view SplitMethodName(SplitMethod method);  // random, chrono, stratified
Result<SplitMethod> ParseSplitMethod(std::string_view name);

struct SplitOptions {
  SplitMethod method = SplitMethod::kStratified;
  double train_ratio = 0.75;
  uint64_t seed = 42;
  uint32_t min_user = 1;
  uint32_t min_item = 1;
  bool iterate_filter = false;
  bool drop_cold_test = false;  // remove test records with a user/item unseen in train
};

struct SplitReport {
  size_t input_records = 0;
  size_t filtered_records = 0;  // removed by the min-count filter
  size_t train_records = 0;
  size_t test_records = 0;
  size_t cold_test_records = 0;  // counted before any removal
  bool cold_test_dropped = false;
};

// FailedPrecondition for a chronological split of data without timestamps;
// InvalidArgument for a bad ratio or a filter that leaves nothing.
Result<TrainTest> SplitDataset(const Dataset& ds, const SplitOptions& opts,
                               SplitReport* report = nullptr);

}  // namespace reco
