// reco_serve_demo: the HTTP server over synthetic in-memory lists, to load
// test the serving path (wrk, reco loadgen) without a store.
//   reco_serve_demo --port 8080 --users 100000 --k 10
#include <spdlog/spdlog.h>

#include <CLI/CLI.hpp>
#include <string>

#include "reco/server.h"

int main(int argc, char** argv) {
  CLI::App app{"Serve synthetic recommendations from memory (user u<N>, item i<N>)."};
  reco::ServerOptions options;
  int users = 100000;
  int items = 10000;
  int k = 10;
  app.add_option("--host", options.host, "Address to listen on")->capture_default_str();
  app.add_option("--port", options.port, "Port (0 picks a free one)")->capture_default_str();
  app.add_option("--threads", options.threads, "Worker threads (0: one per core)")
      ->capture_default_str();
  app.add_option("--users", users, "Users u0..u<N-1> with a list each")->capture_default_str();
  app.add_option("--items", items, "Items i0..i<N-1> with a similar list each")
      ->capture_default_str();
  app.add_option("--k", k, "List length")->capture_default_str()->check(CLI::Range(1, 1000));
  CLI11_PARSE(app, argc, argv);

  reco::InMemoryRecommendationSource source;
  source.SetActiveVersion("demo");
  const auto list_for = [&](int seed) {
    reco::InMemoryRecommendationSource::Items list;
    for (int j = 0; j < k; ++j) {
      list.emplace_back("i" + std::to_string((seed * 7919 + j * 104729) % items),
                        1.0f / static_cast<float>(j + 1));
    }
    return list;
  };
  for (int u = 0; u < users; ++u)
    source.SetUserRecommendations("u" + std::to_string(u), list_for(u));
  for (int i = 0; i < items; ++i) source.SetSimilarItems("i" + std::to_string(i), list_for(i + 1));
  source.SetPopularItems(list_for(0));

  options.handle_signals = true;
  auto server = reco::HttpServer::Start(options, &source);
  if (!server.ok()) {
    spdlog::error("{}", server.status().ToString());
    return 1;
  }
  spdlog::info("listening on {} ({} users, {} items, k={})", (*server)->url(), users, items, k);
  (*server)->Wait();
  return 0;
}
