// HttpServer: one Asio event loop run by N worker threads, Beast's incremental
// parser over a per-connection input buffer, responses rendered by the
// running thread's Router into a per-connection output buffer.
//
// Why one shared loop rather than a loop per thread: with a loop per thread a
// connection is stranded whenever its thread is preempted, and on a busy
// 2-core machine that doubled p99 latency; with a shared loop whichever thread
// is free serves whichever connection is ready. A connection never has more
// than one operation pending (it reads, or it writes), so its handlers run one
// at a time without a strand.
//
// Per request, the steady state allocates nothing: the parser keeps only the
// request target (into a reused string), routing scratch is per thread, and
// the buffers keep their capacity. Pipelined requests that arrive in one read
// are answered with one write.
//
// Writes (POST /v1/events, admin) block on an fdatasync or a model load, so
// they run on a separate ingest pool. While one is out the connection has no
// socket operation pending and parses nothing further: its next handler is
// the write's completion, posted back to the loop, which renders the answer
// behind any earlier pipelined responses and resumes parsing, so responses
// keep request order and the one-operation-at-a-time rule still holds. The
// job holds a work guard on the loop, so a draining server answers every
// write it started (an acknowledged event is never cut off). A sink that
// accepts asynchronously (EventSink::async_accept: the real-time engine)
// skips the pool: a small events body is parsed on the loop and handed to
// AcceptAsync, whose completion comes back the same way; no thread waits.
//
// Timeouts use one coarse sweeping timer (as redis's clientsCron does)
// instead of arming a timer per operation. The sweeper runs on another
// thread than the connection's handlers, so it never touches a connection's
// state: it shuts the socket down (a syscall on a descriptor that stays open
// while the connection is registered), and the connection's own pending
// operation then fails and closes it.
#include <spdlog/spdlog.h>

#include <sys/socket.h>

#include <algorithm>
#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/http/error.hpp>
#include <cstring>
#include <limits>
#include <mutex>
#include <optional>
#include <thread>

#include "metrics.h"
#include "reco/ingest.h"
#include "reco/parallel.h"
#include "reco/server.h"
#include "reco/text.h"
#include "request_parser.h"
#include "router.h"

namespace reco {
namespace serve {
namespace {

namespace asio = boost::asio;
namespace http = boost::beast::http;
using boost::system::error_code;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;
using Socket = asio::basic_stream_socket<tcp, asio::io_context::executor_type>;

// Responses of pipelined requests are batched until this much is pending.
constexpr size_t kMaxPendingOutput = 64 * 1024;
// POST /v1/events bodies up to this are parsed on the event loop when the
// sink accepts asynchronously (one event is ~100 bytes); bigger ones on the
// ingest pool.
constexpr size_t kInlineParseBytes = 16 * 1024;
// After an error response we read and drop what the client still sends (so
// the kernel does not answer it with a RST that destroys our response), up to
// this much or the lingering timeout.
constexpr size_t kMaxLingeringBytes = 1024 * 1024;
constexpr auto kLingeringTimeout = std::chrono::milliseconds(2000);
constexpr size_t kInitialInputBytes = 4096;

class Connection;

// The shared event loop: its threads, each thread's Router, and the registry
// of open connections that the timeout sweeper and shutdown walk.
class EventLoop {
 public:
  EventLoop(const ServerOptions& options, RecommendationSource* source, ServerMetrics* metrics,
            int threads, const WriteBackends* writes, asio::thread_pool* ingest_pool)
      : options_(options),
        writes_(writes),
        ingest_pool_(ingest_pool),
        ctx_(threads),
        guard_(ctx_.get_executor()),
        sweep_strand_(ctx_.get_executor()),
        sweeper_(sweep_strand_) {
    for (int i = 0; i < threads; ++i) {
      routers_.push_back(std::make_unique<Router>(options, source, metrics, i, writes));
    }
    const auto shortest = std::min({options.idle_timeout, options.request_timeout,
                                    options.write_timeout, options.drain_timeout});
    sweep_interval_ =
        std::clamp(shortest / 4, std::chrono::milliseconds(5), std::chrono::milliseconds(1000));
  }
  ~EventLoop();

