// The load run: one Asio io_context per thread, each driving its share of
// the keep-alive connections. Nothing is shared between threads while the
// load runs except relaxed progress counters (and, with max_requests, one
// atomic claim counter); each thread records into its own stats, merged at
// the end.
//
// Closed loop: a connection sends its next request as soon as the previous
// response arrived; latency runs from the write, and a response counts when
// it completes inside the measured window.
//
// Open loop: request j (globally) is scheduled at start + j/rate and belongs
// to thread j % threads. A thread's due requests form a queue served by its
// free connections in order; latency runs from the scheduled time, so time
// spent waiting for a free connection or a slow server is measured (the
// coordinated-omission correction of wrk2). A request counts when it was
// scheduled inside the window, whenever it completes.
//
// Mixed workloads: each request is a GET of the URL template or, with the
// write fraction's probability, a POST of one event; both kinds share the
// connections and are counted apart. Freshness probes run on their own
// blocking clients and threads (freshness_probe.h).
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <cmath>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <thread>

#include "freshness_probe.h"
#include "http_response_parser.h"
#include "reco/loadgen.h"
#include "reco/parallel.h"
#include "reco/random.h"
#include "request_builder.h"

namespace reco {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using TimePoint = Clock::time_point;
using loadgen_internal::EventPostBuilder;
using loadgen_internal::HttpResponseParser;

constexpr size_t kReadBufferBytes = 16 * 1024;
constexpr int kMaxConcurrency = 100000;
constexpr int kMaxProbeConnections = 64;

uint64_t ToNanos(Clock::duration d) {
  return d.count() <= 0 ? 0
                        : static_cast<uint64_t>(
                              std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

// What every thread reads and nobody writes during the run.
struct RunPlan {
  const LoadTestOptions* options;
  tcp::endpoint endpoint;
  std::vector<std::string> encoded_users;
  // Mixed workload: POST an event with probability write_fraction, for a
  // user of write_users (raw ids: they go into a JSON body) and an item.
  double write_fraction = 0;
  std::vector<std::string> write_users;
  std::atomic<uint64_t>* next_write_user = nullptr;  // WriteWorkload::sequence_count > 0
  const EventPostBuilder* post_builder = nullptr;
  int threads = 1;
  bool open_loop = false;
  TimePoint start;
  TimePoint warmup_end;
  TimePoint window_end;
  TimePoint drain_end;  // open loop: the last moment a measured request may finish
  Clock::duration timeout;
  std::atomic<uint64_t>* claims = nullptr;  // requests left, when max_requests > 0
};

// Statuses 100..599 by value; index 0 holds anything else.
using StatusCounts = std::array<uint64_t, 600>;

struct KindStats {
  LatencyHistogram latency;
  uint64_t responses = 0;
  uint64_t non_2xx = 0;
  uint64_t errors = 0;
  StatusCounts statuses{};
};

struct ThreadStats {
  KindStats reads;
  KindStats writes;
  LatencyHistogram latency;
  uint64_t responses = 0;
  uint64_t non_2xx = 0;
  std::array<uint64_t, 6> status_classes{};
  uint64_t connect_errors = 0;
  uint64_t read_errors = 0;
  uint64_t write_errors = 0;
  uint64_t timeouts = 0;
  uint64_t protocol_errors = 0;
  uint64_t scheduled = 0;
  uint64_t connections_opened = 0;
  uint64_t bytes_read = 0;
  TimePoint finished;
};

// Read by the progress loop on another thread; padded against false sharing.
struct alignas(64) LiveCounters {
  std::atomic<uint64_t> responses{0};
  std::atomic<uint64_t> errors{0};
};

class LoadThread;

class Connection {
 public:
  enum class State { kIdle, kConnecting, kWriting, kReading, kBackoff, kDone };

  Connection(LoadThread* owner, asio::io_context& io, uint64_t seed)
      : owner_(owner), socket_(io), backoff_timer_(io), rng_(seed) {}

  State state() const { return state_; }
  bool has_request() const { return has_request_; }
  bool request_measured() const { return measured_; }
  TimePoint op_start() const { return op_start_; }

  // Starts a request whose latency runs from `latency_start` (open loop:
  // the scheduled time; closed loop: ignored, the write time is used).
  void Begin(TimePoint latency_start, bool measured);
  // Drops the socket (and its pending operations) without counting anything.
  void Abandon(State next);
  // The sweep found the current operation older than the timeout.
  void TimeOut();

 private:
  void Connect();
  void Send();
  void Read();
  void OnResponse();
  void OnFailure(uint64_t ThreadStats::*counter);
  // The request in flight (if any) failed: charge it to its kind.
  void CountKindError(bool counts);
  void CloseSocket();

  LoadThread* owner_;
  tcp::socket socket_;
  asio::steady_timer backoff_timer_;
  std::unique_ptr<char[]> read_buffer_{new char[kReadBufferBytes]};
  std::string request_;
  std::string body_scratch_;
  std::string sequence_user_;  // the current write user of WriteWorkload::sequence_count
  HttpResponseParser parser_;
  SplitMix64 rng_;
  State state_ = State::kIdle;
  uint64_t generation_ = 0;  // bumped on close; stale handlers compare it
  bool has_request_ = false;
  bool measured_ = false;
  bool is_write_ = false;  // the request in flight is an event POST
  TimePoint latency_start_;
  TimePoint op_start_;
  Clock::duration backoff_{};

  friend class LoadThread;
};

class LoadThread {
 public:
  LoadThread(const RunPlan& plan, int index, LiveCounters* live)
      : plan_(plan),
        index_(index),
        live_(live),
        io_(1),
        sweep_timer_(io_),
        phase_timer_(io_),
        schedule_timer_(io_) {}

  void AddConnection(uint64_t seed) {
    connections_.push_back(std::make_unique<Connection>(this, io_, seed));
  }

  void Run();
  ThreadStats& stats() { return stats_; }

  // Called by connections.
  const RunPlan& plan() const { return plan_; }
  bool InWindow(TimePoint now) const { return now >= plan_.warmup_end && now < plan_.window_end; }
  bool Counts(const Connection& c, TimePoint now) const {
    return plan_.open_loop ? c.measured_ : InWindow(now);
  }
  // Progress shows every response and error, warmup included; the report
  // only those that count.
  void CountError(uint64_t ThreadStats::*counter, bool counts) {
    if (counts) ++(stats_.*counter);
    live_->errors.fetch_add(1, std::memory_order_relaxed);
  }
  void CountResponse() { live_->responses.fetch_add(1, std::memory_order_relaxed); }
  // A connection finished (or failed) its request and wants the next one.
  void Next(Connection* c);

 private:
  void ArmSweep();
  void Sweep();
  void OnWindowEnd();
  void OnDrainEnd();
  void ScheduleDue();
  void ArmSchedule();
  TimePoint ScheduledTime(uint64_t k) const;
  void FinishIfIdle();
  void Shutdown();

  const RunPlan& plan_;
  int index_;
  LiveCounters* live_;
  asio::io_context io_;
  asio::steady_timer sweep_timer_;
  asio::steady_timer phase_timer_;
  asio::steady_timer schedule_timer_;
  std::vector<std::unique_ptr<Connection>> connections_;
  std::vector<Connection*> idle_;  // open loop: connections waiting for a due request
  ThreadStats stats_;
  bool stopping_ = false;
  // Open loop: this thread's k-th request is global request index_ + k*threads.
  uint64_t next_due_ = 0;   // first k not yet due
  uint64_t next_sent_ = 0;  // first k not yet handed to a connection
  bool schedule_done_ = false;
};

// ---- Connection ------------------------------------------------------------

void Connection::Begin(TimePoint latency_start, bool measured) {
  has_request_ = true;
  latency_start_ = latency_start;
  measured_ = measured;
  if (socket_.is_open()) {
    Send();
  } else {
    Connect();
  }
}

void Connection::Connect() {
  state_ = State::kConnecting;
  op_start_ = Clock::now();
  const uint64_t gen = generation_;
  socket_.async_connect(owner_->plan().endpoint, [this, gen](const boost::system::error_code& ec) {
    if (gen != generation_) return;
    if (ec) {
      const TimePoint now = Clock::now();
      owner_->CountError(&ThreadStats::connect_errors, owner_->Counts(*this, now));
      CloseSocket();
      // Back off so a dead server is not hammered; the request (open loop:
      // with its scheduled time) is retried afterwards.
      backoff_ = std::clamp<Clock::duration>(backoff_ * 2, std::chrono::milliseconds(5),
                                             std::chrono::milliseconds(500));
      state_ = State::kBackoff;
      backoff_timer_.expires_after(backoff_);
      const uint64_t g = generation_;
      backoff_timer_.async_wait([this, g](const boost::system::error_code& e) {
        if (e || g != generation_ || state_ != State::kBackoff) return;
        Connect();
      });
      return;
    }
    backoff_ = {};
    ++owner_->stats().connections_opened;
    boost::system::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    Send();
  });
}

void Connection::Send() {
  const RunPlan& plan = owner_->plan();
  request_.clear();
  // 53 random bits against the fraction: exact for any fraction a flag can say.
  is_write_ = plan.write_fraction > 0 &&
              static_cast<double>(rng_.Next() >> 11) * 0x1.0p-53 < plan.write_fraction;
  if (is_write_) {
    const WriteWorkload& w = plan.options->writes;
    if (w.sequence_count > 0) {
      const uint64_t n = plan.next_write_user->fetch_add(1, std::memory_order_relaxed);
      sequence_user_ = std::to_string(w.sequence_first + n % w.sequence_count);
    }
    const std::string& user = w.sequence_count > 0
                                  ? sequence_user_
                                  : plan.write_users[rng_.Below(plan.write_users.size())];
    const std::string& item = w.items[rng_.Below(w.items.size())];
    std::optional<int> value;
    if (w.with_value) {
      value = w.value_min +
              static_cast<int>(rng_.Below(static_cast<uint64_t>(w.value_max - w.value_min) + 1));
    }
    plan.post_builder->Append(user, item, value, &body_scratch_, &request_);
  } else {
    const std::string empty;
    const std::string& user = plan.encoded_users.empty()
                                  ? empty
                                  : plan.encoded_users[rng_.Below(plan.encoded_users.size())];
    loadgen_internal::AppendGetRequest(plan.options->url, user, &request_);
  }

  state_ = State::kWriting;
  op_start_ = Clock::now();
  if (!plan.open_loop) latency_start_ = op_start_;
  parser_.Reset();
  const uint64_t gen = generation_;
  asio::async_write(socket_, asio::buffer(request_),
                    [this, gen](const boost::system::error_code& ec, size_t) {
                      if (gen != generation_) return;
                      if (ec) return OnFailure(&ThreadStats::write_errors);
                      state_ = State::kReading;
                      Read();
                    });
}

void Connection::Read() {
  const uint64_t gen = generation_;
  socket_.async_read_some(asio::buffer(read_buffer_.get(), kReadBufferBytes),
                          [this, gen](const boost::system::error_code& ec, size_t n) {
                            if (gen != generation_) return;
                            if (ec) {
                              if (ec == asio::error::eof &&
                                  parser_.FinishOnClose() == HttpResponseParser::State::kDone) {
                                return OnResponse();
                              }
                              return OnFailure(&ThreadStats::read_errors);
                            }
                            if (owner_->Counts(*this, Clock::now()))
                              owner_->stats().bytes_read += n;
                            const auto outcome = parser_.Feed(read_buffer_.get(), n);
                            switch (outcome.state) {
                              case HttpResponseParser::State::kNeedMore:
                                return Read();
                              case HttpResponseParser::State::kError:
                                return OnFailure(&ThreadStats::protocol_errors);
                              case HttpResponseParser::State::kDone:
                                // One request is in flight, so bytes past the response are junk.
                                if (outcome.consumed != n)
                                  return OnFailure(&ThreadStats::protocol_errors);
                                return OnResponse();
                            }
                          });
}

void Connection::OnResponse() {
  const TimePoint now = Clock::now();
  if (owner_->Counts(*this, now)) {
    ThreadStats& s = owner_->stats();
    s.latency.Record(ToNanos(now - latency_start_));
    ++s.responses;
    const int status = parser_.status();
    const int cls = status >= 100 && status < 600 ? status / 100 : 0;
    ++s.status_classes[static_cast<size_t>(cls)];
    if (cls != 2) ++s.non_2xx;
    KindStats& kind = is_write_ ? s.writes : s.reads;
    kind.latency.Record(ToNanos(now - latency_start_));
    ++kind.responses;
    ++kind.statuses[cls == 0 ? 0 : static_cast<size_t>(status)];
    if (cls != 2) ++kind.non_2xx;
  }
  owner_->CountResponse();
  has_request_ = false;
  if (!parser_.keep_alive()) CloseSocket();
  state_ = State::kIdle;
  owner_->Next(this);
}

void Connection::CountKindError(bool counts) {
  const bool sent = state_ == State::kWriting || state_ == State::kReading;
  if (!counts || !has_request_ || !sent) return;
  ++(is_write_ ? owner_->stats().writes : owner_->stats().reads).errors;
}

void Connection::OnFailure(uint64_t ThreadStats::*counter) {
  const bool counts = owner_->Counts(*this, Clock::now());
  owner_->CountError(counter, counts);
  CountKindError(counts);
  has_request_ = false;
  CloseSocket();
  state_ = State::kIdle;
  owner_->Next(this);
}

void Connection::TimeOut() {
  const bool counts = owner_->Counts(*this, Clock::now());
  owner_->CountError(&ThreadStats::timeouts, counts);
  CountKindError(counts);
  has_request_ = false;
  CloseSocket();
  state_ = State::kIdle;
  owner_->Next(this);
}

void Connection::Abandon(State next) {
  CloseSocket();
  backoff_timer_.cancel();
  has_request_ = false;
  state_ = next;
}

void Connection::CloseSocket() {
  ++generation_;
  boost::system::error_code ignored;
  socket_.close(ignored);
}

// ---- LoadThread ------------------------------------------------------------

void LoadThread::Run() {
  ArmSweep();

  phase_timer_.expires_at(plan_.window_end);
  phase_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !stopping_) OnWindowEnd();
  });

