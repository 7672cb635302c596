// OprfEvaluator: the hub side of POST /v1/oprf/evaluate, apart from HTTP.
//
// Holds the OPRF keyring, counts each member's evaluations against a daily
// quota, and runs evaluations on its own small thread pool: a batch of
// 1,000 elements costs tens of milliseconds of scalar multiplications,
// which must not stall the connection threads.
#ifndef CAIRN_SERVER_OPRF_OPRF_EVALUATOR_H_
#define CAIRN_SERVER_OPRF_OPRF_EVALUATOR_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/thread_pool.hpp>

#include "cairn/oprf.h"
#include "cairn/result.h"
#include "cairn/wire/oprf.h"
#include "server/src/oprf/oprf_keyring.h"

namespace cairn::server {

struct OprfEvaluatorOptions {
  // Blinded elements each member may have evaluated per UTC day; further
  // requests get 429 with Retry-After until midnight UTC. Default: 1,000,000.
  std::uint64_t elements_per_member_per_day = 1'000'000;
  // Worker threads evaluating batches. Default: 2.
  std::size_t threads = 2;
  // Source of "now" for the quota day. Default: the system clock.
  std::function<std::chrono::system_clock::time_point()> clock;
  // Called after each charge (ChargeQuota, CommitQuota) with the member,
  // the UTC day (days since the epoch) and the elements charged, outside
  // the lock: cairnd records them in the store so that a restart does not
  // reset the quota. Default: none (the quota lives in memory only).
  std::function<void(const std::string& member_id, std::int64_t day,
                     std::uint64_t elements)>
      on_charge;
};

// Thread-safe.
class OprfEvaluator {
 public:
  // REQUIRES: keyring != nullptr.
  OprfEvaluator(std::shared_ptr<const OprfKeyring> keyring,
                OprfEvaluatorOptions options);
  // Waits for evaluations in flight (see Shutdown).
  ~OprfEvaluator();
  OprfEvaluator(const OprfEvaluator&) = delete;
  OprfEvaluator& operator=(const OprfEvaluator&) = delete;

  // What /v1/me announces: suite, mode, current epoch and its public key,
  // and the daily quota.
  wire::OprfInfo Info() const;

  const OprfKeyring& keyring() const { return *keyring_; }

  // Elements of a member's quota set aside for one request.
  struct QuotaReservation {
    std::string member_id;
    std::int64_t day = 0;  // the quota day they were set aside on
    std::uint64_t elements = 0;
  };

  // Sets `elements` of `member_id`'s quota for today aside: they count
  // against the quota at once, so that concurrent requests cannot overrun
  // it, but are charged (reported to on_charge) only by CommitQuota, once
  // the evaluated elements are handed out; ReleaseQuota gives them back
  // when they are not (the evaluator refused the request, the caller's
  // standing changed). Returns the reservation, or the seconds until the
  // quota resets (nothing set aside). A request larger than the whole
  // daily quota is never admitted.
  tl::expected<QuotaReservation, std::uint64_t> ReserveQuota(
      const std::string& member_id, std::uint64_t elements);
  void CommitQuota(const QuotaReservation& reservation);
  // A reservation of an earlier day is ignored (that day's count is gone).
  void ReleaseQuota(const QuotaReservation& reservation);

  // ReserveQuota and CommitQuota at once. Returns 0 when charged, else the
  // seconds until the quota resets (nothing charged).
  std::uint64_t ChargeQuota(const std::string& member_id,
                            std::uint64_t elements);

  // The quota day of now: days since 1970-01-01, UTC.
  std::int64_t Today() const;

  // Adds `elements` already used on `day` (recorded before a restart) to
  // `member_id`'s count; ignored unless `day` is Today().
  void RestoreUsage(const std::string& member_id, std::int64_t day,
                    std::uint64_t elements);

  // Validates `blinded` (wire::ValidateOprfEvaluateElements: a
  // kInvalidArgument naming "elements[i]" for the first invalid element)
  // and evaluates it under the key of `epoch`, on a worker thread, and
  // calls `done` there. REQUIRES: keyring().HasEpoch(epoch).
  void Evaluate(std::uint32_t epoch, std::vector<oprf::Element> blinded,
                std::function<void(Result<oprf::BatchEvaluation>)> done);

  // Finishes the evaluations already queued and stops the workers; later
  // Evaluate calls fail with kUnavailable. Call before closing the store
  // that the callbacks write to.
  void Shutdown();

 private:
  struct Usage {
    std::int64_t day = 0;  // days since the Unix epoch (UTC)
    std::uint64_t elements = 0;
  };

  std::shared_ptr<const OprfKeyring> keyring_;
  OprfEvaluatorOptions options_;
  boost::asio::thread_pool pool_;
  std::mutex mu_;
  std::unordered_map<std::string, Usage> usage_;  // guarded by mu_
  bool stopped_ = false;                          // guarded by mu_
};

}  // namespace cairn::server

#endif  // CAIRN_SERVER_OPRF_OPRF_EVALUATOR_H_
