// ModelRegistry: a directory of immutable, versioned models, the seen items
// each was trained on, and what it was trained from (the seed architecture's
// "model tracking"). A version id is the same id as the store version holding
// its precomputed lists (reco/rec_store.h), so "model V" and "lists V" travel
// together.
//
//   <dir>/versions/<version>/model.rcfm        factors (SaveModel format)
//   <dir>/versions/<version>/interactions.rcsr training interactions, users x
//                                              items in the model's index space
//   <dir>/versions/<version>/meta.json         see RegisterOptions
//   <dir>/activations.log                      "<unix_ms> <version>\n" per
//                                              activation; the last line is active
//   <dir>/tmp/                                 versions being written
//
// A version directory is written under tmp/, its files fsynced, and renamed
// into versions/ (never over an existing one), so List never sees a
// half-written model. Formats: docs/formats.md, section "Model registry".
//
// Threading: one ModelRegistry may be used from several threads; several
// processes may share a directory (registering distinct versions, appending
// activations under an flock).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "reco/interactions.h"
#include "reco/rec_store.h"
#include "reco/recommender.h"
#include "reco/status.h"
#include "reco/training_data_hash.h"

namespace reco {

// Writes / reads a CsrMatrix (with checksum) as interactions.rcsr. Load
// verifies magic, version, size, checksum and the CSR invariants (indptr
// monotone, column indices strictly increasing and < cols, values finite):
// Corruption naming the file otherwise, NotFound when it does not exist.
Status SaveInteractions(const CsrMatrix& matrix, const std::string& path);
Result<CsrMatrix> LoadInteractions(const std::string& path);

struct RegisterOptions {
  std::string version;  // empty: NewVersionId()
  // Recorded in meta.json with the creation time, model kind and parameters:
  std::string data_description;     // e.g. "u.data + events-through-seq 1234"
  std::string data_hash;            // empty: TrainingDataHash of the interactions
  uint64_t events_through_seq = 0;  // WAL events folded into this training run
  std::string metrics_json = "{}";  // {"rmse": 0.91, "precision@10": ...}; a JSON object
};

struct ModelVersionInfo {
  std::string version;
  int64_t created_unix_ms = 0;
  std::string meta_json;  // the whole meta.json
  bool active = false;
  // Non-empty when meta.json cannot be read or parsed ("meta.json: ..."); the
  // version is still listed so that it can be inspected, but Load refuses it.
  std::string problem;
};

struct RegisteredModel {
  std::string version;
  std::shared_ptr<const Recommender> model;  // any family
  CsrMatrix interactions;                    // num_users x num_items of `model`
  std::string meta_json;
  uint64_t events_through_seq = 0;
};

class ModelRegistry {
 public:
  // Creates the directory if needed, and removes temporary version
  // directories left behind by processes that no longer run.
  static Result<std::unique_ptr<ModelRegistry>> Open(const std::string& dir);
  ~ModelRegistry();

  // Stores a new version; FailedPrecondition if it exists or the model has a
  // non-finite weight (never registered), InvalidArgument if the interactions
  // do not match the model's shape (or the id or metrics_json is invalid).
  // Returns its id.
  Result<std::string> Register(const Recommender& model, const CsrMatrix& interactions,
                               const RegisterOptions& options);

  // Oldest first (by created_unix_ms, then id).
  Result<std::vector<ModelVersionInfo>> List() const;

  // Loads and verifies a version (checksums, sizes and hashes recorded in
  // meta.json, shapes): NotFound for an unknown version, Corruption naming
  // the file for a damaged one.
  Result<RegisteredModel> Load(std::string_view version) const;

  // NotFound when nothing was ever activated.
  Result<std::string> ActiveVersion() const;
  // Appends to activations.log (fsynced). Does not touch any store.
  Status RecordActivation(std::string_view version);
  // The version active before the current one (what rollback activates): the
  // latest logged activation of a version other than the current one, so two
  // rollbacks in a row toggle between two versions. NotFound when there is none.
  Result<std::string> RollbackTarget() const;

  const std::string& dir() const;

 private:
  struct Impl;
  explicit ModelRegistry(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The whole activation, as `reco models activate` and the server's admin
// endpoint do it: Load verifies the model (refusing a corrupt one), the store
// must hold a complete version with the same id (its lists precomputed),
// then the store's pointer flips and the registry records it. Nothing changes
// when any check fails (if recording fails after the flip, the store's
// previous pointer is restored). `loaded`, if given, receives the verified
// model, so a server need not read it twice.
Status ActivateModelVersion(ModelRegistry* registry, RecommendationStore* store,
                            std::string_view version, RegisteredModel* loaded = nullptr);

}  // namespace reco