  asio::io_context& context() { return ctx_; }
  const ServerOptions& options() const { return options_; }
  const WriteBackends& writes() const { return *writes_; }
  asio::thread_pool& ingest_pool() { return *ingest_pool_; }
  // Sequentially consistent, with the connections' activity_ updates: a
  // connection that turns idle and then reads "not draining" was idle when the
  // drain walked the registry (so the walk closed it), and one that reads
  // "draining" closes itself (Connection::DoRead).
  bool draining() const { return draining_.load(); }

  // The calling worker thread's Router (and metrics shard).
  static Router& router() { return *current_router_; }

  // Thread body of worker `index`.
  void Run(int index) {
    current_router_ = routers_[index].get();
    if (index == 0) asio::post(sweep_strand_, [this] { ScheduleSweep(); });
    for (;;) {
      try {
        ctx_.run();
        return;
      } catch (const std::exception& e) {
        // A handler threw (e.g. bad_alloc): that connection is lost, the loop lives on.
        spdlog::error("worker {}: {}", index, CapForLog(e.what()));
      }
    }
  }

  void Adopt(Socket socket);
  // Thread-safe; starts a graceful drain. The flag is set at once, so every
  // response rendered after Shutdown() returns says "Connection: close"; the
  // connections are walked on the strand.
  void BeginDrain() {
    draining_.store(true);
    asio::post(sweep_strand_, [this] { DrainOnStrand(); });
  }
  // False once draining: the drain may already have walked the registry and
  // let run() go, so a connection added now would be left to no one.
  bool Register(Connection* c);
  void Unregister(Connection* c);

 private:
  void ScheduleSweep() {
    sweeper_.expires_after(sweep_interval_);
    sweeper_.async_wait([this](error_code ec) {
      if (!ec) Sweep();
    });
  }
  void Sweep();
  void DrainOnStrand();

  static thread_local Router* current_router_;

  const ServerOptions& options_;
  const WriteBackends* writes_;
  asio::thread_pool* ingest_pool_;
  std::vector<std::unique_ptr<Router>> routers_;
  asio::io_context ctx_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_;
  asio::strand<asio::io_context::executor_type> sweep_strand_;  // sweeper and drain
  asio::steady_timer sweeper_;
  std::chrono::milliseconds sweep_interval_{};
  std::atomic<bool> draining_{false};
  Clock::time_point drain_deadline_{};  // on sweep_strand_
  bool drain_started_ = false;          // on sweep_strand_

  std::mutex mu_;               // guards the registry below
  Connection* head_ = nullptr;  // intrusive list of open connections
  size_t open_ = 0;
};

thread_local Router* EventLoop::current_router_ = nullptr;

class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(EventLoop* loop, Socket socket)
      : loop_(loop),
        options_(loop->options()),
        socket_(std::move(socket)),
        fd_(socket_.native_handle()) {
    in_.resize(kInitialInputBytes);
    out_.reserve(4096);
    target_.reserve(256);
  }
  ~Connection() {
    if (registered_ && loop_ != nullptr) loop_->Unregister(this);
  }

  void Start() {
    registered_ = true;
    DoRead();
  }

  // From the connection's own handlers only.
  void Close() {
    if (closed_) return;
    closed_ = true;
    // Unregister before closing the descriptor, so the sweeper (which shuts
    // down registered descriptors under the registry lock) never touches a
    // number the kernel may already have handed to a new socket.
    if (registered_ && loop_ != nullptr) {
      loop_->Unregister(this);
      EventLoop::router().metrics()->RecordConnectionClosed(EventLoop::router().shard());
    }
    registered_ = false;
    error_code ec;
    socket_.close(ec);
  }