  if (plan_.open_loop) {
    for (auto& c : connections_) idle_.push_back(c.get());
    ArmSchedule();
  } else {
    for (auto& c : connections_) Next(c.get());
  }
  io_.run();
  stats_.finished = Clock::now();
  // Destroy sockets while the io_context is still alive.
  connections_.clear();
}

void LoadThread::Next(Connection* c) {
  if (stopping_) {
    c->Abandon(Connection::State::kDone);
    return FinishIfIdle();
  }
  if (!plan_.open_loop) {
    if (Clock::now() >= plan_.window_end) {
      c->Abandon(Connection::State::kDone);
      return FinishIfIdle();
    }
    if (plan_.claims != nullptr) {
      uint64_t left = plan_.claims->load(std::memory_order_relaxed);
      while (left > 0 &&
             !plan_.claims->compare_exchange_weak(left, left - 1, std::memory_order_relaxed)) {
      }
      if (left == 0) {
        c->Abandon(Connection::State::kDone);
        return FinishIfIdle();
      }
    }
    return c->Begin(TimePoint{}, true);
  }
  if (next_sent_ < next_due_) {
    const TimePoint scheduled = ScheduledTime(next_sent_++);
    return c->Begin(scheduled, scheduled >= plan_.warmup_end);
  }
  if (schedule_done_) {
    c->Abandon(Connection::State::kDone);
    return FinishIfIdle();
  }
  idle_.push_back(c);
}

