#include "server/src/oprf/oprf_evaluator.h"

#include <algorithm>

#include <boost/asio/post.hpp>

namespace cairn::server {

OprfEvaluator::OprfEvaluator(std::shared_ptr<const OprfKeyring> keyring,
                             OprfEvaluatorOptions options)
    : keyring_(std::move(keyring)),
      options_(std::move(options)),
      pool_(std::max<std::size_t>(1, options_.threads)) {
  if (!options_.clock)
    options_.clock = [] { return std::chrono::system_clock::now(); };
}

OprfEvaluator::~OprfEvaluator() { Shutdown(); }

void OprfEvaluator::Shutdown() {
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
  }
  pool_.join();
}

wire::OprfInfo OprfEvaluator::Info() const {
  wire::OprfInfo info;
  info.epoch = keyring_->CurrentEpoch();
  info.public_key = keyring_->PublicKey(info.epoch);
  info.elements_per_day = options_.elements_per_member_per_day;
  return info;
}

tl::expected<OprfEvaluator::QuotaReservation, std::uint64_t>
OprfEvaluator::ReserveQuota(const std::string& member_id,
                            std::uint64_t elements) {
  using namespace std::chrono;
  const auto now = time_point_cast<seconds>(options_.clock());
  const auto today = floor<days>(now);
  const auto until_midnight = static_cast<std::uint64_t>(
      std::max<std::int64_t>(1, (today + days(1) - now).count()));
  const std::int64_t day = today.time_since_epoch().count();
  std::lock_guard lock(mu_);
  Usage& usage = usage_[member_id];
  if (usage.day != day) usage = Usage{day, 0};
  if (elements >
      options_.elements_per_member_per_day -
          std::min(usage.elements, options_.elements_per_member_per_day)) {
    return tl::unexpected(until_midnight);
  }
  usage.elements += elements;
  return QuotaReservation{member_id, day, elements};
}

void OprfEvaluator::CommitQuota(const QuotaReservation& reservation) {
  if (options_.on_charge) {
    options_.on_charge(reservation.member_id, reservation.day,
                       reservation.elements);
  }
}

void OprfEvaluator::ReleaseQuota(const QuotaReservation& reservation) {
  std::lock_guard lock(mu_);
  auto it = usage_.find(reservation.member_id);
  if (it == usage_.end() || it->second.day != reservation.day) return;
  it->second.elements -= std::min(it->second.elements, reservation.elements);
}

std::uint64_t OprfEvaluator::ChargeQuota(const std::string& member_id,
                                         std::uint64_t elements) {
  auto reservation = ReserveQuota(member_id, elements);
  if (!reservation) return reservation.error();
  CommitQuota(*reservation);
  return 0;
}

std::int64_t OprfEvaluator::Today() const {
  using namespace std::chrono;
  return floor<days>(options_.clock()).time_since_epoch().count();
}

void OprfEvaluator::RestoreUsage(const std::string& member_id, std::int64_t day,
                                 std::uint64_t elements) {
  if (day != Today()) return;
  std::lock_guard lock(mu_);
  Usage& usage = usage_[member_id];
  if (usage.day != day) usage = Usage{day, 0};
  usage.elements += elements;
}

void OprfEvaluator::Evaluate(
    std::uint32_t epoch, std::vector<oprf::Element> blinded,
    std::function<void(Result<oprf::BatchEvaluation>)> done) {
  std::unique_lock lock(mu_);
  if (stopped_) {
    lock.unlock();
    done(MakeError(ErrorCode::kUnavailable,
                   "the hub is shutting down; retry in a few seconds"));
    return;
  }
  // Posted under the lock so that Shutdown cannot join in between and
  // strand the request unanswered.
  boost::asio::post(pool_, [this, epoch, blinded = std::move(blinded),
                            done = std::move(done)] {
    // Here rather than on the caller's (connection) thread: ten thousand
    // elements take ~150 ms to validate.
    if (auto valid = wire::ValidateOprfEvaluateElements(blinded); !valid) {
      return done(tl::unexpected<Error>(std::move(valid.error())));
    }
    done(keyring_->Evaluate(epoch, blinded));
  });
}

}  // namespace cairn::server