  // For the sweeper and drain, which hold the registry lock: the connection
  // is still registered, so fd_ is open.
  bool expired(Clock::time_point now) const {
    return now.time_since_epoch().count() >= deadline_.load(std::memory_order_relaxed);
  }
  void Abort() const { ::shutdown(fd_, SHUT_RDWR); }
  // Aborts the connection only if it is idle, atomically with respect to its
  // own read handler, which claims the connection (ClaimForRequest) before it
  // touches a request: either the drain wins and the bytes that arrived are
  // never processed (nothing logged, nothing to answer), or the handler wins
  // and the drain lets the request finish. A plain "if idle then shut down"
  // cut off requests whose events were already being made durable.
  bool AbortIfIdle() {
    uint8_t expected = kActivityIdle;
    if (!activity_.compare_exchange_strong(expected, kActivityAborted)) return false;
    Abort();
    return true;
  }
  void Detach() { loop_ = nullptr; }

  Connection* prev = nullptr;
  Connection* next = nullptr;

 private:
  // kWaiting: a write job is out on the ingest pool; no socket operation is
  // pending and the deadline is off (the job's own duration is not the
  // client's fault, and an acknowledged write must be answered).
  enum class State { kIdle, kReading, kWriting, kWaiting, kLingering };

  void SetDeadline(Clock::duration from_now) {
    deadline_.store((Clock::now() + from_now).time_since_epoch().count(),
                    std::memory_order_relaxed);
  }
  void SetState(State state) {
    state_ = state;
    // Never undo an abort: the pending operation is about to fail and close.
    // Sequentially consistent, as EventLoop::draining(); it also publishes a
    // deadline stored just before (StartWriteJob) to the sweeper, whose
    // AbortIfIdle reads activity_ before its second expired().
    uint8_t current = activity_.load();
    const uint8_t next = state == State::kIdle ? kActivityIdle : kActivityBusy;
    while (current != kActivityAborted && !activity_.compare_exchange_weak(current, next)) {
    }
  }
  // False when a drain or idle timeout aborted the connection first.
  bool ClaimForRequest() {
    uint8_t expected = kActivityIdle;
    if (activity_.compare_exchange_strong(expected, kActivityBusy)) return true;
    return expected != kActivityAborted;
  }

  void DoRead() {
    if (state_ != State::kLingering) {
      if (!parser_ && in_begin_ == in_end_) {
        SetState(State::kIdle);
        SetDeadline(options_.idle_timeout);
        // A drain that began while this connection was busy found it busy
        // and left it; idle now, with nothing to answer, it goes.
        if (loop_->draining()) return LingeringClose();
      } else {
        SetState(State::kReading);  // the deadline was set when the request began
      }
    }
    if (in_begin_ == in_end_) in_begin_ = in_end_ = 0;
    if (in_end_ == in_.size()) {
      if (in_begin_ > 0) {
        std::memmove(in_.data(), in_.data() + in_begin_, in_end_ - in_begin_);
        in_end_ -= in_begin_;
        in_begin_ = 0;
      } else {
        // Only a partial header can fill the buffer (bodies are consumed as
        // they arrive), and headers over the limit are rejected, so this
        // stays within max_header_bytes plus one read.
        in_.resize(std::min<size_t>(in_.size() * 2, options_.max_header_bytes + 4096));
      }
    }
    socket_.async_read_some(
        asio::buffer(in_.data() + in_end_, in_.size() - in_end_),
        [self = shared_from_this()](error_code ec, size_t n) { self->OnRead(ec, n); });
  }

  void OnRead(error_code ec, size_t n) {
    if (ec || closed_) return Close();
    if (state_ == State::kLingering) {
      lingering_bytes_ += n;
      if (lingering_bytes_ > kMaxLingeringBytes) return Close();
      return DoRead();
    }
    // Bytes of a request arrived: from now on a drain must let it finish,
    // unless it already cut this idle connection off (then nothing of the
    // request has been processed, so dropping it loses no acknowledgement).
    // A new request's deadline, set before the claim (see Sweep()); a request
    // already under way keeps the deadline it started with (slow senders).
    if (state_ == State::kIdle) SetDeadline(options_.request_timeout);
    if (!ClaimForRequest()) return Close();
    in_end_ += n;
    SetState(State::kReading);
    ProcessInput();
  }