TimePoint LoadThread::ScheduledTime(uint64_t k) const {
  const long double j = static_cast<long double>(index_) +
                        static_cast<long double>(k) * static_cast<long double>(plan_.threads);
  const long double offset_ns = j * 1e9L / static_cast<long double>(plan_.options->rate);
  return plan_.start + std::chrono::nanoseconds(static_cast<int64_t>(offset_ns));
}

void LoadThread::ArmSchedule() {
  const TimePoint next = ScheduledTime(next_due_);
  if (next >= plan_.window_end) {
    schedule_done_ = true;
    // Connections with nothing to do now will get nothing more.
    std::vector<Connection*> idle;
    idle.swap(idle_);
    for (Connection* c : idle) c->Abandon(Connection::State::kDone);
    return FinishIfIdle();
  }
  schedule_timer_.expires_at(next);
  schedule_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    ScheduleDue();
  });
}

void LoadThread::ScheduleDue() {
  const TimePoint now = Clock::now();
  while (true) {
    const TimePoint t = ScheduledTime(next_due_);
    if (t > now || t >= plan_.window_end) break;
    if (t >= plan_.warmup_end) ++stats_.scheduled;
    ++next_due_;
  }
  while (!idle_.empty() && next_sent_ < next_due_) {
    Connection* c = idle_.back();
    idle_.pop_back();
    const TimePoint scheduled = ScheduledTime(next_sent_++);
    c->Begin(scheduled, scheduled >= plan_.warmup_end);
  }
  ArmSchedule();
}