  void ProcessInput() {
    while (in_begin_ < in_end_ && !close_after_write_) {
      if (!parser_) StartRequest();
      error_code ec;
      const size_t used =
          parser_->put(asio::const_buffer(in_.data() + in_begin_, in_end_ - in_begin_), ec);
      in_begin_ += used;
      if (ec == http::error::need_more) break;
      if (ec) {
        RejectRequest(ec);
        break;
      }
      if (!parser_->is_done()) {
        if (used == 0) break;
        continue;
      }
      if (!FinishRequest()) return;  // a write job is out; OnWriteJobDone resumes
      if (out_.size() >= kMaxPendingOutput) break;
    }
    MaybeSendContinue();
    if (!close_after_write_ && parser_ && in_begin_ == 0 && in_end_ == in_.size() &&
        in_.size() >= options_.max_header_bytes + 4096) {
      // Defensive: a chunk-size line that never ends could otherwise stall here.
      EventLoop::router().Reject(400, "malformed HTTP request", &out_);
      AbandonInput();
    }
    if (!out_.empty()) return DoWrite();
    if (close_after_write_) return LingeringClose();
    DoRead();
  }

  // A client that sent "Expect: 100-continue" waits (curl: 1 s) before the
  // body; tell it to go on once the header is in.
  void MaybeSendContinue() {
    if (parser_ && parser_->is_header_done() && parser_->wants_continue() &&
        parser_->http_minor() == 1) {
      out_.append("HTTP/1.1 100 Continue\r\n\r\n");
      parser_->set_continue_sent();
    }
  }

  void StartRequest() {
    parser_.emplace(&target_, &body_, &authorization_, options_);
    parser_->eager(true);
    parser_->header_limit(options_.max_header_bytes);
    parser_->body_limit(options_.max_body_bytes);
    SetDeadline(options_.request_timeout);
  }

  // False when the request went to the ingest pool.
  bool FinishRequest() {
    Request request;
    request.method = parser_->method();
    request.target = target_;
    request.http_minor = parser_->http_minor();
    request.keep_alive = parser_->keep_alive() && !loop_->draining();
    request.authorization = authorization_;
    request.authorization_headers = parser_->authorization_headers();
    request.body = &body_;
    const bool answered = EventLoop::router().Handle(request, &out_, &job_);
    parser_.reset();
    if (!answered) {
      StartWriteJob();
      return false;
    }
    if (!request.keep_alive) AbandonInput();
    return true;
  }

  void StartWriteJob() {
    // The deadline goes off before the state says busy: a sweeper that sees
    // the job's busy state must not then see the request's old deadline
    // (the job's events would be logged with no one left to answer).
    deadline_.store(kNoDeadline, std::memory_order_relaxed);
    SetState(State::kWaiting);
    // Until the completion is posted, only the thread running the job (or
    // the sink's completion) touches job_ and result_: the connection has
    // nothing else pending.
    const EventSink* sink = loop_->writes().events;
    if (job_.route == Route::kEvents && sink != nullptr && sink->async_accept()) {
      // Small bodies are parsed right here (a few microseconds); big ones on
      // the pool, so one large batch cannot stall the loop.
      if (job_.body.size() <= kInlineParseBytes) return StartAsyncEvents();
      asio::post(loop_->ingest_pool(),
                 [self = shared_from_this(), work = asio::make_work_guard(loop_->context())] {
                   self->StartAsyncEvents();
                 });
      return;
    }
    asio::post(loop_->ingest_pool(),
               [self = shared_from_this(), work = asio::make_work_guard(loop_->context())] {
                 self->result_ = RunWriteJob(self->job_, self->loop_->writes(), self->options_);
                 self->PostWriteJobDone();
               });
  }