void LoadThread::ArmSweep() {
  // Timeouts are found by a periodic sweep rather than a timer per request:
  // re-arming a timer on every request would cost more than the request.
  const auto tick = std::clamp<Clock::duration>(plan_.timeout / 4, std::chrono::milliseconds(1),
                                                std::chrono::milliseconds(50));
  sweep_timer_.expires_after(tick);
  sweep_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (ec || stopping_) return;
    Sweep();
    if (!stopping_) ArmSweep();
  });
}

void LoadThread::Sweep() {
  const TimePoint now = Clock::now();
  for (auto& c : connections_) {
    const auto state = c->state();
    const bool busy = state == Connection::State::kConnecting ||
                      state == Connection::State::kWriting || state == Connection::State::kReading;
    if (busy && now - c->op_start() > plan_.timeout) c->TimeOut();
  }
}

void LoadThread::OnWindowEnd() {
  if (!plan_.open_loop) return Shutdown();
  // Open loop: let measured requests (queued or in flight) finish until
  // drain_end; the schedule itself stops on its own at window_end.
  phase_timer_.expires_at(plan_.drain_end);
  phase_timer_.async_wait([this](const boost::system::error_code& ec) {
    if (!ec && !stopping_) OnDrainEnd();
  });
}

void LoadThread::OnDrainEnd() {
  for (auto& c : connections_) {
    if (c->has_request() && c->request_measured()) {
      CountError(&ThreadStats::timeouts, true);
      c->CountKindError(true);
    }
  }
  for (uint64_t k = next_sent_; k < next_due_; ++k) {
    if (ScheduledTime(k) >= plan_.warmup_end) CountError(&ThreadStats::timeouts, true);
  }
  next_sent_ = next_due_;
  Shutdown();
}

void LoadThread::FinishIfIdle() {
  if (plan_.open_loop && (!schedule_done_ || next_sent_ < next_due_)) return;
  for (auto& c : connections_) {
    if (c->state() != Connection::State::kDone) return;
  }
  Shutdown();
}

void LoadThread::Shutdown() {
  if (stopping_) return;
  stopping_ = true;
  for (auto& c : connections_) c->Abandon(Connection::State::kDone);
  idle_.clear();
  sweep_timer_.cancel();
  phase_timer_.cancel();
  schedule_timer_.cancel();
}

// ---- Setup -----------------------------------------------------------------

Status CheckOptions(const LoadTestOptions& o) {
  if (o.concurrency < 1 || o.concurrency > kMaxConcurrency) {
    return Status::InvalidArgument("concurrency must be in 1.." + std::to_string(kMaxConcurrency));
  }
  if (o.duration.count() <= 0) return Status::InvalidArgument("duration must be positive");
  if (o.warmup.count() < 0) return Status::InvalidArgument("warmup must not be negative");
  if (o.timeout.count() <= 0) return Status::InvalidArgument("timeout must be positive");
  if (o.rate < 0 || !std::isfinite(o.rate)) {
    return Status::InvalidArgument("rate must be a positive number of requests per second");
  }
  if (o.rate > 0 && o.max_requests > 0) {
    return Status::InvalidArgument("a request count limit applies to closed-loop runs only");
  }
  if (o.url.target_parts.empty()) return Status::InvalidArgument("no URL");
  if (o.url.has_user_placeholder() && o.users.empty()) {
    return Status::InvalidArgument("the URL has {user} but no user ids were given");
  }
  const WriteWorkload& w = o.writes;
  if (!(w.fraction >= 0 && w.fraction <= 1)) {
    return Status::InvalidArgument("write fraction must be between 0 and 1");
  }
  const bool probing = o.probes.connections > 0;
  if (o.probes.connections < 0 || o.probes.connections > kMaxProbeConnections) {
    return Status::InvalidArgument("probe connections must be in 0.." +
                                   std::to_string(kMaxProbeConnections));
  }
  if (w.fraction > 0 || probing) {
    if (w.items.empty()) return Status::InvalidArgument("writes need item ids (--items-from)");
    if (w.path.empty() || w.path[0] != '/') {
      return Status::InvalidArgument("write path must start with '/': '" + w.path + "'");
    }
    for (const std::string* field : {&w.path, &w.api_key, &w.event_type}) {
      for (char c : *field) {
        const auto u = static_cast<unsigned char>(c);
        if (u <= 0x20 || u >= 0x7f) {
          return Status::InvalidArgument(
              "write path, API key and event type must be printable ASCII without spaces");
        }
      }
    }
    if (w.event_type.empty()) return Status::InvalidArgument("event type must not be empty");
    if (w.with_value && w.value_min > w.value_max) {
      return Status::InvalidArgument("event value range is empty (min > max)");
    }
    if (o.users.empty() && w.sequence_count == 0) {
      return Status::InvalidArgument("writes need user ids (--users-from)");
    }
  }
  if (probing) {
    if (!o.url.has_user_placeholder()) {
      return Status::InvalidArgument("freshness probes need a URL with {user}");
    }
    if (o.probes.users < 1) return Status::InvalidArgument("probes need at least one user");
    if (o.probes.deadline.count() <= 0) {
      return Status::InvalidArgument("probe deadline must be positive");
    }
    if (o.probes.interval.count() < 0 || o.probes.poll_interval.count() < 0) {
      return Status::InvalidArgument("probe intervals must not be negative");
    }
    if (w.fraction > 0 && o.users.size() < 2) {
      return Status::InvalidArgument(
          "writes with probes need at least 2 users (probe users get no load writes)");
    }
  }
  if (!o.allow_remote && !IsLoopbackHost(o.url.host)) {
    return Status::InvalidArgument("refusing to load non-loopback host '" + o.url.host +
                                   "' (pass --allow-remote if you really mean it)");
  }
  return Status::Ok();
}