  // POST /v1/events to a sink with async_accept: no thread waits on the log.
  // The completion holds a work guard like a pool job, so a draining server
  // still answers every event it handed over.
  void StartAsyncEvents() {
    std::vector<Event> events;
    try {
      if (!ParseEventsJob(job_, options_, &events, &result_)) return PostWriteJobDone();
    } catch (const std::exception& e) {
      // bad_alloc: this request fails, the server does not.
      spdlog::error("write request failed: {}", CapForLog(e.what()));
      result_ = InternalErrorResult();
      return PostWriteJobDone();
    }
    EventSink* sink = loop_->writes().events;
    const size_t count = events.size();
    sink->AcceptAsync(
        std::move(events),
        [self = shared_from_this(), sink, count, work = asio::make_work_guard(loop_->context()),
         start = std::chrono::steady_clock::now()](Result<uint64_t> seq) {
          self->result_.accept_nanos = NanosSince(start);
          FinishEventsJob(seq, count, *sink, &self->result_);
          self->PostWriteJobDone();
        });
  }

  void PostWriteJobDone() {
    asio::post(loop_->context(), [self = shared_from_this()] { self->OnWriteJobDone(); });
  }

  void OnWriteJobDone() {
    job_.keep_alive = job_.keep_alive && !loop_->draining();
    EventLoop::router().FinishWrite(job_, result_, &out_);
    // Keep a small body's capacity for the next write; give a big one back.
    if (job_.body.capacity() <= kMaxPendingOutput && body_.capacity() < job_.body.capacity()) {
      body_.swap(job_.body);
    }
    job_.body = std::string();
    result_.body = std::string();
    if (!job_.keep_alive) AbandonInput();
    SetState(State::kReading);
    SetDeadline(options_.request_timeout);
    ProcessInput();
  }

  void RejectRequest(error_code ec) {
    const std::string_view buffered(in_.data() + in_begin_, in_end_ - in_begin_);
    const Rejection r = RejectionFor(*parser_, ec, buffered, options_.max_url_bytes);
    EventLoop::router().Reject(r.status, r.message, &out_,
                               parser_->got_request_line() ? parser_->body_route() : Route::kOther);
    AbandonInput();
  }

  // The connection closes after the pending response; drop unread input.
  void AbandonInput() {
    close_after_write_ = true;
    parser_.reset();
    in_begin_ = in_end_ = 0;
  }

  void DoWrite() {
    SetState(State::kWriting);
    SetDeadline(options_.write_timeout);
    asio::async_write(socket_, asio::buffer(out_),
                      [self = shared_from_this()](error_code ec, size_t) { self->OnWrite(ec); });
  }

  void OnWrite(error_code ec) {
    if (ec || closed_) return Close();
    out_.clear();
    if (close_after_write_) return LingeringClose();
    // Shutting down: the in-flight request is answered, so this one is done.
    if (loop_->draining() && !parser_ && in_begin_ == in_end_) return LingeringClose();
    if (in_begin_ < in_end_) return ProcessInput();
    DoRead();
  }

  void LingeringClose() {
    SetState(State::kLingering);
    SetDeadline(std::min<std::chrono::milliseconds>(kLingeringTimeout, options_.request_timeout));
    error_code ec;
    socket_.shutdown(tcp::socket::shutdown_send, ec);
    if (ec) return Close();
    in_begin_ = in_end_ = 0;
    DoRead();
  }

  EventLoop* loop_;
  const ServerOptions& options_;
  Socket socket_;
  const int fd_;
  State state_ = State::kIdle;
  bool closed_ = false;
  bool registered_ = false;
  // Read by the sweeper under the registry lock while handlers write them.
  static constexpr uint8_t kActivityBusy = 0, kActivityIdle = 1, kActivityAborted = 2;
  std::atomic<uint8_t> activity_{kActivityBusy};
  static constexpr Clock::rep kNoDeadline = std::numeric_limits<Clock::rep>::max();
  // None until Start(): the sweeper may see a connection as soon as it is
  // registered, before its first deadline is set.
  std::atomic<Clock::rep> deadline_{kNoDeadline};
  std::string in_;  // bytes [in_begin_, in_end_) are received and not yet parsed
  size_t in_begin_ = 0;
  size_t in_end_ = 0;
  std::string out_;
  std::string target_;
  std::string body_;           // a write route's request body
  std::string authorization_;  // the request's Authorization value
  WriteJob job_;
  WriteResult result_;
  std::optional<RequestParser> parser_;
  bool close_after_write_ = false;
  size_t lingering_bytes_ = 0;
};

EventLoop::~EventLoop() {
  // Connections still referenced by queued handlers die with ctx_; they must
  // not reach back into this half-destroyed loop.
  std::lock_guard lock(mu_);
  for (Connection* c = head_; c != nullptr; c = c->next) c->Detach();
  head_ = nullptr;
}

bool EventLoop::Register(Connection* c) {
  std::lock_guard lock(mu_);
  if (draining()) return false;
  c->prev = nullptr;
  c->next = head_;
  if (head_ != nullptr) head_->prev = c;
  head_ = c;
  ++open_;
  return true;
}

void EventLoop::Unregister(Connection* c) {
  std::lock_guard lock(mu_);
  if (c->prev != nullptr) c->prev->next = c->next;
  if (c->next != nullptr) c->next->prev = c->prev;
  if (head_ == c) head_ = c->next;
  c->prev = c->next = nullptr;
  --open_;
  // The last connection of a draining server: stop the sweeper now rather
  // than let its pending timer keep run() alive until the next tick.
  if (open_ == 0 && draining()) {
    asio::post(sweep_strand_, [this] { sweeper_.cancel(); });
  }
}

void EventLoop::Adopt(Socket socket) {
  if (draining()) {
    error_code ec;
    socket.close(ec);
    return;
  }
  auto c = std::make_shared<Connection>(this, std::move(socket));
  if (!Register(c.get())) return;  // the socket closes with c
  router().metrics()->RecordConnectionOpened(router().shard());
  c->Start();
}

void EventLoop::DrainOnStrand() {
  if (drain_started_) return;
  drain_started_ = true;
  drain_deadline_ = Clock::now() + options_.drain_timeout;
  bool any_open;
  {
    std::lock_guard lock(mu_);
    for (Connection* c = head_; c != nullptr; c = c->next) c->AbortIfIdle();
    any_open = open_ > 0;
  }
  guard_.reset();  // run() returns once the last connection and the sweeper are done
  sweeper_.cancel();
  if (any_open) ScheduleSweep();
}

void EventLoop::Sweep() {
  const auto now = Clock::now();
  const bool cut_all = drain_started_ && now >= drain_deadline_;
  bool any_open;
  {
    std::lock_guard lock(mu_);
    for (Connection* c = head_; c != nullptr; c = c->next) {
      // A timed-out idle connection may be claiming a request right now, as
      // in the drain: AbortIfIdle decides that race. A claimed one set a fresh
      // deadline before its claim, so the second expired() lets it be; a busy
      // one past its deadline (a slow request or write) is cut off.
      if (cut_all) {
        c->Abort();
      } else if (c->expired(now) && !c->AbortIfIdle() && c->expired(now)) {
        c->Abort();
      }
    }
    any_open = open_ > 0;
  }
  if (draining() && !any_open) return;
  ScheduleSweep();
}

}  // namespace
}  // namespace serve