// Each connection is a descriptor; raise the soft limit if that suffices.
Status EnsureDescriptors(int concurrency) {
  rlimit limit{};
  if (getrlimit(RLIMIT_NOFILE, &limit) != 0) return Status::Ok();
  const rlim_t needed = static_cast<rlim_t>(concurrency) + 64;
  if (limit.rlim_cur >= needed) return Status::Ok();
  if (limit.rlim_max >= needed) {
    limit.rlim_cur = needed;
    if (setrlimit(RLIMIT_NOFILE, &limit) == 0) return Status::Ok();
  }
  return Status::InvalidArgument("concurrency " + std::to_string(concurrency) + " needs about " +
                                 std::to_string(needed) + " file descriptors but the limit is " +
                                 std::to_string(limit.rlim_max) + " (ulimit -n)");
}

Result<tcp::endpoint> ResolveTarget(const LoadTestOptions& o) {
  asio::io_context io;
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  const auto results = resolver.resolve(o.url.host, std::to_string(o.url.port), ec);
  if (ec || results.empty()) {
    return Status::Unavailable("cannot resolve '" + o.url.host + "': " + ec.message());
  }
  for (const auto& entry : results) {
    if (o.allow_remote || entry.endpoint().address().is_loopback()) return entry.endpoint();
  }
  return Status::InvalidArgument("'" + o.url.host + "' does not resolve to a loopback address");
}

// One connect with a timeout, so a wrong port fails in a moment, not after
// the whole duration of errors.
Status ProbeConnect(const tcp::endpoint& endpoint, Clock::duration timeout) {
  asio::io_context io;
  tcp::socket socket(io);
  boost::system::error_code result = asio::error::timed_out;
  socket.async_connect(endpoint, [&](const boost::system::error_code& ec) { result = ec; });
  io.run_for(timeout);
  if (result) {
    std::ostringstream where;
    where << endpoint;
    return Status::Unavailable("cannot connect to " + where.str() + ": " + result.message());
  }
  return Status::Ok();
}

void MergeKind(const KindStats& from, RequestKindReport* to) {
  to->latency.Merge(from.latency);
  to->responses += from.responses;
  to->non_2xx += from.non_2xx;
  to->errors += from.errors;
  for (size_t status = 0; status < from.statuses.size(); ++status) {
    if (from.statuses[status] > 0) to->statuses[static_cast<int>(status)] += from.statuses[status];
  }
}