struct HttpServer::Impl {
  ServerOptions options;
  RecommendationSource* source = nullptr;
  WriteBackends writes;
  std::unique_ptr<serve::ServerMetrics> metrics;
  // Declared before the loop: connections' write jobs run on it.
  std::optional<boost::asio::thread_pool> ingest_pool;
  std::unique_ptr<serve::EventLoop> loop;
  std::vector<std::thread> threads;
  boost::asio::io_context control{1};  // acceptor and signals
  boost::asio::ip::tcp::acceptor acceptor{control};
  boost::asio::steady_timer accept_retry{control};
  std::optional<boost::asio::signal_set> signals;
  std::optional<boost::asio::signal_set> reload_signal;  // SIGHUP
  std::thread control_thread;
  uint16_t port = 0;
  std::atomic<bool> shutdown_requested{false};
  std::mutex wait_mu;

  ~Impl() {
    Shutdown();
    Wait();
  }

  void Accept() {
    acceptor.async_accept(loop->context(), [this](serve::error_code ec, serve::Socket socket) {
      if (ec == boost::asio::error::operation_aborted || !acceptor.is_open()) return;
      if (ec) {
        // Out of descriptors or memory: back off instead of spinning.
        spdlog::warn("accept failed: {}", ec.message());
        accept_retry.expires_after(std::chrono::milliseconds(50));
        accept_retry.async_wait([this](serve::error_code wait_ec) {
          if (!wait_ec) Accept();
        });
        return;
      }
      serve::error_code opt_ec;
      socket.set_option(boost::asio::ip::tcp::no_delay(true), opt_ec);
      serve::EventLoop* l = loop.get();
      boost::asio::post(l->context(),
                        [l, s = std::move(socket)]() mutable { l->Adopt(std::move(s)); });
      Accept();
    });
  }

  void Shutdown() {
    if (shutdown_requested.exchange(true)) return;
    boost::asio::post(control, [this] {
      serve::error_code ec;
      acceptor.close(ec);
      accept_retry.cancel();
      if (signals) signals->cancel(ec);
      if (reload_signal) reload_signal->cancel(ec);
    });
    if (loop) loop->BeginDrain();
  }

  void Wait() {
    std::lock_guard lock(wait_mu);
    if (control_thread.joinable()) control_thread.join();
    for (auto& t : threads) {
      if (t.joinable()) t.join();
    }
    // The loop only stops once every write job has been answered; what is
    // left is a SIGHUP reload, which must finish before the admin goes away.
    if (ingest_pool) ingest_pool->join();
    // An accept that completed as the drain finished posted its Adopt to a
    // loop whose run() had already returned; run what is left so that Adopt
    // sees the drain and closes the socket now, not when the server is
    // destroyed (the client would otherwise wait on an open connection).
    if (loop) {
      loop->context().restart();
      loop->context().poll();
    }
  }

  // SIGHUP: ModelAdmin::Reload on the ingest pool (it loads a model), logged;
  // a failed reload keeps the old model and the server.
  void WaitForReloadSignal() {
    reload_signal->async_wait([this](serve::error_code ec, int) {
      if (ec) return;
      spdlog::info("received SIGHUP: reloading the model");
      ModelAdmin* admin = writes.models;
      boost::asio::post(*ingest_pool, [admin] {
        const Status st = admin->Reload();
        if (st.ok()) {
          spdlog::info("reload done: serving model version '{}'", admin->LiveVersion());
        } else {
          spdlog::error("reload failed, the previous model keeps serving: {}", st.ToString());
        }
      });
      WaitForReloadSignal();
    });
  }
};

HttpServer::HttpServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
HttpServer::~HttpServer() = default;

uint16_t HttpServer::port() const { return impl_->port; }

std::string HttpServer::url() const {
  const std::string& host = impl_->options.host;
  const bool v6 = host.find(':') != std::string::npos;
  return "http://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(impl_->port);
}

void HttpServer::Shutdown() { impl_->Shutdown(); }
void HttpServer::Wait() { impl_->Wait(); }

Result<std::unique_ptr<HttpServer>> HttpServer::Start(const ServerOptions& options,
                                                      RecommendationSource* source,
                                                      WriteBackends writes) {
  namespace asio = boost::asio;
  using tcp = asio::ip::tcp;
  if (source == nullptr) return Status::InvalidArgument("server needs a recommendation source");
  if (options.max_url_bytes >= options.max_header_bytes) {
    return Status::InvalidArgument("max_url_bytes must be below max_header_bytes");
  }
  if (options.default_k < 1) return Status::InvalidArgument("default k must be at least 1");
  if (options.max_id_bytes < 1) return Status::InvalidArgument("max_id_bytes must be positive");
  const bool any_writes = writes.events != nullptr || writes.models != nullptr;
  if (any_writes && writes.keys.empty() && !options.allow_unauthenticated_writes) {
    return Status::FailedPrecondition(
        "write routes are enabled but no API key is configured; configure a key, or allow "
        "unauthenticated writes explicitly");
  }
  if (options.require_key_for_reads && writes.keys.empty()) {
    return Status::InvalidArgument("keyed reads need at least one API key");
  }
  if (options.ingest_threads < 1) return Status::InvalidArgument("ingest_threads must be >= 1");
  if (options.max_event_body_bytes < 1 || options.max_events_per_request < 1) {
    return Status::InvalidArgument("event body and batch limits must be positive");
  }

  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->source = source;
  impl->writes = std::move(writes);
  const int threads = ResolveThreads(options.threads);

  serve::error_code ec;
  tcp::endpoint endpoint;
  const auto address = asio::ip::make_address(options.host, ec);
  if (!ec) {
    endpoint = tcp::endpoint(address, options.port);
  } else {
    tcp::resolver resolver(impl->control);
    const auto results =
        resolver.resolve(options.host, std::to_string(options.port), tcp::resolver::passive, ec);
    if (ec || results.empty()) {
      return Status::InvalidArgument("cannot resolve host '" + options.host +
                                     "': " + (ec ? ec.message() : "no addresses"));
    }
    endpoint = results.begin()->endpoint();
  }
  const std::string where = options.host + ":" + std::to_string(options.port);
  auto& acceptor = impl->acceptor;
  if (acceptor.open(endpoint.protocol(), ec) ||
      acceptor.set_option(tcp::acceptor::reuse_address(true), ec) || acceptor.bind(endpoint, ec) ||
      acceptor.listen(options.listen_backlog, ec)) {
    return Status::Unavailable("cannot listen on " + where + ": " + ec.message());
  }
  impl->port = acceptor.local_endpoint(ec).port();
  if (ec) return Status::IOError("cannot read the listening port: " + ec.message());

  impl->metrics = std::make_unique<serve::ServerMetrics>(threads);
  impl->ingest_pool.emplace(any_writes ? options.ingest_threads : 1);
  impl->loop = std::make_unique<serve::EventLoop>(impl->options, source, impl->metrics.get(),
                                                  threads, &impl->writes, &*impl->ingest_pool);
  if (options.handle_signals) {
    impl->signals.emplace(impl->control, SIGINT, SIGTERM);
    Impl* raw = impl.get();
    impl->signals->async_wait([raw](serve::error_code wait_ec, int signal) {
      if (wait_ec) return;
      spdlog::info("received signal {}: finishing in-flight requests, then exiting", signal);
      raw->Shutdown();
    });
    if (impl->writes.models != nullptr) {
      impl->reload_signal.emplace(impl->control, SIGHUP);
      impl->WaitForReloadSignal();
    }
  }
  impl->Accept();
  for (int i = 0; i < threads; ++i) {
    serve::EventLoop* loop = impl->loop.get();
    impl->threads.emplace_back([loop, i] { loop->Run(i); });
  }
  Impl* raw = impl.get();
  impl->control_thread = std::thread([raw] {
    for (;;) {
      try {
        raw->control.run();
        return;
      } catch (const std::exception& e) {
        spdlog::error("acceptor: {}", CapForLog(e.what()));
      }
    }
  });
  return std::unique_ptr<HttpServer>(new HttpServer(std::move(impl)));
}

}  // namespace reco