void MergeFreshness(const FreshnessReport& from, FreshnessReport* to) {
  to->probes += from.probes;
  to->stale += from.stale;
  to->skipped += from.skipped;
  for (const auto& [status, n] : from.write_statuses) to->write_statuses[status] += n;
  to->write_errors += from.write_errors;
  to->read_failures += from.read_failures;
  to->polls += from.polls;
  to->latency.Merge(from.latency);
}

}  // namespace

Result<LoadTestReport> RunLoadTest(const LoadTestOptions& options) {
  RECO_RETURN_IF_ERROR(CheckOptions(options));
  RECO_RETURN_IF_ERROR(EnsureDescriptors(options.concurrency));
  RECO_ASSIGN_OR_RETURN(const tcp::endpoint endpoint, ResolveTarget(options));
  RECO_RETURN_IF_ERROR(ProbeConnect(endpoint, options.timeout));

  RunPlan plan;
  plan.options = &options;
  plan.endpoint = endpoint;
  plan.threads = std::min(ResolveThreads(options.threads), options.concurrency);
  plan.open_loop = options.rate > 0;
  plan.timeout = options.timeout;
  if (options.url.has_user_placeholder()) {
    plan.encoded_users.reserve(options.users.size());
    for (const auto& u : options.users) plan.encoded_users.push_back(PercentEncode(u));
  }
  std::atomic<uint64_t> claims{options.max_requests};
  if (!plan.open_loop && options.max_requests > 0) plan.claims = &claims;

  // The last `probe_users` ids are the probes'; load writes leave them alone.
  const bool probing = options.probes.connections > 0;
  const size_t probe_users =
      !probing ? 0
               : std::min<size_t>(
                     static_cast<size_t>(options.probes.users),
                     options.writes.fraction > 0 ? options.users.size() - 1 : options.users.size());
  const size_t first_probe_user = options.users.size() - probe_users;
  std::optional<EventPostBuilder> post_builder;
  if (options.writes.fraction > 0 || probing) {
    post_builder.emplace(options.url, options.writes);
    plan.post_builder = &*post_builder;
  }
  if (options.writes.fraction > 0) {
    plan.write_fraction = options.writes.fraction;
    plan.write_users.assign(options.users.begin(),
                            options.users.begin() + static_cast<ptrdiff_t>(first_probe_user));
  }
  std::atomic<uint64_t> next_write_user{0};
  plan.next_write_user = &next_write_user;

  std::vector<LiveCounters> live(static_cast<size_t>(plan.threads));
  std::vector<std::unique_ptr<LoadThread>> workers;
  for (int t = 0; t < plan.threads; ++t) {
    workers.push_back(std::make_unique<LoadThread>(plan, t, &live[static_cast<size_t>(t)]));
  }
  for (int i = 0; i < options.concurrency; ++i) {
    workers[static_cast<size_t>(i % plan.threads)]->AddConnection(
        options.seed ^ (uint64_t(i) * 0x9E3779B97F4A7C15ULL));
  }

  // The clock starts after setup so every thread sees the same phases.
  plan.start = Clock::now();
  plan.warmup_end = plan.start + options.warmup;
  plan.window_end = plan.warmup_end + options.duration;
  plan.drain_end = plan.window_end + options.timeout;

  std::mutex mu;
  std::condition_variable done_cv;
  int running = plan.threads;
  std::vector<std::thread> pool;
  for (auto& w : workers) {
    pool.emplace_back([&, w = w.get()] {
      w->Run();
      std::lock_guard<std::mutex> lock(mu);
      --running;
      done_cv.notify_all();
    });
  }

  std::atomic<bool> load_done{false};
  std::vector<FreshnessReport> probe_reports(static_cast<size_t>(options.probes.connections));
  std::vector<std::thread> probe_threads;
  loadgen_internal::ProbePlan probe_plan;
  if (probing) {
    probe_plan.address = endpoint.data();
    probe_plan.address_size = static_cast<socklen_t>(endpoint.size());
    probe_plan.url = &options.url;
    probe_plan.writes = &options.writes;
    probe_plan.options = &options.probes;
    probe_plan.post_builder = plan.post_builder;
    for (size_t i = first_probe_user; i < options.users.size(); ++i) {
      probe_plan.raw_users.push_back(options.users[i]);
      probe_plan.encoded_users.push_back(plan.encoded_users[i]);
    }
    probe_plan.warmup_end = plan.warmup_end;
    probe_plan.window_end = plan.window_end;
    probe_plan.timeout = plan.timeout;
    probe_plan.stop = &load_done;
    for (int i = 0; i < options.probes.connections; ++i) {
      probe_threads.emplace_back([&, i] {
        loadgen_internal::ProbePlan mine = probe_plan;
        mine.seed = options.seed ^ (0xD1B54A32D192ED03ULL * (uint64_t(i) + 1));
        probe_reports[static_cast<size_t>(i)] = loadgen_internal::RunFreshnessProbes(mine);
      });
    }
  }

  uint64_t last_responses = 0;
  TimePoint last_tick = plan.start;
  {
    std::unique_lock<std::mutex> lock(mu);
    while (running > 0) {
      done_cv.wait_for(lock, std::chrono::seconds(1));
      if (running == 0 || !options.on_progress) continue;
      const TimePoint now = Clock::now();
      LoadTestProgress p;
      for (const auto& l : live) {
        p.responses += l.responses.load(std::memory_order_relaxed);
        p.errors += l.errors.load(std::memory_order_relaxed);
      }
      p.elapsed_seconds = std::chrono::duration<double>(now - plan.start).count();
      p.warming_up = now < plan.warmup_end;
      const double dt = std::chrono::duration<double>(now - last_tick).count();
      p.current_rps = dt > 0 ? static_cast<double>(p.responses - last_responses) / dt : 0;
      last_responses = p.responses;
      last_tick = now;
      lock.unlock();
      options.on_progress(p);
      lock.lock();
    }
  }
  for (auto& t : pool) t.join();
  load_done.store(true, std::memory_order_relaxed);
  for (auto& t : probe_threads) t.join();

  LoadTestReport report;
  report.open_loop = plan.open_loop;
  report.rate = options.rate;
  report.concurrency = options.concurrency;
  report.threads = plan.threads;
  report.mixed = plan.write_fraction > 0;
  report.probed = probing;
  {
    std::ostringstream where;
    where << endpoint;
    report.target = where.str();
  }
  TimePoint finished = plan.start;
  for (auto& w : workers) {
    const ThreadStats& s = w->stats();
    report.latency.Merge(s.latency);
    report.responses += s.responses;
    report.non_2xx += s.non_2xx;
    for (size_t i = 0; i < s.status_classes.size(); ++i) {
      report.status_classes[i] += s.status_classes[i];
    }
    report.connect_errors += s.connect_errors;
    report.read_errors += s.read_errors;
    report.write_errors += s.write_errors;
    report.timeouts += s.timeouts;
    report.protocol_errors += s.protocol_errors;
    report.scheduled += s.scheduled;
    report.connections_opened += s.connections_opened;
    report.bytes_read += s.bytes_read;
    finished = std::max(finished, s.finished);
    MergeKind(s.reads, &report.reads);
    MergeKind(s.writes, &report.writes);
  }
  for (const FreshnessReport& p : probe_reports) MergeFreshness(p, &report.freshness);
  // Open loop measures the nominal window (the schedule is time-based);
  // closed loop the time the window actually lasted (shorter when a request
  // limit ended the run early).
  const TimePoint window_end =
      plan.open_loop ? plan.window_end : std::min(finished, plan.window_end);
  report.window_seconds =
      std::max(0.0, std::chrono::duration<double>(window_end - plan.warmup_end).count());
  auto per_second = [&](uint64_t n) {
    return report.window_seconds > 0 ? static_cast<double>(n) / report.window_seconds : 0;
  };
  report.requests_per_second = per_second(report.responses);
  report.reads.requests_per_second = per_second(report.reads.responses);
  report.writes.requests_per_second = per_second(report.writes.responses);
  if (report.connections_opened == 0) {
    return Status::Unavailable("no connection to " + report.target + " succeeded during the run (" +
                               std::to_string(report.connect_errors) + " connect errors)");
  }
  return report;
}

}  // namespace reco
